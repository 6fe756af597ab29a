/**
 * One verification, start to end: resolve what to verify (request + dataset.json),
 * stream every shard of every split through the checks (images decoded on worker
 * threads), count what the patterns skip, compare copies, and diagnose.
 * Usable in-process (tests, bench) and from the verifier's child-process role.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { DatasetManifestSchema, MANIFEST_FILE, parseManifest, type DatasetManifest } from '../../shared/manifest'
import { REPORT_VERSION, VerifyRequest, type SplitRequest, type VerificationReport, type VerifyRequestInput } from '../../shared/contract/verify'
import { bracesBalanced, expandPattern, PatternError } from '../wds/patterns'
import type { ShardLocation } from '../wds/types'
import { splitPatternsOfFolder } from '../wds/shard-files'
import { checkSplitsCoverage, type Coverage } from './coverage'
import { compareCopies, sha256File, type CopyShard, type CopySide } from './copy-compare'
import { ShardPool } from './shard-check-pool'
import type { ShardCheck } from './shard-check'
import { diagnose, type SplitOutcome } from './findings'
import { SplitChecks } from './split-checks'
import { classMappingOf } from './class-mapping'

/** The request cannot be run as given (no splits, bad dataset.json, bad pattern): exit 2, not a finding. */
export class VerifyInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'VerifyInputError'
  }
}

export interface VerifyProgressUpdate {
  samplesDone: number
  samplesPerSecond: number
  etaSeconds: number | null
  currentShard: string | null
  fraction: number | null
}

export interface VerifyRunOptions {
  onProgress?: (progress: VerifyProgressUpdate) => void
  signal?: AbortSignal
  /** Milliseconds between progress updates (default 250). */
  progressIntervalMs?: number
}

interface PlannedSplit extends SplitRequest {
  pattern: string
  locations: ShardLocation[]
  remoteLocations?: ShardLocation[]
}

export interface VerifyPlan {
  base: string
  datasetDir?: string
  manifestPath?: string
  manifest?: DatasetManifest
  splits: PlannedSplit[]
}

