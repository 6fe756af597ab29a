/**
 * Diagnosis: turns what the checks gathered into findings in plain words, each with
 * its evidence and a suggested fix, ranked by impact. Where one cause explains a
 * symptom (a pattern missing a shard explains a low count; 1-based labels explain
 * out-of-range labels and a missing class 0), the symptom goes into the cause's
 * evidence instead of becoming a finding of its own.
 */
import type { CheckName, CheckStatus, Finding, OffendingSample, Severity } from '../../shared/contract/verify'
import { plural } from '../../shared/words'
import { describeLayout, fmt, shardName, type CopyComparison } from './copy-compare'
import type { Coverage } from './coverage'
import { compareClassMappings, type ClassMapping } from './class-mapping'
import type { SplitChecks } from './split-checks'
import type { ReadProblem } from '../wds/types'
import { missingShardWords } from '../wds/read-problems'

export interface SplitOutcome {
  name: string
  pattern: string
  checks: SplitChecks
  coverage: Coverage
  /** Samples in shards of the folder that the pattern does not name, by shard path. */
  uncoveredSamples: Map<string, number>
  copy?: CopyComparison
  /** The class id → name mapping the split is labelled with, where one is known. */
  classMapping?: ClassMapping
}

export interface DiagnosisContext {
  classes?: number
  normalizationKnown: boolean
  maxOffenders: number
  cancelled: boolean
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 }

export function splitLabel(name: string): string {
  if (name === 'val' || name === 'validation') return 'Validation'
  if (name === 'train') return 'Training'
  if (name === 'test') return 'Test'
  return `Split "${name}"`
}

function finding(f: Omit<Finding, 'offenders' | 'offenderCount'> & { offenders?: OffendingSample[]; offenderCount?: number }, cap: number): Finding {
  const offenders = f.offenders ?? []
  return { ...f, offenders: offenders.slice(0, cap), offenderCount: f.offenderCount ?? offenders.length }
}


function fmtNum(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)
}

/** Titles say what one shard is or has; fixMany, where the fix names the shard, is the fix for several. */
const READ_PROBLEMS: Record<ReadProblem['kind'], { code: string; severity: Severity; title: string; fix: string; fixMany?: string } | null> = {
  truncated: { code: 'truncated-shard', severity: 'error', title: 'is truncated: the samples after the cut cannot be read', fix: 'Copy or write the shard again from its source; check the disk or the transfer that produced it.' },
  'not-a-tar': { code: 'not-a-tar', severity: 'error', title: 'is not a tar file', fix: 'Download the shard again (an error page or a partial download was saved in its place).' },
  'gzip-error': { code: 'gzip-error', severity: 'error', title: 'has a broken gzip stream', fix: 'Download or compress the shard again.' },
  'several-gzip-streams': {
    code: 'several-gzip-streams',
    severity: 'error',
    title: 'is several gzip streams joined: webdataset reads only the first',
    fix: 'Recompress it as one stream, e.g. `gzip -dc SHARD.tar.gz > SHARD.tar && gzip -n SHARD.tar`, and replace the shard with it.'
  },
  'bad-header': { code: 'bad-tar-header', severity: 'error', title: 'has a damaged tar header (bad checksum or fields)', fix: 'Write the shard again from its source.' },
  'empty-shard': { code: 'empty-shard', severity: 'error', title: 'holds no samples', fix: 'Remove the empty shard from the pattern or write it again.', fixMany: 'Remove the empty shards from the pattern or write them again.' },
  unreadable: { code: 'unreadable-shard', severity: 'error', title: 'cannot be read', fix: 'Check that the file exists and is readable, or that the URL answers.' },
  'dangerous-name': { code: 'dangerous-member-name', severity: 'error', title: 'has members with dangerous names (absolute paths or `..`)', fix: 'Rewrite the shard with plain relative member names; never extract it with tools that follow such names.' },
  'not-regular-file': { code: 'non-regular-member', severity: 'warning', title: 'has members that are not regular files (links, folders, devices); they are skipped', fix: 'Write the shard with regular files only (webdataset ShardWriter or shardscope import).' },
  'no-field': { code: 'member-without-field', severity: 'warning', title: 'has members without a field extension; they are skipped, as webdataset does', fix: 'Name every member `<key>.<field>`.' },
  'member-too-large': { code: 'member-too-large', severity: 'error', title: 'has members over the size limit; they are skipped', fix: 'Check those members: a sample field should not be that large.' },
  // Both yield a second sample with the same key; the split checks classify it (duplicate key vs split members).
  'duplicate-field': null,
  'non-adjacent-key': null
}

/** A READ_PROBLEMS title said of several shards: its leading verb (is, has, holds) in the plural. */
function titleOfMany(title: string): string {
  return title.replace(/^(is|has|holds) /, (_, verb: 'is' | 'has' | 'holds') => `${{ is: 'are', has: 'have', holds: 'hold' }[verb]} `)
}

