/**
 * Shard inventory: for each shard of a pattern or folder, its size, sample count, fields,
 * class histogram (from `cls`), first and last key and read problems; and for patterns,
 * the shard-like files next to the named shards that the pattern does not cover (the
 * post-mortem's "pattern covers 1 of 2 shards").
 *
 * Speed: an uncompressed local shard is read in large sequential reads into one reused
 * buffer and only its 512-byte headers are parsed (src/core/wds/tar-scan.ts); only the
 * tiny `cls` members' bytes are copied. That keeps the inventory near the speed of
 * `cat` and its memory flat whatever the shard size.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { parseInteger } from '../wds/fields'
import { SampleGrouper } from '../wds/grouping'
import { expandPattern } from '../wds/patterns'
import { judgeScanEnd, shardBytes } from '../wds/read'
import { openShard, ShardSourceError, statShard } from '../wds/sources'
import { scanTar, type TarScanResult } from '../wds/tar-scan'
import type { ReadProblem, ShardLocation } from '../wds/types'

export const SHARD_FILE = /\.(tar|tar\.gz|tgz)$/i
const READ_CHUNK_BYTES = 4 * 1024 * 1024
/** `cls` members longer than this are not labels we can parse anyway. */
const MAX_LABEL_BYTES = 64

export interface ShardInventory {
  /** Split the shard belongs to: its subfolder in folder mode, else the shard name's prefix (`train-000001.tar` → train). */
  split: string
  /** File name (last path segment). */
  name: string
  url: string
  pattern: string
  bytes: number
  compressed: boolean
  samples: number
  /** Field extension → number of samples that have it. */
  fields: Record<string, number>
  /** Samples per class id (index = class id), from `cls` fields that hold a non-negative integer. */
  classHistogram: number[]
  /** Samples whose `cls` is missing, not an integer, or negative. */
  unlabelled: number
  firstKey: string | null
  lastKey: string | null
  problems: ReadProblem[]
}

export interface CoverageGap {
  pattern: string
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
  shards: number
  samples: number
  bytes: number
  classHistogram: number[]
}

export interface Inventory {
  /** What the user asked for, as given. */
  source: string
  mode: 'folder' | 'pattern'
  shards: ShardInventory[]
  splits: SplitInventory[]
  coverage: CoverageGap[]
  totals: { shards: number; samples: number; bytes: number; problems: number; uncovered: number }
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
}