export function planVerification(input: VerifyRequestInput | VerifyRequest): { request: VerifyRequest; plan: VerifyPlan } {
  const parsed = VerifyRequest.safeParse(input)
  if (!parsed.success) throw new VerifyInputError(`invalid verify request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  const request = parsed.data
  const datasetDir = request.datasetDir ? resolve(request.datasetDir) : undefined
  if (datasetDir && !existsSync(datasetDir)) throw new VerifyInputError(`dataset folder ${datasetDir} does not exist`)
  let manifestPath = request.manifestPath ? resolve(request.manifestPath) : undefined
  if (!manifestPath && datasetDir && existsSync(join(datasetDir, MANIFEST_FILE))) manifestPath = join(datasetDir, MANIFEST_FILE)
  let manifest: DatasetManifest | undefined
  if (manifestPath) {
    let text: string
    try {
      text = readFileSync(manifestPath, 'utf8')
    } catch (err) {
      throw new VerifyInputError(`cannot read ${manifestPath}: ${(err as Error).message}`)
    }
    const r = parseManifest(text)
    if (!r.ok) throw new VerifyInputError(`${manifestPath}: ${r.error}`)
    manifest = DatasetManifestSchema.parse(r.manifest)
  }
  const base = resolve(request.base ?? datasetDir ?? (manifestPath ? dirname(manifestPath) : process.cwd()))
  const wanted = new Map<string, SplitRequest>()
  if (manifest) {
    for (const [name, s] of Object.entries(manifest.splits)) {
      wanted.set(name, { name, pattern: s.pattern, remotePattern: s.remote?.pattern, expectedSamples: s.expectedSamples, imageField: s.imageField ?? manifest.imageField })
    }
  }
  for (const s of request.splits) {
    const before = wanted.get(s.name)
    wanted.set(s.name, { ...before, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)), name: s.name } as SplitRequest)
  }
  // A folder of shards without dataset.json: its splits as `shardscope inventory` finds them.
  if (wanted.size === 0 && datasetDir) for (const s of discoverSplits(datasetDir)) wanted.set(s.name, s)
  if (wanted.size === 0) {
    throw new VerifyInputError(
      datasetDir
        ? `nothing to verify: ${datasetDir} has no ${MANIFEST_FILE} and no shard files (.tar, .tar.gz, .tgz) in it or in its subfolders`
        : 'nothing to verify: give a dataset folder (with dataset.json or shard files), --manifest, or --train/--val patterns'
    )
  }
  const splits: PlannedSplit[] = []
  for (const s of wanted.values()) {
    if (!s.pattern) throw new VerifyInputError(`split ${s.name} has no pattern (give one, or a dataset.json that names it)`)
    try {
      const locations = expandPattern(s.pattern, { baseDir: base })
      const remoteLocations = s.remotePattern ? expandPattern(s.remotePattern, { baseDir: base }) : undefined
      splits.push({ ...s, pattern: s.pattern, locations, remoteLocations })
    } catch (err) {
      if (err instanceof PatternError) throw new VerifyInputError(`${s.name} pattern: ${err.message}`)
      throw err
    }
  }
  // Train first: other splits are compared with it (keys, hashes, classes).
  splits.sort((a, b) => (a.name === 'train' ? -1 : b.name === 'train' ? 1 : 0))
  return { request, plan: { base, datasetDir, manifestPath, manifest, splits } }
}

/** Splits of a folder without dataset.json, found as the inventory finds them, each as a compact pattern. */
function discoverSplits(folder: string): SplitRequest[] {
  return splitPatternsOfFolder(folder).map(({ name, patterns }) => ({ name, pattern: patterns.join('::') }) as SplitRequest)
}

function fileBytes(loc: ShardLocation): number {
  if (loc.kind !== 'file' || !loc.path) return 0
  try {
    const info = statSync(loc.path)
    return info.isFile() ? info.size : 0
  } catch {
    return 0
  }
}

export async function verifyDataset(input: VerifyRequestInput | VerifyRequest, options: VerifyRunOptions = {}): Promise<VerificationReport> {
  const { request, plan } = planVerification(input)
  const started = performance.now()
  const signal = options.signal
  const classes = request.classes ?? plan.manifest?.classes
  const imageShape = request.imageShape ?? plan.manifest?.imageShape
  const normalization = request.normalization ?? plan.manifest?.normalization
  const labelField = request.labelField ?? plan.manifest?.labelField ?? 'cls'
  const pool = new ShardPool(request.threads)
  // Shards checked ahead of the one being merged: keeps every thread busy while results
  // are merged in pattern order, and bounds the results held at once.
  const lookahead = Math.max(1, pool.threads * 2)

  const coverages = checkSplitsCoverage(plan.splits.map((s) => s.locations))
  // Nothing to read at all: the run could not happen (exit 2), unlike a split missing some shards (a finding).
  if (coverages.every((c) => c.readable.length === 0)) {
    throw new VerifyInputError(
      `no shard to verify: ${plan.splits
        .map((s, i) => {
          const notes = [coverages[i]!.folders[0] && `looked in ${coverages[i]!.folders[0]!.dir}`, !bracesBalanced(s.pattern) && 'its braces do not pair up, so it was read as one file name'].filter(Boolean)
          return `the ${s.name} pattern \`${s.pattern}\` matches no existing file${notes.length ? ` (${notes.join('; ')})` : ''}`
        })
        .join('; ')}`
    )
  }
  const totalBytes = coverages.reduce((a, c) => a + c.readable.reduce((b, l) => b + fileBytes(l), 0), 0)
  const expectedTotal = plan.splits.every((s) => s.expectedSamples !== undefined) ? plan.splits.reduce((a, s) => a + (s.expectedSamples ?? 0), 0) : undefined

  let samplesDone = 0
  let bytesDone = 0
  let currentShard: string | null = null
  let lastProgress = 0
  const interval = options.progressIntervalMs ?? 250
  const report = (force = false) => {
    if (!options.onProgress) return
    const now = performance.now()
    if (!force && now - lastProgress < interval) return
    lastProgress = now
    const seconds = (now - started) / 1000
    const rate = seconds > 0 ? samplesDone / seconds : 0
    const fraction = expectedTotal ? Math.min(1, samplesDone / Math.max(1, expectedTotal)) : totalBytes > 0 ? Math.min(1, bytesDone / totalBytes) : null
    const eta = fraction && fraction > 0 ? (seconds * (1 - fraction)) / fraction : null
    options.onProgress({ samplesDone, samplesPerSecond: Math.round(rate), etaSeconds: eta === null ? null : Math.round(eta * 10) / 10, currentShard, fraction })
  }

  const datasetKeys = new Map<string, string>()
  const splitChecks = plan.splits.map(
    (split) =>
      new SplitChecks(
        {
          split: split.name,
          pattern: split.pattern,
          imageField: split.imageField,
          labelField,
          requiredFields: request.requiredFields,
          classes,
          imageShape,
          normalization,
          batchSize: request.batchSize,
          maxOffenders: request.maxOffenders,
          expectedSamples: split.expectedSamples
        },
        datasetKeys
      )
  )
  // Every shard of every split, in order; threads work ahead across split boundaries.
  const jobs = plan.splits.flatMap((_, i) => coverages[i]!.readable.map((location) => ({ split: i, location })))
  const inFlight: Array<Promise<ShardCheck> | undefined> = []
  let nextJob = 0
  const startJobs = (merged: number) => {
    while (nextJob < jobs.length && nextJob < merged + lookahead && !signal?.aborted) {
      const { split, location } = jobs[nextJob]!
      let counted = 0
      const advance = (n: number) => {
        samplesDone += n - counted
        counted = n
        report()
      }
      const job = pool.check(location, splitChecks[split]!.shardOptions(request.maxImagePixels), advance, signal)
      inFlight[nextJob] = job.then((r) => {
        advance(r.samples)
        return r
      })
      // Merged (and its failure handled) in order below; never left unhandled meanwhile.
      inFlight[nextJob]!.catch(() => undefined)
      nextJob++
    }
  }

  const outcomes: SplitOutcome[] = []
  let merged = 0
  try {
    for (let i = 0; i < plan.splits.length && !signal?.aborted; i++) {
      const split = plan.splits[i]!
      const coverage = coverages[i]!
      const checks = splitChecks[i]!
      for (const loc of coverage.readable) {
        if (signal?.aborted) break
        startJobs(merged)
        currentShard = loc.url
        report(true)
        try {
          checks.addShard(await inFlight[merged]!)
        } catch (err) {
          if (signal?.aborted) break
          checks.addProblem({ url: loc.url, kind: 'unreadable', message: `${loc.url}: ${(err as Error).message}` })
        }
        inFlight[merged] = undefined
        merged++
        bytesDone += checks.shards.get(loc.url)?.bytes ?? 0
      }
      startJobs(merged)

      // Shards of the folder that the pattern skips: count what is lost.
      const uncoveredSamples = new Map<string, number>()
      const uncoveredKeys = new Set<string>()
      const uncoveredShards: CopyShard[] = []
      for (const folder of coverage.folders) {
        for (const f of folder.uncovered) {
          if (signal?.aborted) break
          currentShard = f.path
          report(true)
          const r = await countShard(pool, { url: f.path, kind: 'file', path: f.path, pattern: split.pattern }, uncoveredKeys, signal)
          uncoveredSamples.set(f.path, r.samples)
          uncoveredShards.push({ url: f.path, bytes: f.bytes, samples: r.samples, mtimeMs: f.mtimeMs, readable: r.readable })
        }
      }

      let copy: SplitOutcome['copy']
      if (split.remoteLocations && !signal?.aborted) copy = await compareWithCopy(pool, split, coverage, checks, uncoveredShards, uncoveredKeys, signal)

      for (const k of checks.keysSeen.keys()) if (!datasetKeys.has(k)) datasetKeys.set(k, split.name)
      outcomes.push({ name: split.name, pattern: split.pattern, checks, coverage, uncoveredSamples, copy, classMapping: classMappingOf(split, plan) })
    }
  } finally {
    await pool.close()
  }
  currentShard = null
  report(true)

  const cancelled = Boolean(signal?.aborted)
  // Not one shard could be opened (every URL 404, the bucket offline): nothing was verified, so the
  // run could not happen (exit 2) rather than "found problems" beside checks that passed over 0 samples.
  const shards = outcomes.flatMap((o) => [...o.checks.shards.entries()])
  // A shard cut short midway (a connection dropped) gave samples: it was read, if not whole.
  const unopened = shards.flatMap(([, shard]) => (shard.samples > 0 ? [] : (shard.problems.find((p) => p.kind === 'unreadable') ?? [])))
  if (!cancelled && shards.length > 0 && unopened.length === shards.length) {
    throw new VerifyInputError(`no shard could be read: ${unopened.slice(0, 3).map((p) => p.message).join('; ')}${unopened.length > 3 ? `; and ${unopened.length - 3} more` : ''}`)
  }
  const { findings, checks } = diagnose(outcomes, { classes, normalizationKnown: Boolean(normalization), maxOffenders: request.maxOffenders, cancelled })
  const seconds = (performance.now() - started) / 1000
  const count = (sev: string) => findings.filter((f) => f.severity === sev).length
  return {
    version: REPORT_VERSION,
    createdAt: new Date().toISOString(),
    durationSeconds: Math.round(seconds * 1000) / 1000,
    dataset: { dir: plan.datasetDir, manifest: plan.manifestPath, classes },
    splits: outcomes.map((o) => o.checks.summary()),
    checks,
    findings,
    counts: { errors: count('error'), warnings: count('warning'), infos: count('info') },
    samplesVerified: samplesDone,
    samplesPerSecond: Math.round(samplesDone / Math.max(seconds, 1e-6)),
    decodeThreads: pool.threads,
    cancelled
  }
}

/** Counts a shard's samples and keys only (no decoding), on the pool's threads. */
async function countShard(
  pool: ShardPool,
  loc: ShardLocation,
  keys: Set<string> | null,
  signal?: AbortSignal,
  sha256 = false
): Promise<{ samples: number; readable: boolean; error?: string; sha256?: string }> {
  try {
    const r = await pool.check(loc, { labelField: 'cls', batchSize: 1, maxOffenders: 1, maxPixels: 1, countOnly: true, sha256 }, undefined, signal)
    if (keys) for (const k of r.keys) keys.add(k)
    const unreadable = r.problems.find((p) => p.kind === 'unreadable')
    return unreadable ? { samples: r.samples, readable: false, error: unreadable.message } : { samples: r.samples, readable: true, sha256: r.sha256 }
  } catch (err) {
    return { samples: 0, readable: false, error: err instanceof Error ? err.message : String(err) }
  }
}

async function compareWithCopy(
  pool: ShardPool,
  split: PlannedSplit,
  coverage: Coverage,
  checks: SplitChecks,
  uncoveredShards: CopyShard[],
  uncoveredKeys: Set<string>,
  signal?: AbortSignal
): Promise<SplitOutcome['copy']> {
  // The local side is the whole split as the folder holds it (pattern + what it skips),
  // so a pattern missing a shard is not mistaken for a stale copy.
  const localShards: CopyShard[] = []
  for (const loc of coverage.readable) {
    const tally = checks.shards.get(loc.url)
    const file = loc.kind === 'file' && loc.path ? statSync(loc.path, { throwIfNoEntry: false }) : undefined
    localShards.push({ url: loc.url, bytes: tally?.bytes ?? 0, samples: tally?.samples ?? 0, mtimeMs: file?.mtimeMs, readable: true, sha256: loc.path ? await sha256File(loc.path).catch(() => undefined) : undefined })
  }
  for (const u of uncoveredShards) localShards.push({ ...u, sha256: await sha256File(u.url).catch(() => undefined) })
  localShards.sort((a, b) => a.url.localeCompare(b.url))
  const local: CopySide = { pattern: split.pattern, shards: localShards, keys: new Set([...checks.keysSeen.keys(), ...uncoveredKeys]), outsidePattern: uncoveredShards.length }
  const remote: CopySide = { pattern: split.remotePattern!, shards: [], keys: new Set() }
  for (const loc of split.remoteLocations ?? []) {
    if (signal?.aborted) return undefined
    const file = loc.kind === 'file' && loc.path ? statSync(loc.path, { throwIfNoEntry: false }) : undefined
    // Hashed as it is counted, so a copy over http is compared byte for byte as a local one is, in one download.
    const r = await countShard(pool, loc, remote.keys, signal, true)
    remote.shards.push({ url: loc.url, bytes: file?.size ?? 0, samples: r.samples, mtimeMs: file?.mtimeMs, readable: r.readable, error: r.error, sha256: r.sha256 })
  }
  return compareCopies(local, remote)
}
