/**
 * Shard inventory: for each shard of a pattern or folder, its size, sample count, fields,
 * class histogram (from `cls`), first and last key and read problems; and for patterns,
 * the shard-like files next to the named shards that the pattern does not cover (the
 * post-mortem's "pattern covers 1 of 2 shards"). One shard's inventory is
 * ./inventory-shard.ts; large datasets are spread over threads by ./shard-threads.ts.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { expandPattern, PatternError } from '../wds/patterns'
import { numberInFamily, SHARD_FILE, shardFamily, shardFilesOfFolder, splitFromName, type ShardFamily } from '../wds/shard-files'
import type { ShardLocation } from '../wds/types'
import type { ShardInventory } from './inventory-shard'
import type { PlannedShard } from './shard-queue'
import { inventoryOnThreads } from './shard-threads'

export type { ShardInventory } from './inventory-shard'
export { SHARD_FILE, splitFromName } from '../wds/shard-files'

/**
 * One more reading thread only per this many bytes of shards. Measured on 474 MB / 110
 * shards (2 cores, shared and loaded): a second thread added ~0.3 s of CPU (its own start
 * and, mostly, its own JIT warm-up: the first ~10 shards a fresh thread reads cost several
 * times the later ones) against ~0.15 s of reading saved per GB, and was slower in wall
 * clock in 3 of 4 paired runs. So small and mid-sized datasets stay on one thread.
 */
const BYTES_PER_THREAD = 1024 * 1024 * 1024
const MAX_THREADS = 4

export interface CoverageGap {
  /** The patterns naming shards of the folder, joined by `::`. */
  pattern: string
  patterns: string[]
  folder: string
  /** Shard-like files in the folder that the pattern names. */
  covered: number
  /** Shard-like files in the folder. */
  total: number
  /** File names not covered. */
  uncovered: string[]
  /** "pattern covers 1 of 2 shards in data/wds/val: val-000001.tar is not covered" */
  message: string
}

export interface SplitInventory {
  name: string
  /** What the dataset.json says the split holds (dataset folders only). */
  expectedSamples?: number
  /** Samples whose label is no class id (see SampleTally.unlabelled). */
  unlabelled: number
  shards: number
  samples: number
  bytes: number
  classHistogram: number[]
}

export interface Inventory {
  /** What the user asked for, as given. */
  source: string
  /**
   * folder: every shard file in it and its split folders; dataset: a folder with a
   * dataset.json, read as its split patterns say (so its coverage is checked, and copies
   * kept beside it are not counted as data); pattern: what the pattern names.
   */
  mode: 'folder' | 'dataset' | 'pattern'
  shards: ShardInventory[]
  splits: SplitInventory[]
  coverage: CoverageGap[]
  /** Patterns over http(s): a web server or bucket cannot be listed, so what they leave out is not known. */
  coverageNotChecked: string[]
  /** A dataset's other copies (`remote` patterns in its dataset.json): not inventoried here; `verify` compares them. */
  copiesNotListed: Array<{ split: string; pattern: string }>
  totals: { shards: number; samples: number; bytes: number; problems: number; uncovered: number }
  /** Threads that read the shards, the calling one included. */
  threads: number
}

export interface InventoryProgress {
  shardsDone: number
  shardsTotal: number
  bytesDone: number
  bytesTotal: number
  /** The shard just finished. */
  url: string
}

export interface InventoryOptions {
  baseDir?: string
  onProgress?: (progress: InventoryProgress) => void
  signal?: AbortSignal
  /** Threads reading shards, this one included (default: one per GiB of shards, up to the cores, at most 4). */
  threads?: number
}

async function shardFilesIn(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true })
    return entries
      .filter((e) => e.isFile() && SHARD_FILE.test(e.name))
      .map((e) => e.name)
      .sort()
  } catch {
    return []
  }
}

/** A folder argument: its shard-like files and those one level down (train/, val/), grouped by split. */
function locateFolder(folder: string): PlannedShard[] {
  return shardFilesOfFolder(folder).map(({ path, split }) => ({ location: { url: path, kind: 'file', path, pattern: folder }, split }))
}

