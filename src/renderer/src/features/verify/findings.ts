/**
 * From the verifier's words to the browser's filters: which samples a finding
 * points at, and the request that verifies the dataset the user opened. Pure.
 */
import type { DatasetSummary, SampleFilter, SampleRef } from '@shared/contract/datasets'
import type { Finding, VerifyRequestInput } from '@shared/contract/verify'
import { formatCount, plural } from '../../app/errors'

/** The last path segment of a shard URL or path: how the inventory and the filters name shards. */
export function shardName(url: string): string {
  const clean = url.split(/[?#]/)[0] ?? url
  return clean.slice(clean.replace(/\/+$/, '').lastIndexOf('/') + 1)
}

/**
 * The browser filter showing exactly the samples a finding lists: its offenders with
 * a key, by key and shard URL (and split when known); or, when it names shards only, the one shard. `splitOfShard`
 * maps a shard URL (or file name) to its split, from the inventory: undefined while the
 * inventory is not here, null for a shard it does not hold. Null when the finding names no
 * sample or shard the browser can show (a missing shard, one the pattern does not cover).
 */
export function filterForFinding(finding: Finding, splitOfShard: (url: string) => string | null | undefined): SampleFilter | null {
  // All of its samples, where the finding says they are one class of one split (more than the offenders it lists).
  if (finding.browse) return { split: finding.browse.split, classId: finding.browse.classId }
  const keys: SampleRef[] = []
  const seen = new Set<string>()
  for (const o of finding.offenders) {
    if (!o.key) continue
    // The shard URL pins the sample down even when two splits share a key; the split narrows the search.
    const split = splitOfShard(o.url) ?? finding.split
    const id = `${o.url}\u0000${o.key}`
    if (seen.has(id)) continue
    seen.add(id)
    keys.push({ key: o.key, url: o.url, ...(split ? { split } : {}) })
  }
  if (keys.length > 0) return { keys }
  const shards = [...new Set(finding.offenders.map((o) => o.url))]
  if (shards.length === 1 && shards[0]) {
    const known = splitOfShard(shards[0])
    // A shard outside the opened dataset (the pattern skips it) has nothing to show.
    if (known === null) return null
    const split = known ?? finding.split
    if (split) return { split, shard: shardName(shards[0]) }
  }
  return null
}

/** The words of a finding's link to the browser, for the filter filterForFinding made of it. */
export function browseLinkText(filter: SampleFilter, finding: Finding): string {
  const what = filter.keys
    ? filter.keys.length < finding.offenderCount
      ? `${filter.keys.length} listed of ${plural(finding.offenderCount, 'sample')}`
      : filter.keys.length === 1
        ? 'the sample'
        : `${formatCount(filter.keys.length)} samples`
    : finding.browse
      ? `all ${plural(finding.browse.samples, 'sample')} of class ${finding.browse.classId}`
      : 'the shard'
  return `show ${what} in the browser`
}

/** What `verify.start` needs for an opened dataset: its folder (whose dataset.json says the rest), or its patterns. */
export function verifyRequestFor(dataset: DatasetSummary): VerifyRequestInput {
  if (dataset.folder) return { datasetDir: dataset.folder }
  return {
    splits: dataset.splits.map((s) => ({
      name: s.name,
      pattern: s.patterns.join('::'),
      ...(s.remotePatterns.length > 0 ? { remotePattern: s.remotePatterns.join('::') } : {})
    })),
    ...(dataset.classNames.length > 0 ? { classes: dataset.classNames.length } : {})
  }
}

/** Samples per second and ETA as the progress line shows them. */
export function describeProgress(p: { samplesDone: number; samplesPerSecond: number; etaSeconds: number | null }): string {
  const rate = `${Math.round(p.samplesPerSecond).toLocaleString('en-US')} samples/s`
  const eta = p.etaSeconds === null ? 'ETA unknown' : `ETA ${p.etaSeconds < 1 ? '<1' : Math.round(p.etaSeconds)} s`
  return `${p.samplesDone.toLocaleString('en-US')} samples · ${rate} · ${eta}`
}

/** pass / warn / fail as the user reads it: a failed check is a warning when all its findings are warnings or notes. */
export function checkBadge(check: string, status: 'passed' | 'failed' | 'skipped', findings: Finding[]): 'pass' | 'warn' | 'fail' | 'skipped' {
  if (status === 'skipped') return 'skipped'
  if (status === 'passed') return 'pass'
  // A check that failed because of another check's finding (counts short by a skipped shard) has none of its own: it failed.
  const own = findings.filter((f) => f.check === check)
  return own.length === 0 || own.some((f) => f.severity === 'error') ? 'fail' : 'warn'
}