export function diagnose(splits: SplitOutcome[], ctx: DiagnosisContext): { findings: Finding[]; checks: CheckStatus[] } {
  const cap = ctx.maxOffenders
  const out: Finding[] = []
  const skipped = new Map<CheckName, string>()
  // A check whose problem is reported inside another check's finding (a count short because
  // the pattern misses a shard) still fails, pointing at that finding rather than saying "ok".
  const explainedElsewhere = new Map<CheckName, string>()

  for (const s of splits) {
    const label = splitLabel(s.name)
    const c = s.checks
    const splitFindings: Finding[] = []
    const add = (f: Finding) => splitFindings.push(f)
    const expected = c.options.expectedSamples

    // ---- coverage ----
    for (const folder of s.coverage.folders) {
      if (folder.uncovered.length > 0) {
        const skippedSamples = folder.uncovered.reduce((a, f) => a + (s.uncoveredSamples.get(f.path) ?? 0), 0)
        const coveredSamples = folder.covered.reduce((a, f) => a + (c.shards.get(f.path)?.samples ?? 0), 0)
        const total = skippedSamples + coveredSamples
        const nFolder = folder.covered.length + folder.uncovered.length
        add(
          finding(
            {
              check: 'coverage',
              code: 'pattern-misses-shards',
              severity: 'error',
              split: s.name,
              title: `${label} pattern \`${s.pattern}\` covers ${fmt(folder.covered.length)} of ${fmt(nFolder)} shards in the folder: ${fmt(skippedSamples)} of ${fmt(total)} samples are skipped.`,
              evidence: [
                `folder ${folder.dir} holds ${plural(nFolder, 'shard')} of this family; the pattern names ${fmt(folder.covered.length + folder.missing.length)}`,
                // The count against the expected one is added below (counts), once.
                ...folder.uncovered.slice(0, 10).map((f) => `not covered: ${f.path} (${plural(s.uncoveredSamples.get(f.path) ?? 0, 'sample')}, ${fmt(f.bytes)} bytes)`)
              ],
              fix: folder.suggestedPattern ? `Use \`${folder.suggestedPattern}\`.` : 'Extend the pattern to name every shard of the folder.',
              impactSamples: skippedSamples,
              offenders: folder.uncovered.map((f) => ({ url: f.path, expected: 'covered by the pattern', found: `${plural(s.uncoveredSamples.get(f.path) ?? 0, 'sample')} not read` }))
            },
            cap
          )
        )
      }
      if (folder.missing.length > 0) {
        const perShard = c.samples / Math.max(1, folder.covered.length)
        add(
          finding(
            {
              check: 'coverage',
              code: 'shard-missing',
              severity: 'error',
              split: s.name,
              title: `${label} pattern \`${s.pattern}\` names ${plural(folder.missing.length, 'shard')} that ${folder.missing.length === 1 ? 'does' : 'do'} not exist in ${folder.dir}.`,
              evidence: folder.missing.slice(0, 10).map((m) => `missing: ${m}`),
              fix: folder.suggestedPattern ? `Use \`${folder.suggestedPattern}\`, or restore the missing shards.` : 'Restore the missing shards or fix the pattern’s range.',
              impactSamples: Math.round(perShard * folder.missing.length),
              offenders: folder.missing.map((m) => ({ url: m, expected: 'an existing shard', found: missingShardWords(m) }))
            },
            cap
          )
        )
      }
      if (folder.gaps.length > 0) {
        add(
          finding(
            {
              check: 'coverage',
              code: 'shard-numbering-gap',
              severity: 'warning',
              split: s.name,
              title: `${label} shards in ${folder.dir} have ${plural(folder.gaps.length, 'gap')} in their numbering (${folder.gaps.slice(0, 5).join(', ')}${folder.gaps.length > 5 ? ', …' : ''}).`,
              evidence: [`missing shard numbers: ${folder.gaps.slice(0, 20).join(', ')}`],
              fix: 'Check whether those shards were lost in a copy; restore them or renumber the shards.',
              impactSamples: 0
            },
            cap
          )
        )
      }
    }

    // ---- readability ----
    const byKind = new Map<string, ReadProblem[]>()
    for (const shard of c.shards.values()) for (const p of shard.problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p])
    const avgPerShard = c.samples / Math.max(1, c.shards.size)
    for (const [kind, problems] of byKind) {
      const spec = READ_PROBLEMS[kind as ReadProblem['kind']]
      if (!spec) continue
      const shardUrls = [...new Set(problems.map((p) => p.url))]
      const one = shardUrls.length === 1
      const samplesRead = shardUrls.reduce((a, u) => a + (c.shards.get(u)?.samples ?? 0), 0)
      const lost = kind === 'truncated' || kind === 'not-a-tar' || kind === 'gzip-error' || kind === 'unreadable' || kind === 'empty-shard' || kind === 'bad-header'
      add(
        finding(
          {
            check: 'readability',
            code: spec.code,
            severity: spec.severity,
            split: s.name,
            title: `${one ? `${label} shard \`${shardUrls[0]}\`` : `${fmt(shardUrls.length)} ${label.toLowerCase()} shards`} ${one ? spec.title : titleOfMany(spec.title)}${kind === 'truncated' ? ` (${plural(samplesRead, 'sample')} read before it)` : ''}.`,
            evidence: problems.slice(0, 5).map((p) => (p.message.startsWith(p.url) ? p.message : `${p.url}: ${p.message}`)),
            fix: one ? spec.fix : (spec.fixMany ?? spec.fix),
            impactSamples: lost ? Math.max(1, Math.round(avgPerShard * shardUrls.length - samplesRead)) : problems.length,
            // A truncated shard's cut sample is named in the message but never listed (it is not whole): no key to show in the browser.
            offenders: problems.map((p) => ({
              url: p.url,
              key: p.kind === 'truncated' ? undefined : p.key,
              // The member (`k1.jpg`) is named in the message; it is not a field of the sample.
              found: p.message.startsWith(`${p.url}: `) ? p.message.slice(p.url.length + 2) : p.message
            })),
            offenderCount: problems.length
          },
          cap
        )
      )
    }

    // ---- structure ----
    const book = c.offenders
    const listed = (code: string) => book.get(code)
    const imageField = c.imageField ?? 'jpg'
    const structure: Array<[string, Severity, CheckName, (n: number, items: OffendingSample[]) => string, string]> = [
      [
        'duplicate-keys',
        'error',
        'structure',
        (n, items) => {
          // Where the key was used first, when that is another split: a reader of the title should not have to open the evidence.
          const splits = [...new Set(items.map((o) => /^also in split (.+)$/.exec(o.found ?? '')?.[1]).filter((x): x is string => x !== undefined))]
          const where = splits.length === 0 ? '' : ` (${items.every((o) => o.found?.startsWith('also in split ')) ? '' : 'some '}in ${splits.length === 1 ? 'split' : 'splits'} ${splits.join(', ')})`
          return `${label} has ${plural(n, 'sample')} whose key is already used${where}: a loader keyed by sample would mix them up.`
        },
        'Give every sample a unique key (e.g. prefix keys with the split and source).'
      ],
      ['missing-label', 'error', 'structure', (n) => `${label} has ${plural(n, 'sample')} without a \`.${c.options.labelField}\` label.`, `Write a .${c.options.labelField} field for every sample, or drop those samples.`],
      ['missing-field', 'error', 'structure', (n) => `${label} has ${plural(n, 'sample')} missing a required field.`, 'Write every required field for each sample.'],
      ['non-utf8-name', 'warning', 'structure', (n) => `${label} has ${plural(n, 'sample')} whose member names are not UTF-8: keys will not match across tools.`, 'Rename the members with UTF-8 names when writing shards.'],
      ['non-adjacent-key', 'warning', 'structure', (n) => `${label} has ${plural(n, 'key')} whose members are not next to each other in the tar: webdataset splits each into two incomplete samples.`, 'Write all members of a sample consecutively (sort members by key).'],
      ['corrupt-image', 'error', 'images', (n) => `${label} has ${plural(n, 'image')} that cannot be decoded (corrupt or truncated).`, 'Re-encode those images from their source, or drop the samples.'],
      ['image-too-large', 'error', 'images', (n) => `${label} has ${plural(n, 'image')} claiming more pixels than the limit; they were refused undecoded (possible decompression bomb).`, 'Resize those images to the dataset’s shape, or raise the pixel limit if they are genuine.'],
      ['image-unsupported', 'error', 'images', (n) => `${label} has ${plural(n, 'image field')} in a format the loader cannot decode.`, 'Store images as jpg, png, webp or npy.'],
      ['label-not-integer', 'error', 'labels', (n) => `${label} has ${n === 1 ? 'a label that is not an integer' : `${fmt(n)} labels that are not integers`}.`, `Write each .${c.options.labelField} as a decimal class index, e.g. "17".`]
    ]
    for (const [code, severity, check, title, fix] of structure) {
      const list = listed(code)
      if (!list) continue
      add(finding({ check, code, severity, split: s.name, title: title(list.count, list.items), evidence: [`${plural(list.count, 'sample')} of ${fmt(c.samples)}${code.includes('image') ? ` (field .${imageField})` : ''}`], fix, impactSamples: list.count, offenders: list.items, offenderCount: list.count }, cap))
    }

    const extra = extraFields(c)
    if (extra.count > 0) {
      add(
        finding(
          {
            check: 'structure',
            code: 'extra-fields',
            severity: 'warning',
            split: s.name,
            title: `${label} has ${plural(extra.count, 'sample')} with fields other samples do not have (${extra.fields.map((f) => `.${f}`).join(', ')}): a loader that expects one sample layout may fail on them or drop them silently.`,
            evidence: [`${plural(extra.count, 'sample')} of ${fmt(c.samples)}`, `fields expected: ${extra.expected.map((f) => `.${f}`).join(', ')} (required${extra.expected.length > extra.required ? ', or carried by most samples' : ''})`],
            fix: 'Leave unexpected members out when writing shards, or list them as required fields if every sample should have them.',
            impactSamples: extra.count,
            offenders: extra.offenders,
            offenderCount: extra.count
          },
          cap
        )
      )
    }

    // ---- images: shape ----
    const expectedShape = c.expectedShape()
    if (expectedShape) {
      let wrong = 0
      const offenders: OffendingSample[] = []
      const shapesFound: string[] = []
      for (const [shape, n] of c.imageShapes) {
        if (shape === expectedShape) continue
        wrong += n
        shapesFound.push(`${fmt(n)} × ${shape.replaceAll('x', '×')}`)
        for (const ref of c.shapeExamples.get(shape) ?? []) offenders.push({ url: ref.url, key: ref.key, field: imageField, expected: expectedShape.replaceAll('x', '×'), found: shape.replaceAll('x', '×') })
      }
      if (wrong > 0) {
        add(
          finding(
            {
              check: 'images',
              code: 'wrong-image-size',
              severity: 'error',
              split: s.name,
              title: `${label} has ${plural(wrong, 'image')} whose height×width×channels is not ${expectedShape.replaceAll('x', '×')}.`,
              evidence: [`found: ${shapesFound.join(', ')}`, `expected ${expectedShape.replaceAll('x', '×')} (${c.options.imageShape ? 'dataset.json' : 'the majority'})`],
              fix: `Resize those images to ${expectedShape.replaceAll('x', '×')} (H×W×C) before writing shards, or drop them.`,
              impactSamples: wrong,
              offenders,
              offenderCount: wrong
            },
            cap
          )
        )
      }
    } else if (c.samples > 0 && c.imagesDecoded === 0) skipped.set('images', 'no image decoded')

    // ---- labels ----
    const histogram = c.labelHistogram
    const labels = [...histogram.keys()]
    const outOfRange = listed('label-out-of-range')
    const classes = ctx.classes
    let labelOffset = false
    if (outOfRange && classes !== undefined && labels.length > 0) {
      const min = Math.min(...labels)
      const max = Math.max(...labels)
      if (min === 1 && max === classes && !histogram.has(0)) {
        labelOffset = true
        add(
          finding(
            {
              check: 'labels',
              code: 'label-offset',
              severity: 'error',
              split: s.name,
              title: `${label} labels look 1-based: they run 1 … ${classes} where 0 … ${classes - 1} is expected, so every ${label.toLowerCase()} sample is scored against the wrong class.`,
              evidence: [`labels found: ${min} … ${max}; class 0 never appears`, `${plural(outOfRange.count, 'sample')} carry label ${classes}, out of range for ${classes} classes`],
              fix: `Subtract 1 from every ${label.toLowerCase()} label (rewrite the .${c.options.labelField} fields, or map labels in the loader).`,
              impactSamples: c.samples,
              offenders: outOfRange.items,
              offenderCount: outOfRange.count,
              browse: { split: s.name, classId: classes, samples: outOfRange.count }
            },
            cap
          )
        )
      }
    }
    if (outOfRange && !labelOffset) {
      // One label value out of range (all samples carry 10 of 10 classes): the browser can list them all by class.
      const outside = labels.filter((l) => l < 0 || (classes !== undefined && l >= classes))
      const onlyLabel = outside.length === 1 ? outside[0] : undefined
      add(
        finding(
          {
            check: 'labels',
            code: 'label-out-of-range',
            severity: 'error',
            split: s.name,
            title: `${label} has ${plural(outOfRange.count, 'label')} ${classes !== undefined ? `outside 0 … ${classes - 1}` : 'below 0'}.`,
            evidence: [`labels found: ${labels.length > 0 ? `${Math.min(...labels)} … ${Math.max(...labels)}` : 'none'}`],
            fix: 'Fix those labels, or set the number of classes to match the data.',
            impactSamples: outOfRange.count,
            offenders: outOfRange.items,
            offenderCount: outOfRange.count,
            ...(onlyLabel !== undefined && onlyLabel >= 0 ? { browse: { split: s.name, classId: onlyLabel, samples: outOfRange.count } } : {})
          },
          cap
        )
      )
    }
    if (!labelOffset && classes !== undefined && c.samples / classes >= 20) {
      const missingClasses: number[] = []
      for (let k = 0; k < classes && missingClasses.length < 1000; k++) if (!histogram.has(k)) missingClasses.push(k)
      if (missingClasses.length > 0) {
        add(
          finding(
            {
              check: 'labels',
              code: 'classes-missing',
              severity: 'warning',
              split: s.name,
              title: `${label} has no sample of ${plural(missingClasses.length, 'class', 'classes')} of ${fmt(classes)}.`,
              evidence: [`absent class indices: ${missingClasses.slice(0, 20).join(', ')}${missingClasses.length > 20 ? ', …' : ''}`],
              fix: 'Check the conversion that wrote this split; every class should appear in it.',
              impactSamples: 0
            },
            cap
          )
        )
      }
    }
    const counts = [...histogram.values()]
    if (counts.length >= 2 && !labelOffset) {
      const min = Math.min(...counts)
      const max = Math.max(...counts)
      if (min > 0 && max / min >= 10) {
        add(finding({ check: 'labels', code: 'class-imbalance', severity: 'info', split: s.name, title: `${label} classes are imbalanced: the largest has ${fmt(max)} samples, the smallest ${fmt(min)}.`, evidence: [`max/min = ${(max / min).toFixed(1)}`], fix: 'Consider re-sampling or class weights.', impactSamples: 0 }, cap))
      }
    }

    // ---- label diversity ----
    const d = c.diversity
    if (d.batches >= 2 && labels.length >= 2) {
      const k = labels.length
      const b = c.options.batchSize
      const shuffled = k * (1 - Math.pow(1 - 1 / k, b))
      const mean = d.sum / d.batches
      if (mean < 0.5 * shuffled) {
        add(
          finding(
            {
              check: 'label-diversity',
              code: 'low-label-diversity',
              severity: 'warning',
              split: s.name,
              title: `${label} batches of ${b} consecutive samples hold ${mean.toFixed(1)} distinct classes on average where a shuffled split would hold ≈ ${shuffled.toFixed(0)}: the shards are in class order.`,
              evidence: [`distinct classes per batch over ${fmt(d.batches)} batches: min ${d.min}, mean ${mean.toFixed(1)}, max ${d.max}`],
              fix: 'Shuffle samples before writing shards, or use a shuffle buffer larger than a shard in the loader.',
              impactSamples: c.samples
            },
            cap
          )
        )
      }
    } else skipped.set('label-diversity', `fewer than 2 full batches of ${c.options.batchSize} in ${s.name}`)

    // ---- pixel statistics ----
    if (c.normalisedPixels && c.normalisedPixels.count > 0) {
      const stats = c.summary().pixelsNormalised!
      const raw = c.summary().pixelsRaw!
      const bad = stats.mean.some((m) => Math.abs(m) > 1) || stats.std.some((sd) => sd > 4 || sd < 0.2)
      if (bad) {
        const floatN = c.imageDtypes.get('float32') ?? 0
        const rawLooks255 = floatN > 0 && Math.max(...raw.max) > 2
        add(
          finding(
            {
              check: 'pixel-statistics',
              code: 'not-normalised',
              severity: 'error',
              split: s.name,
              title: rawLooks255
                ? `${label} pixels are not normalised: ${label.toLowerCase()} stores float32 \`npy\` with raw 0–255 values (mean ${stats.mean.map(fmtNum).join(', ')}) where stored floats must already be normalised, so a model sees inputs about ${Math.round(Math.max(...stats.std.map(Math.abs)) || 1)}× larger than in training.`
                : `${label} pixels do not look normalised after the configured mean/std: per-channel mean ${stats.mean.map(fmtNum).join(', ')}, std ${stats.std.map(fmtNum).join(', ')} (healthy: mean ≈ 0, std ≈ 1).`,
              evidence: [
                `as stored: mean ${raw.mean.map(fmtNum).join(', ')}, min ${raw.min.map(fmtNum).join(', ')}, max ${raw.max.map(fmtNum).join(', ')}`,
                `as the model sees it: mean ${stats.mean.map(fmtNum).join(', ')}, std ${stats.std.map(fmtNum).join(', ')}, min ${stats.min.map(fmtNum).join(', ')}, max ${stats.max.map(fmtNum).join(', ')}`,
                ...(floatN > 0 ? [`${plural(floatN, 'image')} stored as float32 npy (taken as already normalised)`] : [])
              ],
              fix: rawLooks255 ? 'Store (pixel / 255 − mean) / std with dataset.json’s normalisation in the npy files, or store JPEGs like the training split.' : 'Normalise with the mean/std computed on the training split.',
              impactSamples: c.imagesDecoded,
              offenders: [...c.shards.values()].map((sh) => ({ url: sh.url, field: c.imageField, expected: 'pixels with mean ≈ 0 and std ≈ 1 after normalisation', found: rawLooks255 ? 'float32 values 0–255' : `mean ${stats.mean.map(fmtNum).join(', ')}` }))
            },
            cap
          )
        )
      }
    } else if (!ctx.normalizationKnown) skipped.set('pixel-statistics', 'no normalisation configured: raw statistics only')

    // ---- counts ----
    if (expected !== undefined && c.samples !== expected && !ctx.cancelled) {
      const explainedBy = splitFindings.find((f) => f.check === 'coverage' || f.check === 'readability')
      const line = `samples read: ${fmt(c.samples)}, expected ${fmt(expected)}`
      if (explainedBy) {
        explainedBy.evidence.push(line)
        const note = `${splitLabel(s.name).toLowerCase()}: ${fmt(c.samples)} of ${fmt(expected)} samples, see the ${explainedBy.check} finding`
        const earlier = explainedElsewhere.get('counts')
        explainedElsewhere.set('counts', earlier ? `${earlier}; ${note}` : note)
      } else
        add(
          finding(
            {
              check: 'counts',
              code: 'count-mismatch',
              severity: 'error',
              split: s.name,
              title: `${label} holds ${fmt(c.samples)} samples where ${fmt(expected)} are expected (${c.samples < expected ? `${fmt(expected - c.samples)} missing` : `${fmt(c.samples - expected)} extra`}).`,
              evidence: [line, `shards read: ${fmt(c.shards.size)}`],
              fix: 'Check that the pattern names every shard of the split and that the expected count is up to date.',
              impactSamples: Math.abs(expected - c.samples)
            },
            cap
          )
        )
    }

    // ---- copy vs copy ----
    if (s.copy) out.push(...copyFindings(s, s.copy, cap))

    out.push(...splitFindings)
  }

  out.push(...trainVsVal(splits, out, cap))
  if (!splits.some((s) => s.copy)) skipped.set('copy-vs-copy', 'no second copy (remote pattern) given')
  // Coverage compares a pattern with its folder's listing; an http(s) location has no listing to compare with.
  if (splits.length > 0 && splits.every((s) => s.coverage.folders.length === 0)) {
    skipped.set('coverage', 'the patterns name http(s) shards, and a web server or bucket cannot be listed: shards a pattern skips cannot be seen from here (run verify on a local copy to check)')
  }

  out.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.impactSamples - a.impactSamples)
  const checks: CheckStatus[] = CHECK_NAMES.map((check) => {
    const mine = out.filter((f) => f.check === check && f.severity !== 'info')
    if (mine.length > 0) return { check, status: 'failed', note: `${plural(mine.length, 'finding')}` }
    const elsewhere = explainedElsewhere.get(check)
    if (elsewhere) return { check, status: 'failed', note: elsewhere }
    const why = skipped.get(check)
    if (why) return { check, status: 'skipped', note: why }
    return { check, status: 'passed', note: 'no problem found' }
  })
  return { findings: out, checks }
}

