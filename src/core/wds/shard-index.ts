/**
 * Random-access index of a shard: one pass records each sample's key and where its
 * members' bytes are (offsets in the uncompressed tar), so the browser can read sample
 * 87,000 with one positioned read (files) or one Range request (http) instead of scanning.
 * Indexes are cached as JSON in a cache folder, keyed by path+size+mtime (files) or
 * URL+ETag/Last-Modified (http), and written atomically (temp file + rename).
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../atomic-write'
import { SampleGrouper } from './grouping'
import { shardBytes } from './read'
import { judgeScanEnd } from './read-problems'
import { openShard, readShardRange, statShard, type ShardStat } from './sources'
import { scanTar } from './tar-scan'
import type { IndexedSample, ReadProblem, Sample, ShardIndex, ShardLocation } from './types'

export interface IndexShardOptions {
  /** Folder for cached indexes; without it nothing is cached. */
  cacheDir?: string
  signal?: AbortSignal
  /** The shard's size and validator when the caller has just stat'ed it: saves a stat (an HTTP HEAD for remote shards). */
  stat?: ShardStat
}

function cachePath(cacheDir: string, url: string): string {
  return join(cacheDir, createHash('sha256').update(url).digest('hex').slice(0, 32) + '.index.json')
}

async function readCached(path: string, url: string, validator: string): Promise<ShardIndex | null> {
  try {
    const index = JSON.parse(await readFile(path, 'utf8')) as ShardIndex
    return index.version === 1 && index.url === url && index.validator === validator ? index : null
  } catch {
    return null // absent or unreadable cache: rebuild
  }
}

/** Build (or load from cache) the index of one shard. Throws ShardSourceError when it cannot be opened. */
export async function indexShard(location: ShardLocation, options: IndexShardOptions = {}): Promise<ShardIndex> {
  const { bytes, validator } = options.stat ?? (await statShard(location))
  const cached = options.cacheDir ? cachePath(options.cacheDir, location.url) : null
  if (cached) {
    const hit = await readCached(cached, location.url, validator)
    if (hit) return hit
  }
  const problems: ReadProblem[] = []
  const samples: IndexedSample[] = []
  const grouper = new SampleGrouper<[number, number]>(
    location.url,
    (s) => samples.push({ key: s.key, members: s.fields }),
    (p) => problems.push(p)
  )
  const stream = await openShard(location, { signal: options.signal })
  const source = shardBytes(stream as AsyncIterable<Buffer>, { toTheEnd: true })
  let failure: unknown = null
  let scanned
  try {
    scanned = await scanTar(source.chunks, {
      onMember: (member) => {
        const accepted = grouper.accept(member)
        if (accepted) grouper.add(accepted.key, accepted.field, [member.dataOffset, member.size], member.name)
      }
    })
  } catch (error) {
    failure = error
  }
  const end = judgeScanEnd(location.url, scanned, failure, source.start, source.end.severalGzipStreams)
  problems.push(...end.problems)
  // As readSamples does, a sample the bytes ran out in is not indexed.
  grouper.finishAtEnd(end)
  const index: ShardIndex = { version: 1, url: location.url, validator, bytes, compressed: source.start.compressed, samples, problems }
  if (cached && options.cacheDir) {
    await writeFileAtomic(cached, JSON.stringify(index))
  }
  return index
}

/**
 * Read sample `i` using the index. Uncompressed shards: one positioned read (file) or one
 * Range request (http) spanning the sample's members, which are adjacent in the tar.
 * Gzip shards: a deflate stream has no random access points, so we decompress from the
 * start and skip to the sample — correct, and slow for samples deep in a large .tar.gz.
 */
export async function readSampleAt(location: ShardLocation, index: ShardIndex, i: number): Promise<Sample> {
  const entry = index.samples[i]
  if (!entry) throw new RangeError(`${location.url}: sample ${i} is out of range (the shard has ${index.samples.length})`)
  const spans = Object.values(entry.members)
  const start = Math.min(...spans.map(([at]) => at))
  const end = Math.max(...spans.map(([at, size]) => at + size))
  const bytes = index.compressed ? (await readDecompressedSpans(location, [[start, end - start]]))[0]! : await readShardRange(location, start, end - start)
  const fields: Record<string, Uint8Array> = {}
  for (const [field, [at, size]] of Object.entries(entry.members)) fields[field] = bytes.subarray(at - start, at - start + size)
  return { key: entry.key, url: location.url, indexInShard: i, fields }
}

/**
 * Several byte ranges of a gzip shard's uncompressed tar in one pass over the stream (one
 * download for a remote shard), each returned in the order asked; a range past the end fails
 * the call. For the many samples of one compressed shard: labels, a screen of thumbnails.
 */
export async function readDecompressedSpans(location: ShardLocation, spans: ReadonlyArray<readonly [start: number, length: number]>): Promise<Uint8Array[]> {
  if (spans.length === 0) return []
  const order = spans.map((_, i) => i).sort((a, b) => spans[a]![0] - spans[b]![0])
  const out = spans.map(([, length]) => Buffer.alloc(length))
  const filled = spans.map(() => 0)
  let next = 0 // first span (in `order`) not yet complete
  let position = 0
  const stream = await openShard(location)
  try {
    for await (const chunk of shardBytes(stream as AsyncIterable<Buffer>).chunks) {
      const chunkEnd = position + chunk.length
      for (let k = next; k < order.length; k++) {
        const i = order[k]!
        const [start, length] = spans[i]!
        if (start >= chunkEnd) break
        const from = Math.max(start + filled[i]! - position, 0)
        const to = Math.min(start + length - position, chunk.length)
        if (to > from) {
          chunk.copy(out[i]!, filled[i]!, from, to)
          filled[i]! += to - from
        }
      }
      while (next < order.length && filled[order[next]!] === spans[order[next]!]![1]) next++
      position = chunkEnd
      if (next === order.length) break
    }
  } finally {
    stream.destroy()
  }
  if (next < order.length) {
    const [start, length] = spans[order[next]!]!
    throw new RangeError(`${location.url}: expected ${length} bytes at offset ${start}, found ${filled[order[next]!]}`)
  }
  return out
}