/** A split as a dataset.json names it: its pattern, and the pattern of another copy if it has one. */
interface ManifestSplit {
  split: string
  pattern: string
  remote?: string
  expectedSamples?: number
}

/**
 * The splits of the folder's dataset.json, if it has one; a file that cannot be read or has
 * no pattern for a split is an error naming it. Only these fields are read, without the
 * manifest's zod schema (src/shared/manifest.ts): loading zod costs a cold `inventory`
 * 40–300 ms on this 2-core machine, against a budget of ~0.1 s; `verify` checks the rest.
 */
async function manifestSplits(folder: string): Promise<ManifestSplit[] | undefined> {
  // MANIFEST_FILE of src/shared/manifest.ts, which would load zod.
  const path = join(folder, 'dataset.json')
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new PatternError(error instanceof SyntaxError ? `${path} is not valid JSON: ${error.message}` : `cannot read ${path}: ${(error as Error).message}`, folder)
  }
  const splits = (json as { splits?: unknown } | null)?.splits
  if (typeof splits !== 'object' || splits === null || Object.keys(splits).length === 0) throw new PatternError(`${path}: field splits: expected an object naming at least one split`, folder)
  return Object.entries(splits as Record<string, { pattern?: unknown; remote?: { pattern?: unknown }; expectedSamples?: unknown } | null>).map(([split, s]) => {
    if (typeof s?.pattern !== 'string' || s.pattern === '') throw new PatternError(`${path}: field splits.${split}.pattern: expected a shard pattern`, folder)
    return {
      split,
      pattern: s.pattern,
      remote: typeof s.remote?.pattern === 'string' ? s.remote.pattern : undefined,
      expectedSamples: typeof s.expectedSamples === 'number' ? s.expectedSamples : undefined
    }
  })
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/**
 * Which shard-like files beside the local shards the patterns leave out: one line per
 * series of shard files in a folder (`val-000000.tar` → val-<n>, compressed or not; other
 * shard files beside them are not theirs to cover). The patterns naming shards of one
 * series (`a-0.tar::a-1.tar`, or splits numbered in one series) cover it together.
 */
export async function findCoverageGaps(locations: ShardLocation[], baseDir: string): Promise<CoverageGap[]> {
  const bySeries = new Map<string, { folder: string; family: ShardFamily | null; patterns: Set<string>; named: Set<string> }>()
  for (const location of locations) {
    if (location.kind !== 'file' || !location.path) continue
    const folder = dirname(location.path)
    const name = basename(location.path)
    const family = shardFamily(name)
    const id = `${folder}\0${family ? `${family.prefix}\0${family.suffix}` : `\0\0${name}`}`
    const entry = bySeries.get(id) ?? { folder, family, patterns: new Set<string>(), named: new Set<string>() }
    entry.patterns.add(location.pattern)
    entry.named.add(name)
    bySeries.set(id, entry)
  }
  // A file named in another series' line (an odd name a pattern lists) is covered too.
  const allNamed = new Set(locations.filter((l) => l.path).map((l) => l.path!))
  const gaps: CoverageGap[] = []
  for (const { folder, family, patterns, named } of bySeries.values()) {
    const files = (await shardFilesIn(folder)).filter((f) => named.has(f) || (family !== null && numberInFamily(f, family) !== null))
    const uncovered = files.filter((f) => !named.has(f) && !allNamed.has(join(folder, f)))
    if (uncovered.length === 0) continue
    // Relative where the folder is under the base; a path that climbs out ("../../tmp/x") is shown whole.
    const inside = relative(baseDir, folder)
    const shown = inside === '' ? '.' : inside.startsWith('..') || isAbsolute(inside) ? folder : inside
    const list = uncovered.length <= 3 ? uncovered.join(', ') : `${uncovered.slice(0, 3).join(', ')} and ${uncovered.length - 3} more`
    gaps.push({
      pattern: [...patterns].join('::'),
      patterns: [...patterns],
      folder,
      covered: files.length - uncovered.length,
      total: files.length,
      uncovered,
      message: `${patterns.size > 1 ? 'patterns cover' : 'pattern covers'} ${files.length - uncovered.length} of ${files.length} shards in ${shown}: ${list} ${uncovered.length === 1 ? 'is' : 'are'} not covered`
    })
  }
  return gaps
}