/**
 * Fields a sample carries beyond the split's layout: the required fields plus those most
 * samples (over half) carry. A stray `.txt` or `.json` in a few samples is the usual case.
 */
function extraFields(c: SplitChecks): { count: number; fields: string[]; expected: string[]; required: number; offenders: OffendingSample[] } {
  const required = c.options.requiredFields ?? [c.imageField ?? 'jpg', c.options.labelField]
  const expected = new Set(required)
  for (const [field, n] of c.fieldCounts) if (n * 2 > c.samples) expected.add(field)
  let count = 0
  const fields = new Set<string>()
  const offenders: OffendingSample[] = []
  for (const [set, { count: n, examples }] of c.fieldSets) {
    const unexpected = set.split(',').filter((f) => f !== '' && !expected.has(f))
    if (unexpected.length === 0) continue
    count += n
    for (const f of unexpected) fields.add(f)
    for (const ref of examples) offenders.push({ url: ref.url, key: ref.key, field: unexpected[0], expected: `fields ${[...expected].map((f) => `.${f}`).join(', ')}`, found: `also .${unexpected.join(', .')}` })
  }
  return { count, fields: [...fields].sort(), expected: [...expected], required: new Set(required).size, offenders }
}

const CHECK_NAMES: CheckName[] = ['coverage', 'readability', 'structure', 'images', 'labels', 'label-diversity', 'counts', 'pixel-statistics', 'train-vs-val', 'leakage', 'copy-vs-copy']