/** Split name from a shard file name: `train-000001.tar` → train, `val.tar.gz` → val. */
export function splitFromName(name: string): string {
  const stem = name.replace(SHARD_FILE, '')
  return stem.replace(/[-_.]?\d+$/, '') || stem
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
async function locateFolder(folder: string): Promise<{ location: ShardLocation; split: string }[]> {
  const found: { location: ShardLocation; split: string }[] = []
  for (const name of await shardFilesIn(folder)) {
    const path = join(folder, name)
    found.push({ location: { url: path, kind: 'file', path, pattern: folder }, split: splitFromName(name) })
  }
  const subfolders = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  for (const sub of subfolders) {
    for (const name of await shardFilesIn(join(folder, sub))) {
      const path = join(folder, sub, name)
      found.push({ location: { url: path, kind: 'file', path, pattern: folder }, split: sub })
    }
  }
  return found
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Which shard-like files beside each pattern's local shards the pattern leaves out. */
export async function findCoverageGaps(locations: ShardLocation[], baseDir: string): Promise<CoverageGap[]> {
  const byPatternFolder = new Map<string, { pattern: string; folder: string; named: Set<string> }>()
  for (const location of locations) {
    if (location.kind !== 'file' || !location.path) continue
    const folder = dirname(location.path)
    const id = `${location.pattern}\0${folder}`
    const entry = byPatternFolder.get(id) ?? { pattern: location.pattern, folder, named: new Set<string>() }
    entry.named.add(basename(location.path))
    byPatternFolder.set(id, entry)
  }
  // A file named by another pattern (e.g. `a::b`) is covered too.
  const allNamed = new Set(locations.filter((l) => l.path).map((l) => l.path!))
  const gaps: CoverageGap[] = []
  for (const { pattern, folder, named } of byPatternFolder.values()) {
    const files = await shardFilesIn(folder)
    if (files.length === 0) continue
    const uncovered = files.filter((f) => !named.has(f) && !allNamed.has(join(folder, f)))
    if (uncovered.length === 0) continue
    const covered = files.filter((f) => named.has(f)).length
    const shown = relative(baseDir, folder) || '.'
    const list = uncovered.length <= 3 ? uncovered.join(', ') : `${uncovered.slice(0, 3).join(', ')} and ${uncovered.length - 3} more`
    gaps.push({
      pattern,
      folder,
      covered,
      total: files.length,
      uncovered,
      message: `pattern covers ${covered} of ${files.length} shards in ${shown}: ${list} ${uncovered.length === 1 ? 'is' : 'are'} not covered`
    })
  }
  return gaps
}

/** Read buffers reused across shards (one per shard being read at the same time), so GC stays quiet. */
const spareReadBuffers: Buffer[] = []

/**
 * Large sequential reads into one reused buffer (the scanner copies what it keeps).
 * Synchronous reads: measured on 474 MB / 110 shards, they cost 10–20% less CPU than
 * double-buffered async reads (no thread-pool hop and copy hand-off per chunk), with the
 * same wall time. The event loop still gets a turn between 4 MiB chunks, so a server
 * running an inventory stays responsive (a very slow network file system would make each
 * turn wait for one chunk).
 */
async function* readFileChunks(fd: number, buffer: Buffer, firstLength: number): AsyncGenerator<Buffer> {
  let length = firstLength
  let position = firstLength
  while (length > 0) {
    yield buffer.subarray(0, length)
    await new Promise((resume) => setImmediate(resume))
    length = readSync(fd, buffer, 0, buffer.length, position)
    position += length
  }
}

/** Inventory one shard; never throws for a shard that cannot be read (it becomes a problem). */
export async function inventoryShard(location: ShardLocation, split: string): Promise<ShardInventory> {
  const name = decodeURIComponent(basename(location.path ?? new URL(location.url).pathname))
  const result: ShardInventory = {
    split,
    name,
    url: location.url,
    pattern: location.pattern,
    bytes: 0,
    compressed: false,
    samples: 0,
    fields: {},
    classHistogram: [],
    unlabelled: 0,
    firstKey: null,
    lastKey: null,
    problems: []
  }
  const grouper = new SampleGrouper<Buffer | undefined>(
    location.url,
    (sample) => {
      result.samples++
      result.firstKey ??= sample.key
      result.lastKey = sample.key
      for (const field in sample.fields) result.fields[field] = (result.fields[field] ?? 0) + 1
      const cls = sample.fields.cls
      const label = cls ? parseInteger(cls) : null
      if (label === null || label < 0) result.unlabelled++
      else {
        while (result.classHistogram.length <= label) result.classHistogram.push(0)
        result.classHistogram[label]!++
      }
    },
    (problem) => result.problems.push(problem)
  )
  const scanOptions = {
    onMember: (member: { name: string; type: 'file' | 'directory' | 'symlink' | 'link' | 'other'; size: number }, data: Buffer | undefined) => {
      const accepted = grouper.accept(member)
      if (accepted) grouper.add(accepted.key, accepted.field, data, member.name)
    },
    wantData: (memberName: string, size: number) => size <= MAX_LABEL_BYTES && /\.cls$/i.test(memberName)
  }
  let scanned: TarScanResult | undefined
  let failure: unknown = null
  let start: { compressed: boolean; firstBlock: Buffer | null } = { compressed: false, firstBlock: null }
  try {
    let gzipFile = false
    if (location.kind === 'file') {
      let fd: number
      try {
        fd = openSync(location.path ?? location.url, 'r')
      } catch (error) {
        throw new ShardSourceError(`${location.url}: cannot open (${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message})`, location.url)
      }
      try {
        result.bytes = fstatSync(fd).size
        const buffer = spareReadBuffers.pop() ?? Buffer.allocUnsafe(READ_CHUNK_BYTES)
        try {
          const firstLength = readSync(fd, buffer, 0, buffer.length, 0)
          gzipFile = firstLength >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
          if (!gzipFile) scanned = await scanTar(readFileChunks(fd, buffer, firstLength), scanOptions)
        } finally {
          spareReadBuffers.push(buffer)
        }
      } finally {
        closeSync(fd)
      }
    }
    if (location.kind !== 'file' || gzipFile) {
      if (location.kind !== 'file') result.bytes = (await statShard(location)).bytes
      const bytes = shardBytes((await openShard(location)) as AsyncIterable<Buffer>)
      start = bytes.start
      scanned = await scanTar(bytes.chunks, scanOptions)
    }
  } catch (error) {
    if (error instanceof ShardSourceError) {
      result.problems.push({ url: location.url, kind: 'unreadable', message: error.message })
      return result
    }
    failure = error
  }
  result.compressed = start.compressed
  const { problem, lastSampleWhole } = judgeScanEnd(location.url, scanned, failure, start)
  if (lastSampleWhole) grouper.finish()
  if (problem) result.problems.push(problem)
  return result
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
  const planned = folderMode
    ? await locateFolder(asPath)
    : expandPattern(patternOrFolder, { baseDir }).map((location) => ({ location, split: splitFromName(basename(location.path ?? location.url)) }))
  const coverage = folderMode ? [] : await findCoverageGaps(planned.map((p) => p.location), baseDir)
  const sizes = await Promise.all(planned.map(async ({ location }) => (location.kind === 'file' ? await stat(location.path!).then((s) => s.size, () => 0) : 0)))
  const bytesTotal = sizes.reduce((a, b) => a + b, 0)
  const shards: ShardInventory[] = []
  let bytesDone = 0
  for (const { location, split } of planned) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted')
    const shard = await inventoryShard(location, split)
    shards.push(shard)
    bytesDone += shard.bytes
    options.onProgress?.({ shardsDone: shards.length, shardsTotal: planned.length, bytesDone, bytesTotal: Math.max(bytesTotal, bytesDone), url: location.url })
  }
  const splits = new Map<string, SplitInventory>()
  for (const shard of shards) {
    const split = splits.get(shard.split) ?? { name: shard.split, shards: 0, samples: 0, bytes: 0, classHistogram: [] }
    split.shards++
    split.samples += shard.samples
    split.bytes += shard.bytes
    shard.classHistogram.forEach((count, label) => {
      while (split.classHistogram.length <= label) split.classHistogram.push(0)
      split.classHistogram[label]! += count
    })
    splits.set(shard.split, split)
  }
  return {
    source: patternOrFolder,
    mode: folderMode ? 'folder' : 'pattern',
    shards,
    splits: [...splits.values()],
    coverage,
    totals: {
      shards: shards.length,
      samples: shards.reduce((a, s) => a + s.samples, 0),
      bytes: shards.reduce((a, s) => a + s.bytes, 0),
      problems: shards.reduce((a, s) => a + s.problems.length, 0),
      uncovered: coverage.reduce((a, g) => a + g.uncovered.length, 0)
    }
  }
}
