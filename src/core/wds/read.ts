/**
 * Stream a shard's samples: bytes (file or http, gzip detected by its magic bytes) →
 * tar members (tar-stream, which handles the PAX and GNU long-name headers Python writes)
 * → samples by the webdataset rule. Each member is drained before the next is parsed, so
 * memory stays bounded by the largest member we agree to buffer (`maxMemberBytes`).
 */
import { Readable, pipeline as streamPipeline } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { extract as tarExtract, type Header } from 'tar-stream'
import { SampleGrouper, type GroupedSample } from './grouping'
import { openShard } from './sources'
import { DEFAULT_MAX_MEMBER_BYTES, describeReadFailure, emptyShard, missingEndMarker, severalGzipStreams, type ShardStart } from './read-problems'
import type { ReadProblem, Sample, ShardLocation, TarMember } from './types'

export interface ReadSamplesOptions {
  onProblem?: (problem: ReadProblem) => void
  signal?: AbortSignal
  /** Members larger than this are reported and skipped rather than buffered (default 64 MiB). */
  maxMemberBytes?: number
}

const GZIP_MAGIC_0 = 0x1f
const GZIP_MAGIC_1 = 0x8b

/** The decompressed bytes of a shard, plus what was seen of its start (for telling "not a tar" from "truncated"). */
export interface ShardBytes {
  chunks: AsyncGenerator<Buffer>
  /** Filled once the first bytes have been read. */
  start: ShardStart
  /**
   * After the last chunk: whether the tar ends with the two zero blocks of its end-of-archive
   * marker, and whether a gzip shard is several gzip streams one after another (see
   * `severalGzipStreams`; known once its bytes have been read to their end).
   */
  end: { zeroBlocks: boolean; severalGzipStreams: boolean }
}

export interface ShardBytesOptions {
  /**
   * A reader that stops at the tar's end marker still reads the shard to its end: a gzip
   * shard's `end.severalGzipStreams` is known then, and a hash of the source's bytes is
   * whole (the bytes after the marker are the record padding, unless several gzip streams
   * were joined). Not for readers that stop midway on purpose (one sample of a .tar.gz).
   */
  toTheEnd?: boolean
}

/** Decompress when the first two bytes are gzip's magic, whatever the file is called. */
export function shardBytes(source: AsyncIterable<Buffer>, options: ShardBytesOptions = {}): ShardBytes {
  const start: ShardBytes['start'] = { compressed: false, firstBlock: null }
  const end: ShardBytes['end'] = { zeroBlocks: false, severalGzipStreams: false }
  async function* raw(): AsyncGenerator<Buffer> {
    const iterator = source[Symbol.asyncIterator]()
    let head = Buffer.alloc(0)
    while (head.length < 2) {
      const next = await iterator.next()
      if (next.done) break
      head = Buffer.concat([head, next.value])
    }
    start.compressed = head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1
    // The last compressed chunks, for the gzip trailer (the file's chunks are not reused).
    const lastChunks: Buffer[] = []
    async function* all(): AsyncGenerator<Buffer> {
      if (start.compressed) lastChunks.push(head)
      if (head.length) yield head
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        if (start.compressed) {
          lastChunks.push(next.value)
          if (lastChunks.length > 2) lastChunks.shift()
        }
        yield next.value
      }
    }
    let first: Buffer = Buffer.alloc(0)
    // Joined by pipeline, not pipe: a reader that stops early (readSampleAt on a gzipped
    // shard) ends the source while it is being read, and the source's "premature close"
    // then goes to pipeline's callback instead of an 'error' event nobody listens to (an
    // uncaught exception, which ends a serve host's process). A real read error still
    // reaches the loop below, through the gunzip stream it destroys.
    const plain = start.compressed ? (streamPipeline(Readable.from(all()), createGunzip({ chunkSize: 1 << 16 }), () => undefined) as AsyncIterable<Buffer>) : all()
    let tail = Buffer.alloc(0)
    let total = 0
    const chunks = plain[Symbol.asyncIterator]()
    let atEnd = false
    let failed = false
    try {
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        const chunk = next.value
        if (first.length < 512) {
          first = Buffer.concat([first, chunk.subarray(0, 512 - first.length)])
          start.firstBlock = first
        }
        tail = chunk.length >= 1024 ? Buffer.from(chunk.subarray(chunk.length - 1024)) : Buffer.concat([tail, chunk]).subarray(-1024)
        total += chunk.length
        yield chunk
      }
      atEnd = true
      end.zeroBlocks = tail.length === 1024 && tail.every((b) => b === 0)
    } catch (error) {
      failed = true
      throw error
    } finally {
      // The reader stopped early (at the end marker): the shard is read on to its end here
      // when asked; damage after the marker is not the reader's, and leaves nothing to judge.
      if (!atEnd && !failed && options.toTheEnd) {
        try {
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) total += next.value.length
          atEnd = true
        } catch {
          // atEnd stays false
        }
      }
      if (!atEnd) await chunks.return?.()
      if (start.compressed && atEnd) end.severalGzipStreams = !gzipTrailerMatches(Buffer.concat(lastChunks), total)
      // A reader that stops at the end marker leaves the record padding unread: close the
      // source now (a file stream's handle would otherwise wait for garbage collection).
      await iterator.return?.()
    }
  }
  return { chunks: raw(), start, end }
}