const STALE_COPY_FIX = 'Upload the local shards again and delete the old ones (e.g. `gsutil -m rsync -d` or `aws s3 sync --delete`), then point the pattern at the new layout.'

function copyFindings(s: SplitOutcome, cmp: CopyComparison, cap: number): Finding[] {
  const label = splitLabel(s.name)
  const remoteTotal = cmp.remote.shards.reduce((a, x) => a + x.samples, 0)
  const localTotal = cmp.local.shards.reduce((a, x) => a + x.samples, 0)
  const keysDiffer = cmp.onlyLocalKeys > 0 || cmp.onlyRemoteKeys > 0
  // The local side is the split as its folder holds it, shards the pattern skips included (a pattern missing a shard is another finding).
  const skipped = cmp.local.outsidePattern ?? 0
  const thisCopy = `this copy \`${cmp.local.pattern}\`${skipped > 0 ? ` with the ${plural(skipped, 'shard')} of its folder it skips` : ''}: ${describeLayout(cmp.local.shards)}`
  const evidence = [
    thisCopy,
    `other copy \`${cmp.remote.pattern}\`: ${describeLayout(cmp.remote.shards)}`,
    ...(keysDiffer ? [`${plural(cmp.onlyLocalKeys, 'key')} only in the local copy${cmp.exampleOnlyLocal.length ? ` (e.g. ${cmp.exampleOnlyLocal.slice(0, 3).join(', ')})` : ''}; ${plural(cmp.onlyRemoteKeys, 'key')} only in the other${cmp.exampleOnlyRemote.length ? ` (e.g. ${cmp.exampleOnlyRemote.slice(0, 3).join(', ')})` : ''}`] : []),
    ...(cmp.remoteOlder ? ['the other copy’s shards are older than every local shard'] : [])
  ]
  // A copy that cannot be read cannot be compared: say why, not that it is stale, unless
  // the shards that could be read already prove it (another shard count, other per-shard
  // counts, keys the local copy lacks).
  const unreadable = cmp.remote.shards.filter((r) => !r.readable)
  if (unreadable.length > 0) {
    const first = unreadable[0]!
    const readable = cmp.remote.shards.filter((r) => r.readable)
    const localByName = new Map(cmp.local.shards.map((l) => [shardName(l.url), l]))
    const unmatched = readable.filter((r) => !localByName.has(shardName(r.url)))
    const otherCounts = readable.filter((r) => { const l = localByName.get(shardName(r.url)); return l !== undefined && l.samples !== r.samples })
    const provenStale = unmatched.length > 0 || otherCounts.length > 0 || cmp.onlyRemoteKeys > 0
    const stale: Finding[] = provenStale
      ? [
          finding(
            {
              check: 'copy-vs-copy',
              code: 'stale-copy',
              severity: 'error',
              split: s.name,
              title: `${label} copy \`${cmp.remote.pattern}\` is stale, by the ${plural(readable.length, 'shard')} of it that could be read: ${[
                unmatched.length > 0 ? `${plural(unmatched.length, 'shard')} with no local shard of the same name` : '',
                otherCounts.length > 0 ? `${plural(otherCounts.length, 'shard')} with other sample counts than the local shard of the same name` : '',
                cmp.onlyRemoteKeys > 0 ? `${plural(cmp.onlyRemoteKeys, 'key')} the local copy does not have` : ''
              ]
                .filter(Boolean)
                .join(', ')}.`,
              evidence: [
                thisCopy,
                `other copy \`${cmp.remote.pattern}\`, the shards that could be read: ${describeLayout(readable)}`,
                ...(cmp.onlyRemoteKeys > 0 ? [`${plural(cmp.onlyRemoteKeys, 'key')} only in the other copy (e.g. ${cmp.exampleOnlyRemote.slice(0, 3).join(', ')})`] : [])
              ],
              fix: STALE_COPY_FIX,
              impactSamples: Math.max(remoteTotal, localTotal)
            },
            cap
          )
        ]
      : []
    return [
      ...stale,
      finding(
        {
          check: 'copy-vs-copy',
          code: 'copy-unreadable',
          severity: 'error',
          split: s.name,
          title: `${label} copy \`${cmp.remote.pattern}\`: ${unreadable.length === cmp.remote.shards.length ? (unreadable.length === 1 ? 'its shard could not be read' : `none of its ${unreadable.length} shards could be read`) : `${unreadable.length} of its ${plural(cmp.remote.shards.length, 'shard')} could not be read`}${provenStale ? '' : ', so it was not compared with the local copy'} (${first.error ?? 'unreadable'}).`,
          evidence: [thisCopy, ...unreadable.slice(0, 5).map((r) => `${r.url}: ${r.error ?? 'unreadable'}`)],
          fix: 'Check the pattern, the network and the bucket’s access (gs:// is read through its public HTTPS URL), then verify again.',
          impactSamples: localTotal,
          offenders: unreadable.map((r) => ({ url: r.url, expected: 'a readable shard', found: r.error ?? 'unreadable' })),
          offenderCount: unreadable.length
        },
        cap
      )
    ]
  }
  const offenders: OffendingSample[] = cmp.remote.shards.map((r, i) => {
    const l = cmp.local.shards[i]
    return { url: r.url, expected: l ? `${fmt(l.samples)} samples like ${l.url}` : 'no such shard in the local copy', found: `${fmt(r.samples)} samples` }
  })
  if (cmp.layoutDiffers || keysDiffer) {
    return [
      finding(
        {
          check: 'copy-vs-copy',
          code: 'stale-copy',
          severity: 'error',
          split: s.name,
          title: `${label} copy \`${cmp.remote.pattern}\` is stale: ${cmp.layoutDiffers ? `it is in another layout (${describeLayout(cmp.remote.shards)} vs ${describeLayout(cmp.local.shards)} locally)` : 'it holds other samples than the local copy'}${keysDiffer ? `, and ${fmt(cmp.onlyLocalKeys + cmp.onlyRemoteKeys)} keys differ` : ''}.`,
          evidence,
          fix: STALE_COPY_FIX,
          impactSamples: Math.max(remoteTotal, localTotal),
          offenders,
          offenderCount: offenders.length
        },
        cap
      )
    ]
  }
  if (cmp.contentDiffers.length > 0) {
    return [
      finding(
        {
          check: 'copy-vs-copy',
          code: 'copy-differs',
          severity: 'error',
          split: s.name,
          title: `${plural(cmp.contentDiffers.length, 'shard')} of the ${label.toLowerCase()} copy \`${cmp.remote.pattern}\` ${cmp.contentDiffers.length === 1 ? 'differs' : 'differ'} from the local shards of the same name (same sample counts, other bytes).`,
          evidence: [...evidence, ...cmp.contentDiffers.slice(0, 5).map((d) => `${d.name}: sha256 ${d.local.sha256?.slice(0, 12)}… locally, ${d.remote.sha256?.slice(0, 12)}… in the copy`)],
          fix: 'Upload the differing shards again.',
          impactSamples: cmp.contentDiffers.reduce((a, d) => a + d.local.samples, 0),
          offenders: cmp.contentDiffers.map((d) => ({ url: d.remote.url, expected: `sha256 ${d.local.sha256}`, found: `sha256 ${d.remote.sha256}` }))
        },
        cap
      )
    ]
  }
  return []
}

