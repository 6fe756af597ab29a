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
import { expandPattern, PatternError } from '../wds/patterns'
import { readSamples } from '../wds/read'
import type { ReadProblem, ShardLocation } from '../wds/types'
import { checkCoverage, type Coverage } from './coverage'
import { compareCopies, sha256File, type CopyShard, type CopySide } from './copy-compare'
import { DecodePool } from './decode-pool'
import { diagnose, type SplitOutcome } from './findings'
import { SplitChecks, type SampleRef } from './split-checks'

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

/** Images per message to a decode thread: large enough to amortise messaging, small enough to keep memory flat. */
const DECODE_BATCH = 64

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
  if (wanted.size === 0) throw new VerifyInputError('nothing to verify: give a dataset folder with dataset.json, --manifest, or --train/--val patterns')
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

function fileBytes(loc: ShardLocation): number {
  if (loc.kind !== 'file' || !loc.path) return 0
  try {
    return statSync(loc.path).size
  } catch {
    return 0
  }
}

/** Reads a shard for counting only (no decoding): samples, keys, problems. */
async function countShard(loc: ShardLocation, keys: Set<string> | null, signal?: AbortSignal): Promise<{ samples: number; readable: boolean }> {
  let samples = 0
  let readable = true
  try {
    for await (const sample of readSamples(loc, { signal, onProblem: () => undefined })) {
      samples++
      keys?.add(sample.key)
    }
  } catch {
    readable = false
  }
  return { samples, readable }
}

export async function verifyDataset(input: VerifyRequestInput | VerifyRequest, options: VerifyRunOptions = {}): Promise<VerificationReport> {
  const { request, plan } = planVerification(input)
  const started = performance.now()
  const signal = options.signal
  const classes = request.classes ?? plan.manifest?.classes
  const imageShape = request.imageShape ?? plan.manifest?.imageShape
  const normalization = request.normalization ?? plan.manifest?.normalization
  const labelField = request.labelField ?? plan.manifest?.labelField ?? 'cls'
  const pool = new DecodePool({ maxPixels: request.maxImagePixels }, request.threads)
  const maxInFlight = Math.max(2, pool.threads * 3)

  const coverages = plan.splits.map((s) => checkCoverage(s.locations))
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

  const outcomes: SplitOutcome[] = []
  const datasetKeys = new Map<string, string>()
  const pending = new Set<Promise<void>>()
  const settle = async (limit: number) => {
    while (pending.size > limit) await Promise.race(pending)
  }
  try {
    for (let i = 0; i < plan.splits.length && !signal?.aborted; i++) {
      const split = plan.splits[i]!
      const coverage = coverages[i]!
      const checks = new SplitChecks(
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
      for (const loc of coverage.readable) {
        if (signal?.aborted) break
        const bytes = fileBytes(loc)
        checks.startShard(loc.url, bytes)
        currentShard = loc.url
        report(true)
        let refs: SampleRef[] = []
        let images: Array<{ bytes: Uint8Array; field: string }> = []
        const flush = () => {
          if (images.length === 0) return
          const batchRefs = refs
          const batch = images
          refs = []
          images = []
          const p: Promise<void> = pool.inspect(batch).then((results) => {
            results.forEach((r, k) => checks.addImage(batchRefs[k]!, batch[k]!.field, r))
          })
          const tracked = p.finally(() => pending.delete(tracked))
          pending.add(tracked)
        }
        try {
          for await (const sample of readSamples(loc, { signal, onProblem: (p: ReadProblem) => checks.addProblem(p) })) {
            const image = checks.addSample(sample)
            if (image) {
              refs.push({ url: sample.url, key: sample.key, indexInShard: sample.indexInShard })
              images.push(image)
              if (images.length >= DECODE_BATCH) {
                flush()
                await settle(maxInFlight)
              }
            }
            samplesDone++
            report()
          }
        } catch (err) {
          if (!signal?.aborted) checks.addProblem({ url: loc.url, kind: 'unreadable', message: `${loc.url}: ${(err as Error).message}` })
        }
        flush()
        bytesDone += bytes
      }
      await settle(0)
      checks.forgetTruncatedTails()

      // Shards of the folder that the pattern skips: count what is lost.
      const uncoveredSamples = new Map<string, number>()
      const uncoveredKeys = new Set<string>()
      const uncoveredShards: CopyShard[] = []
      for (const folder of coverage.folders) {
        for (const f of folder.uncovered) {
          if (signal?.aborted) break
          currentShard = f.path
          report(true)
          const r = await countShard({ url: f.path, kind: 'file', path: f.path, pattern: split.pattern }, uncoveredKeys, signal)
          uncoveredSamples.set(f.path, r.samples)
          uncoveredShards.push({ url: f.path, bytes: f.bytes, samples: r.samples, mtimeMs: f.mtimeMs, readable: r.readable })
        }
      }

      let copy: SplitOutcome['copy']
      if (split.remoteLocations && !signal?.aborted) copy = await compareWithCopy(split, coverage, checks, uncoveredShards, uncoveredKeys, signal)

      for (const k of checks.keysSeen.keys()) if (!datasetKeys.has(k)) datasetKeys.set(k, split.name)
      outcomes.push({ name: split.name, pattern: split.pattern, checks, coverage, uncoveredSamples, copy })
    }
    await settle(0)
  } finally {
    await pool.close()
  }
  currentShard = null
  report(true)

  const cancelled = Boolean(signal?.aborted)
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

async function compareWithCopy(
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
  const local: CopySide = { pattern: split.pattern, shards: localShards, keys: new Set([...checks.keysSeen.keys(), ...uncoveredKeys]) }
  const remote: CopySide = { pattern: split.remotePattern!, shards: [], keys: new Set() }
  for (const loc of split.remoteLocations ?? []) {
    if (signal?.aborted) return undefined
    const file = loc.kind === 'file' && loc.path ? statSync(loc.path, { throwIfNoEntry: false }) : undefined
    const r = await countShard(loc, remote.keys, signal)
    remote.shards.push({ url: loc.url, bytes: file?.size ?? 0, samples: r.samples, mtimeMs: file?.mtimeMs, readable: r.readable, sha256: file ? await sha256File(loc.path!).catch(() => undefined) : undefined })
  }
  return compareCopies(local, remote)
}
