/**
 * The dataset cache file: every shard's index and labels from the last open of a
 * dataset, so that reopening a 110,000-sample dataset reads one file instead of 110
 * shards (or 330 per-shard caches). Each entry is used only if its shard is unchanged
 * (the registry compares validators).
 *
 * Reading it is on the way to the grid's first page, so only what every open needs is
 * read at once: the header (each shard's url, validator, counts) and the labels. Each
 * shard's member spans and keys (5 MB of the 5.5 MB for 110,000 samples; fresh memory
 * costs ≈ 3 ms per MB to touch on a small VM) are read when something first asks for
 * that shard's samples, and all of them some seconds later in the background, after
 * which the file is closed.
 *
 * Layout: the magic, the header's length (u32 LE) and 4 bytes of padding, the header
 * (JSON), padding to 8 bytes, every shard's labels (int32), padding to 8 bytes, then per
 * shard its spans (float64) and its keys (UTF-8, each ended by NUL), padded to 8 bytes.
 */
import { readSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type { IndexedSample, ReadProblem, ShardIndex } from '../wds/types'

/**
 * A shard's index and class labels as the cache keeps them: a few columns instead of an
 * object per sample; the per-sample entries (ShardIndex.samples) are made only when
 * something reads that shard's samples.
 */
export interface CachedShard {
  url: string
  validator: string
  bytes: number
  compressed: boolean
  problems: ReadProblem[]
  /** Every member name the shard's samples have, sorted. */
  fields: string[]
  count: number
  labels: Int32Array
  /** Per sample, per name in `fields`: offset and size in the tar, or −1, −1 when the sample lacks it. */
  spans(): Float64Array
  /** The samples' keys, each followed by a NUL (a tar name cannot hold one), as UTF-8. */
  keyBytes(): Uint8Array
  keys(): string[]
}

const magic = 'SSDSCAC4'
/**
 * When the spans and keys not asked for yet are read: well after the open, whose first
 * screens read only their own shards. Read a second after, they held up a jump made at
 * that moment by ≈ 40 ms.
 */
const defaultRestAfterMs = 10_000

type CacheHeader = { labelField: string | null; shards: Array<Pick<CachedShard, 'url' | 'validator' | 'bytes' | 'compressed' | 'problems' | 'fields' | 'count'> & { keyLength: number }> }

/** A shard read now, in the cache's form. */
export function compactShard(index: ShardIndex, labels: Int32Array): CachedShard {
  const names = new Set<string>()
  for (const sample of index.samples) for (const f in sample.members) names.add(f)
  const fields = [...names].sort()
  const spans = new Float64Array(index.samples.length * fields.length * 2)
  index.samples.forEach((sample, j) => {
    fields.forEach((f, k) => {
      const span = sample.members[f]
      spans[(j * fields.length + k) * 2] = span ? span[0] : -1
      spans[(j * fields.length + k) * 2 + 1] = span ? span[1] : -1
    })
  })
  const { url, validator, bytes, compressed, problems } = index
  const keys = index.samples.map((x) => x.key)
  let keyBytes: Uint8Array | null = null
  return {
    url,
    validator,
    bytes,
    compressed,
    problems,
    fields,
    count: keys.length,
    labels,
    spans: () => spans,
    keyBytes: () => (keyBytes ??= new TextEncoder().encode(keys.map((key) => `${key}\0`).join(''))),
    keys: () => keys
  }
}

/** Where sample `j` has field number `k` (of `fieldCount`) in a CachedShard's spans, or null when it lacks it. */
export function spanAt(spans: Float64Array, fieldCount: number, j: number, k: number): [offset: number, size: number] | null {
  const at = (j * fieldCount + k) * 2
  return spans[at]! >= 0 ? [spans[at]!, spans[at + 1]!] : null
}

/** The ShardIndex of a cached shard; its samples are built on first read. */
export function expandShard(c: CachedShard): ShardIndex {
  let samples: IndexedSample[] | null = null
  const build = (): IndexedSample[] => {
    const spans = c.spans()
    return c.keys().map((key, j) => {
      const members: Record<string, [number, number]> = {}
      c.fields.forEach((f, k) => {
        const span = spanAt(spans, c.fields.length, j, k)
        if (span) members[f] = span
      })
      return { key, members }
    })
  }
  const index = { version: 1, url: c.url, validator: c.validator, bytes: c.bytes, compressed: c.compressed, problems: c.problems } as Omit<ShardIndex, 'samples'>
  return Object.defineProperty(index, 'samples', { enumerable: true, get: () => (samples ??= build()) }) as ShardIndex
}

/** The cache file's bytes for these shards. */
export function encodeDatasetCache(labelField: string | null, shards: CachedShard[]): Uint8Array {
  const keyBlocks = shards.map((c) => c.keyBytes())
  const header: CacheHeader = {
    labelField,
    shards: shards.map(({ url, validator, bytes, compressed, problems, fields, count }, i) => ({ url, validator, bytes, compressed, problems, fields, count, keyLength: keyBlocks[i]!.length }))
  }
  const headerBytes = Buffer.from(JSON.stringify(header))
  const layout = layoutOf(headerBytes.length, header)
  const out = Buffer.alloc(layout.end)
  out.write(magic, 0, 'latin1')
  out.writeUInt32LE(headerBytes.length, 8)
  headerBytes.copy(out, 16)
  let at = layout.labelsAt
  for (const c of shards) at = copyInto(out, at, c.labels)
  shards.forEach((c, i) => {
    copyInto(out, layout.blocks[i]!.spansAt, c.spans())
    copyInto(out, layout.blocks[i]!.keysAt, keyBlocks[i]!)
  })
  return out
}

interface Layout {
  labelsAt: number
  blocks: Array<{ spansAt: number; spansLength: number; keysAt: number; keyLength: number; end: number }>
  end: number
}

function layoutOf(headerLength: number, header: CacheHeader): Layout {
  const labelsAt = align8(16 + headerLength)
  let at = align8(labelsAt + header.shards.reduce((n, c) => n + c.count * 4, 0))
  const blocks = header.shards.map((c) => {
    const spansLength = c.count * c.fields.length * 2 * 8
    const block = { spansAt: at, spansLength, keysAt: at + spansLength, keyLength: c.keyLength, end: align8(at + spansLength + c.keyLength) }
    at = block.end
    return block
  })
  return { labelsAt, blocks, end: at }
}

/**
 * The cache's shards by url, or null when there is no cache, it is not one this version
 * wrote, its label field differs, or it is damaged (cut short, a header that does not
 * parse): then every shard is read again. Spans and keys come later (see above); the
 * file stays open until they are all in.
 */
export async function readDatasetCache(path: string, labelField: string | null, { restAfterMs = defaultRestAfterMs } = {}): Promise<Map<string, CachedShard> | null> {
  const file = await open(path, 'r').catch(() => null)
  if (!file) return null
  let handedOver = false
  try {
    const size = (await file.stat()).size
    const front = await readAt(file, 0, Math.min(size, 64 * 1024))
    if (front.length < 16 || Buffer.from(front.buffer, front.byteOffset, 8).toString('latin1') !== magic) return null
    const headerLength = Buffer.from(front.buffer, front.byteOffset, front.length).readUInt32LE(8)
    if (16 + headerLength > size) return null
    const headerBytes = 16 + headerLength <= front.length ? front.subarray(16, 16 + headerLength) : await readAt(file, 16, headerLength)
    const header = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.length).toString('utf8')) as CacheHeader
    if (header.labelField !== labelField) return null
    const layout = layoutOf(headerLength, header)
    if (layout.end !== size) return null
    const labelsTotal = header.shards.reduce((n, c) => n + c.count, 0)
    const labels = new Int32Array((await readAt(file, layout.labelsAt, labelsTotal * 4)).buffer, 0, labelsTotal)

    /** Each shard's spans and key bytes, once read. */
    const loaded: Array<{ spans: Float64Array; keyBytes: Uint8Array } | undefined> = []
    let failure: Error | null = null
    const block = (i: number) => layout.blocks[i]!
    const take = (i: number, bytes: Uint8Array): void => {
      const b = block(i)
      loaded[i] ??= { spans: new Float64Array(bytes.buffer, bytes.byteOffset, b.spansLength / 8), keyBytes: bytes.subarray(b.spansLength, b.spansLength + b.keyLength) }
    }
    const load = (i: number): { spans: Float64Array; keyBytes: Uint8Array } => {
      if (!loaded[i]) {
        if (failure) throw new Error(`The dataset cache ${path} could not be read (${failure.message}); open the dataset again.`)
        const b = block(i)
        const bytes = new Uint8Array(b.keysAt + b.keyLength - b.spansAt)
        for (let done = 0; done < bytes.length; ) {
          const n = readSync(file.fd, bytes, done, bytes.length - done, b.spansAt + done)
          if (n === 0) throw new Error(`The dataset cache ${path} ends early; open the dataset again.`)
          done += n
        }
        take(i, bytes)
      }
      return loaded[i]!
    }
    const shards = new Map<string, CachedShard>()
    let labelAt = 0
    header.shards.forEach(({ keyLength: _keyLength, ...h }, i) => {
      let keys: string[] | null = null
      shards.set(h.url, {
        ...h,
        labels: labels.subarray(labelAt, (labelAt += h.count)),
        spans: () => load(i).spans,
        keyBytes: () => load(i).keyBytes,
        keys: () => (keys ??= h.count === 0 ? [] : new TextDecoder().decode(load(i).keyBytes.subarray(0, -1)).split('\0'))
      })
    })
    // The rest in the background, a shard at a time, well after the open; then the file is closed.
    handedOver = true
    const loadRest = async (): Promise<void> => {
      try {
        for (let i = 0; i < layout.blocks.length; i++) {
          if (loaded[i]) continue
          const b = block(i)
          take(i, await readAt(file, b.spansAt, b.keysAt + b.keyLength - b.spansAt))
        }
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err))
      } finally {
        await file.close().catch(() => undefined)
      }
    }
    // Not keeping a process alive for it: the file closes with the process.
    setTimeout(() => void loadRest(), restAfterMs).unref()
    return shards
  } catch {
    return null
  } finally {
    if (!handedOver) await file.close().catch(() => undefined)
  }
}

/** `length` bytes at `position`, in memory of their own (so typed arrays over them are aligned). */
async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await file.read(bytes, done, length - done, position + done)
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`)
    done += bytesRead
  }
  return bytes
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8
}

function copyInto(out: Buffer, at: number, values: Float64Array | Int32Array | Uint8Array): number {
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at)
  return at + values.byteLength
}