function trainVsVal(splits: SplitOutcome[], already: Finding[], cap: number): Finding[] {
  const train = splits.find((s) => s.name === 'train')
  const others = splits.filter((s) => s !== train)
  if (!train || others.length === 0) return []
  const out: Finding[] = []
  for (const other of others) {
    const label = splitLabel(other.name)
    const t = train.checks
    const o = other.checks
    const tShape = t.expectedShape()
    const oShape = o.expectedShape()
    if (tShape && oShape && tShape !== oShape && !t.options.imageShape) {
      out.push(
        finding(
          {
            check: 'train-vs-val',
            code: 'split-shape-mismatch',
            severity: 'error',
            split: other.name,
            title: `${label} images are ${oShape.replaceAll('x', '×')} but training images are ${tShape.replaceAll('x', '×')}.`,
            evidence: [`train shapes: ${JSON.stringify(Object.fromEntries(t.imageShapes))}`, `${other.name} shapes: ${JSON.stringify(Object.fromEntries(o.imageShapes))}`],
            fix: 'Write both splits with the same image size and channels.',
            impactSamples: o.imagesDecoded
          },
          cap
        )
      )
    }
    if (train.classMapping && other.classMapping) {
      const differ = compareClassMappings(train.classMapping, other.classMapping)
      if (differ.length > 0) {
        const a = train.classMapping.source
        const b = other.classMapping.source
        out.push(
          finding(
            {
              check: 'train-vs-val',
              code: 'class-mapping-differs',
              severity: 'error',
              split: other.name,
              title: `${label} labels use another class id → name mapping than training: ${plural(differ.length, 'class index', 'class indices')} of ${fmt(Math.max(train.classMapping.ids.length, other.classMapping.ids.length))} map to different classes, so those ${label.toLowerCase()} samples are scored against the wrong class.`,
              evidence: [`training mapping: ${a}; ${other.name} mapping: ${b}`, ...differ.slice(0, 5).map((d) => `label ${d.label}: ${d.a ?? '(none)'} in training, ${d.b ?? '(none)'} in ${other.name}`)],
              fix: `Label both splits from one class list (one wnids.txt): rewrite the ${other.name} labels with the training mapping, or replace ${b} with ${a} if only the file is wrong.`,
              impactSamples: differ.reduce((n, d) => n + (o.labelHistogram.get(d.label) ?? 0), 0),
              offenders: differ.map((d) => ({ url: b, field: `label ${d.label}`, expected: d.a ?? '(no class)', found: d.b ?? '(no class)' })),
              offenderCount: differ.length
            },
            cap
          )
        )
      }
    }
    const labelsExplained = already.some((f) => f.split === other.name && (f.code === 'label-offset' || f.code === 'label-out-of-range'))
    const unseen = [...o.labelHistogram.keys()].filter((l) => !t.labelHistogram.has(l))
    if (unseen.length > 0 && !labelsExplained && t.labelHistogram.size > 0) {
      const n = unseen.reduce((a, l) => a + (o.labelHistogram.get(l) ?? 0), 0)
      out.push(
        finding(
          {
            check: 'train-vs-val',
            code: 'classes-not-in-train',
            severity: 'warning',
            split: other.name,
            title: `${label} has ${plural(n, 'sample')} of ${plural(unseen.length, 'class', 'classes')} that never appear in training.`,
            evidence: [`classes only in ${other.name}: ${unseen.slice(0, 20).join(', ')}`],
            fix: 'Check that both splits use the same class-id → label mapping (wnids.txt order).',
            impactSamples: n,
            ...(unseen.length === 1 && unseen[0]! >= 0 ? { browse: { split: other.name, classId: unseen[0]!, samples: n } } : {})
          },
          cap
        )
      )
    }
    const normalisationFinding = already.some((f) => f.code === 'not-normalised')
    const tn = t.normalisedPixels && t.normalisedPixels.count > 0 ? t.summary().pixelsNormalised : undefined
    const on = o.normalisedPixels && o.normalisedPixels.count > 0 ? o.summary().pixelsNormalised : undefined
    if (tn && on && !normalisationFinding) {
      const drift = on.mean.map((m, i) => Math.abs(m - (tn.mean[i] ?? 0)))
      if (drift.some((x) => x > 0.5)) {
        out.push(
          finding(
            {
              check: 'train-vs-val',
              code: 'pixel-drift',
              severity: 'warning',
              split: other.name,
              title: `${label} pixel statistics drift from training: normalised channel means differ by up to ${Math.max(...drift).toFixed(2)} std.`,
              evidence: [`train mean ${tn.mean.map(fmtNum).join(', ')}, ${other.name} mean ${on.mean.map(fmtNum).join(', ')}`],
              fix: 'Check that both splits were decoded, resized and normalised the same way.',
              impactSamples: o.imagesDecoded
            },
            cap
          )
        )
      }
    }
    // Leakage: identical image bytes in both splits.
    let leaked = 0
    const offenders: OffendingSample[] = []
    for (const [hash, ref] of o.contentHashes) {
      const inTrain = t.contentHashes.get(hash)
      if (!inTrain) continue
      leaked++
      if (offenders.length < cap) offenders.push({ url: ref.url, key: ref.key, expected: 'an image not in training', found: `identical to ${inTrain.key} in ${inTrain.url}` })
    }
    if (leaked > 0) {
      out.push(
        finding(
          {
            check: 'leakage',
            code: 'train-val-leakage',
            severity: 'error',
            split: other.name,
            title: `${plural(leaked, 'image')} of ${label.toLowerCase()} also appear${leaked === 1 ? 's' : ''} in training (identical bytes): evaluation on them measures memory, not generalisation.`,
            evidence: [`${fmt(leaked)} of ${fmt(o.contentHashes.size)} distinct ${other.name} images found among ${fmt(t.contentHashes.size)} training images`],
            fix: `Remove those samples from one of the splits.`,
            impactSamples: leaked,
            offenders,
            offenderCount: leaked
          },
          cap
        )
      )
    }
  }
  return out
}