/**
 * Whether a gzip file's trailer holds the length of all the data it decompressed to (modulo
 * 2^32), as it does for one gzip stream; zero bytes after the trailer (padding, which gzip
 * readers accept) are passed over. False when the trailer holds another length: the file is
 * several gzip streams one after another (`cat a.tar.gz b.tar.gz`, bgzip), and the trailer
 * is the last stream's. When a run of zeros reaches past `tail`, it cannot be told: true.
 */
export function gzipTrailerMatches(tail: Buffer, decompressedBytes: number): boolean {
  const want = decompressedBytes % 2 ** 32
  for (let end = tail.length; end >= 8; end--) {
    if (tail.readUInt32LE(end - 4) === want) return true
    if (tail[end - 1] !== 0) return false
  }
  return tail.every((b) => b === 0)
}

function memberType(type: Header['type']): TarMember['type'] {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file'
    case 'directory':
      return 'directory'
    case 'symlink':
      return 'symlink'
    case 'link':
      return 'link'
    default:
      return 'other'
  }
}

/**
 * Read a shard's samples in order. Problems (skipped members, truncation, not a tar, ...)
 * go to `onProblem`; reading stops at the first unreadable byte but every complete sample
 * before it is yielded. Throws only when the shard cannot be opened at all (ShardSourceError).
 */
export async function* readSamples(location: ShardLocation, options: ReadSamplesOptions = {}): AsyncGenerator<Sample> {
  const source = await openShard(location, { signal: options.signal })
  try {
    yield* readOpenedShard(location, source, options)
  } finally {
    // A consumer that stops early (break, return, an error) leaves the stream paused
    // mid-shard; destroying it closes the file (or socket) now, not at garbage collection.
    source.destroy()
  }
}

async function* readOpenedShard(location: ShardLocation, source: Readable, options: ReadSamplesOptions): AsyncGenerator<Sample> {
  const maxMemberBytes = options.maxMemberBytes ?? DEFAULT_MAX_MEMBER_BYTES
  const onProblem = options.onProblem ?? (() => {})
  const bytes = shardBytes(source as AsyncIterable<Buffer>)
  const extract = tarExtract()
  const ready: GroupedSample<Uint8Array>[] = []
  const grouper = new SampleGrouper<Uint8Array>(location.url, (s) => ready.push(s), onProblem)
  let membersSeen = 0
  /** The member being read, until it is whole. */
  let reading: string | undefined
  let failure: unknown = null
  const feeding = pipeline(Readable.from(bytes.chunks), extract).catch((error: unknown) => {
    failure = error
  })
  const toSample = (s: GroupedSample<Uint8Array>): Sample => ({ key: s.key, url: location.url, indexInShard: s.indexInShard, fields: s.fields })
  try {
    for await (const entry of extract) {
      const header = entry.header
      reading = header.name
      const accepted = grouper.accept({ name: header.name, type: memberType(header.type) })
      const size = header.size ?? 0
      if (!accepted || size > maxMemberBytes) {
        if (accepted) {
          const problem: ReadProblem = { url: location.url, kind: 'member-too-large', member: header.name, key: accepted.key, message: `member "${header.name}" is ${size} bytes, over the ${maxMemberBytes}-byte limit: skipped` }
          grouper.problems.push(problem)
          onProblem(problem)
        }
        entry.resume()
        await new Promise<void>((done) => entry.on('end', done).on('error', () => done()))
      } else {
        grouper.begin(accepted.key, accepted.field, header.name)
        while (ready.length) yield toSample(ready.shift()!)
        const data = Buffer.allocUnsafe(size)
        let filled = 0
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          chunk.copy(data, filled)
          filled += chunk.length
        }
        grouper.put(accepted.field, data.subarray(0, filled))
      }
      membersSeen++
      reading = undefined
      while (ready.length) yield toSample(ready.shift()!)
    }
  } catch (error) {
    failure ??= error
  }
  await feeding
  if (failure && (failure as Error).name !== 'AbortError') {
    const problem = describeReadFailure(location.url, failure, bytes.start, membersSeen, reading)
    // The sample being built when the bytes ran out is incomplete: not handed out.
    onProblem(problem)
  } else {
    grouper.finish()
    while (ready.length) yield toSample(ready.shift()!)
    if (membersSeen === 0 && !options.signal?.aborted) {
      onProblem(emptyShard(location.url))
    } else if (!bytes.end.zeroBlocks && !options.signal?.aborted) {
      onProblem(missingEndMarker(location.url, membersSeen))
    }
    if (bytes.end.severalGzipStreams) onProblem(severalGzipStreams(location.url))
  }
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted')
}