/**
 * Inventory a folder (its shard-like files and those in its subfolders, by split) or a
 * pattern (`file:train-{000000..000002}.tar::val/val-000000.tar`, http(s)://, gs://).
 * Throws PatternError for a pattern we refuse; every shard-level failure is a problem.
 */
export async function inventoryShards(patternOrFolder: string, options: InventoryOptions = {}): Promise<Inventory> {
  const baseDir = resolve(options.baseDir ?? process.cwd())
  const asPath = resolve(baseDir, patternOrFolder.replace(/^file:(\/\/)?/, ''))
  const folderMode = !patternOrFolder.includes('::') && !/^[a-z]+:\/\//i.test(patternOrFolder) && (await isFolder(asPath))
  const manifest = folderMode ? await manifestSplits(asPath) : undefined
  const mode: Inventory['mode'] = manifest ? 'dataset' : folderMode ? 'folder' : 'pattern'
  const planned: PlannedShard[] = manifest
    ? manifest.flatMap(({ split, pattern }) => expandPattern(pattern, { baseDir: asPath }).map((location) => ({ location, split })))
    : folderMode
      ? locateFolder(asPath)
      : expandPattern(patternOrFolder, { baseDir }).map((location) => ({ location, split: splitFromName(basename(location.path ?? location.url)) }))
  const coverage = mode === 'folder' ? [] : await findCoverageGaps(planned.map((p) => p.location), mode === 'dataset' ? asPath : baseDir)
  const coverageNotChecked = [...new Set(planned.filter((p) => p.location.kind === 'http').map((p) => p.location.pattern))]
  const copiesNotListed = (manifest ?? []).flatMap(({ split, remote }) => (remote ? [{ split, pattern: remote }] : []))
  const sizes = await Promise.all(planned.map(async ({ location }) => (location.kind === 'file' ? await stat(location.path!).then((s) => s.size, () => 0) : 0)))
  const bytesTotal = sizes.reduce((a, b) => a + b, 0)
  const threads = options.threads ?? Math.max(1, Math.min(availableParallelism(), MAX_THREADS, Math.floor(bytesTotal / BYTES_PER_THREAD)))
  let shardsDone = 0
  let bytesDone = 0
  const { shards, threads: threadsUsed } = await inventoryOnThreads(planned, {
    threads,
    signal: options.signal,
    onShard: (_, shard) => {
      shardsDone++
      bytesDone += shard.bytes
      options.onProgress?.({ shardsDone, shardsTotal: planned.length, bytesDone, bytesTotal: Math.max(bytesTotal, bytesDone), url: shard.url })
    }
  })
  const splits = new Map<string, SplitInventory>()
  for (const shard of shards) {
    const split = splits.get(shard.split) ?? { name: shard.split, expectedSamples: manifest?.find((m) => m.split === shard.split)?.expectedSamples, shards: 0, samples: 0, bytes: 0, unlabelled: 0, classHistogram: [] }
    split.shards++
    split.samples += shard.samples
    split.bytes += shard.bytes
    split.unlabelled += shard.unlabelled
    shard.classHistogram.forEach((count, label) => {
      while (split.classHistogram.length <= label) split.classHistogram.push(0)
      split.classHistogram[label]! += count
    })
    splits.set(shard.split, split)
  }
  return {
    source: patternOrFolder,
    mode,
    shards,
    splits: [...splits.values()],
    coverage,
    coverageNotChecked,
    copiesNotListed,
    totals: {
      shards: shards.length,
      samples: shards.reduce((a, s) => a + s.samples, 0),
      bytes: shards.reduce((a, s) => a + s.bytes, 0),
      problems: shards.reduce((a, s) => a + s.problems.length, 0),
      uncovered: coverage.reduce((a, g) => a + g.uncovered.length, 0)
    },
    threads: threadsUsed
  }
}
