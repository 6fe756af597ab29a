/**
 * The report as files: versioned JSON plus a human summary, each written atomically
 * (temporary file in the same folder, then rename) so no reader sees half a report.
 */
import { join } from 'node:path'
import { describeOffender, type VerificationReport } from '../../shared/contract/verify'
import { plural } from '../../shared/words'
import { writeFileAtomic } from '../atomic-write'

/** Writes `report.json` and `summary.txt` into `dir`; returns their paths. */
export async function writeReport(report: VerificationReport, dir: string): Promise<{ reportPath: string; summaryPath: string }> {
  const reportPath = join(dir, 'report.json')
  const summaryPath = join(dir, 'summary.txt')
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + '\n')
  await writeFileAtomic(summaryPath, summarizeReport(report))
  return { reportPath, summaryPath }
}

const n = (x: number) => x.toLocaleString('en-US')

/** The report in plain words: splits, ranked findings with evidence and fixes, check table. */
export function summarizeReport(report: VerificationReport): string {
  const lines: string[] = []
  lines.push(`ShardScope verification${report.dataset.dir ? ` of ${report.dataset.dir}` : ''}${report.cancelled ? ' (CANCELLED: partial)' : ''}`)
  lines.push(`${plural(report.samplesVerified, 'sample')} in ${report.durationSeconds.toFixed(1)} s (${n(report.samplesPerSecond)} samples/s, ${plural(report.decodeThreads || 1, 'decode thread')})`)
  lines.push('')
  for (const s of report.splits) {
    const shapes = Object.entries(s.imageShapes)
      .sort((a, b) => b[1] - a[1])
      .map(([shape, count]) => `${shape.replaceAll('x', '×')}${Object.keys(s.imageShapes).length > 1 ? ` ×${n(count)}` : ''}`)
      .join(', ')
    lines.push(`${s.name}: ${plural(s.samples, 'sample')}${s.expectedSamples !== undefined ? ` (expected ${n(s.expectedSamples)})` : ''} in ${plural(s.shards.length, 'shard')}; ${plural(s.imagesDecoded, 'image')} decoded${shapes ? ` (${shapes})` : ''}; ${describeLabels(s.labelHistogram, report.dataset.classes)}`)
    if (s.pixelsNormalised) lines.push(`  normalised pixels: mean ${s.pixelsNormalised.mean.map((v) => v.toFixed(2)).join(', ')}, min ${Math.min(...s.pixelsNormalised.min).toFixed(2)}, max ${Math.max(...s.pixelsNormalised.max).toFixed(2)}`)
  }
  lines.push('')
  const { errors, warnings, infos } = report.counts
  if (report.findings.length === 0) lines.push('No findings: every check passed.')
  else lines.push(`Findings (${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${infos ? `, ${infos} info` : ''}), most impact first:`)
  report.findings.forEach((f, i) => {
    lines.push('')
    lines.push(`${i + 1}. [${f.severity}] ${f.title}`)
    // Evidence that an offender line below says again (a shard's read problem) is printed once, there.
    const repeated = new Set(f.offenders.slice(0, 5).map((o) => (o.found ? `${o.url}: ${o.found}` : '')))
    for (const e of f.evidence) if (!repeated.has(e)) lines.push(`   - ${e}`)
    for (const o of f.offenders.slice(0, 5)) lines.push(`   · ${describeOffender(o)}`)
    if (f.offenderCount > Math.min(5, f.offenders.length)) lines.push(`   · … ${n(f.offenderCount)} in all`)
    lines.push(`   Fix: ${f.fix}`)
  })
  lines.push('')
  lines.push('Checks: ' + report.checks.map((c) => `${c.check} ${c.status === 'passed' ? 'ok' : c.status}`).join(' · '))
  // Why a check did not run, as the app shows it: a skipped check is not a passed one.
  for (const c of report.checks) if (c.status === 'skipped' && c.note) lines.push(`  ${c.check} skipped: ${c.note}`)
  return lines.join('\n') + '\n'
}

/**
 * A split's labels in a few words: the range of the valid class ids and how many there are,
 * then the samples whose label is no class id (negative, or past the class count when it is
 * known), which are not counted as classes.
 */
function describeLabels(histogram: Record<string, number>, classes: number | undefined): string {
  const labels = Object.keys(histogram).map(Number)
  const valid = labels.filter((l) => l >= 0 && (classes === undefined || l < classes))
  const invalid = labels.filter((l) => !valid.includes(l)).sort((a, b) => a - b)
  const range = valid.length ? `labels ${Math.min(...valid)}…${Math.max(...valid)} (${plural(valid.length, 'class', 'classes')})` : labels.length ? 'no valid labels' : 'no labels'
  if (invalid.length === 0) return range
  const samples = invalid.reduce((a, l) => a + histogram[String(l)]!, 0)
  return `${range}; ${plural(samples, 'sample')} with ${samples === 1 ? 'an invalid label' : 'invalid labels'} (${invalid.slice(0, 5).join(', ')}${invalid.length > 5 ? ', …' : ''})`
}
