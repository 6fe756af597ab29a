/**
 * Shard writer, like the Python webdataset library's `ShardWriter`: samples go into
 * `train-%06d.tar`-named shards in one folder, a new shard starting when `maxcount`
 * samples or `maxsize` bytes would be exceeded.
 *
 * The bytes are deterministic (same samples → identical shards): one ustar member per
 * field, fields in sorted order, fixed mtime/uid/gid/mode/uname, two zero blocks at the
 * end of the archive. Each shard is written to a temporary file in the same folder and
 * renamed into place when complete, so a reader never sees a half-written shard.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

const BLOCK = 512
/** Samples are gathered up to this many bytes per write call: one fs call per sample costs more than encoding a small one. */
const FLUSH_BYTES = 1 << 20
/** 2020-01-01T00:00:00Z: a fixed mtime so shards are byte-identical across runs. */
const FIXED_MTIME_S = 1577836800
const textEncoder = new TextEncoder()

export interface SampleToWrite {
  /** `__key__`: may contain `/` folders; its basename may not contain `.` (the dot starts the field). */
  key: string
  /** Field extension (`jpg`, `cls`, `seg.png`) → bytes; strings are written as UTF-8. */
  fields: Record<string, Uint8Array | string>
}

export interface ShardWriterOptions {
  /** Folder the shards go into (must exist). */
  dir: string
  /** printf-style name with one `%0Nd`, e.g. `train-%06d.tar`. */
  pattern: string
  /** Most samples per shard (webdataset's default: 100,000). */
  maxcount?: number
  /** Most bytes per shard; a single sample larger than this still gets a shard of its own. */
  maxsize?: number
  /** Number of the first shard (default 0). */
  startShard?: number
}

export interface ShardWritten {
  /** File name inside `dir`. */
  name: string
  path: string
  samples: number
  bytes: number
  /** Keys in the order written. */
  keys: string[]
  /** Byte offset at which each sample ends (after its last member's padding), for planting faults and tests. */
  sampleEnds: number[]
}

/** Why a sample was refused, naming the key and field. */
export class SampleRefused extends Error {
  constructor(
    message: string,
    readonly key: string
  ) {
    super(message)
  }
}

/** Format a shard number into a printf-style pattern (`%06d`, `%d`). */
export function formatShardName(pattern: string, n: number): string {
  const m = /%(0?)(\d*)d/.exec(pattern)
  if (!m) throw new Error(`shard name pattern "${pattern}" has no %d (e.g. "train-%06d.tar")`)
  const width = m[2] ? Number(m[2]) : 0
  const digits = m[1] === '0' ? String(n).padStart(width, '0') : String(n).padStart(width, ' ')
  return pattern.slice(0, m.index) + digits + pattern.slice(m.index + m[0].length)
}

/** A key becomes tar member names: refuse anything a reader would group differently or that escapes the folder. */
export function checkKey(key: string): string | undefined {
  if (key.length === 0) return 'key is empty'
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) return `key "${key}" is an absolute path`
  if (key.includes('\\')) return `key "${key}" contains a backslash`
  if (key.includes('\0')) return `key "${key}" contains a NUL byte`
  const parts = key.split('/')
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return `key "${key}" has an empty, "." or ".." path segment`
  const base = parts[parts.length - 1] ?? ''
  if (base.includes('.')) return `key "${key}" has a "." in its basename; webdataset would split the key there`
  return undefined
}

function checkField(key: string, ext: string): string | undefined {
  if (ext.length === 0) return `sample "${key}": empty field name`
  if (ext.includes('/') || ext.includes('\\') || ext.includes('\0')) return `sample "${key}": field "${ext}" contains a path separator`
  if (ext !== ext.toLowerCase()) return `sample "${key}": field "${ext}" is not lower-case; readers lower-case extensions`
  return undefined
}

function writeString(buf: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = textEncoder.encode(value)
  if (bytes.length > length) throw new Error(`tar header field too long: "${value}"`)
  buf.set(bytes, offset)
}

function writeOctal(buf: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 octal digits, NUL-terminated, as GNU tar and Python's tarfile write them.
  const s = value.toString(8).padStart(length - 1, '0')
  if (s.length > length - 1) throw new Error(`value ${value} does not fit a ${length}-byte tar field`)
  writeString(buf, offset, length, s + '\0')
}

/** Split a member name into ustar prefix (≤155 bytes) and name (≤100 bytes) at a `/`; undefined when it cannot. */
function splitUstarName(name: string): [prefix: string, name: string] | undefined {
  const len = textEncoder.encode(name).length
  if (len <= 100) return ['', name]
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue
    const prefix = name.slice(0, i)
    const rest = name.slice(i + 1)
    if (textEncoder.encode(prefix).length <= 155 && textEncoder.encode(rest).length <= 100) return [prefix, rest]
  }
  return undefined
}

/** One ustar header block. `name` must fit ustar's fields (see splitUstarName). */
function headerBlock(prefix: string, base: string, size: number, type: '0' | 'x'): Uint8Array {
  const h = new Uint8Array(BLOCK)
  writeString(h, 0, 100, base)
  writeOctal(h, 100, 8, 0o644)
  writeOctal(h, 108, 8, 0)
  writeOctal(h, 116, 8, 0)
  writeOctal(h, 124, 12, size)
  writeOctal(h, 136, 12, FIXED_MTIME_S)
  h.fill(0x20, 148, 156) // checksum computed with its own field as spaces
  h[156] = type.charCodeAt(0)
  writeString(h, 257, 6, 'ustar\0')
  writeString(h, 263, 2, '00')
  writeString(h, 265, 32, 'shardscope')
  writeString(h, 297, 32, 'shardscope')
  writeOctal(h, 329, 8, 0)
  writeOctal(h, 337, 8, 0)
  writeString(h, 345, 155, prefix)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += h[i]!
  // Six octal digits, NUL, space: the traditional layout.
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ')
  return h
}

/** A PAX record `LEN path=VALUE\n`, where LEN counts the whole record including its own digits. */
function paxRecord(keyword: string, value: string): Uint8Array {
  const body = ` ${keyword}=${value}\n`
  const bodyBytes = textEncoder.encode(body).length
  let len = bodyBytes + 1
  while (String(len).length + bodyBytes !== len) len = String(len).length + bodyBytes
  return textEncoder.encode(`${len}${body}`)
}

/** One ustar header block for a regular file; throws for a name ustar cannot hold (memberHeaders handles those). */
export function ustarHeader(name: string, size: number): Uint8Array {
  const split = splitUstarName(name)
  if (!split) throw new Error(`member name "${name}" is too long for a ustar header (100-byte name, 155-byte prefix)`)
  return headerBlock(split[0], split[1], size, '0')
}

/**
 * Header block(s) for a regular file: one ustar block, or — for a name too long for
 * ustar — a PAX extended header carrying the full path first (as Python's tarfile and
 * GNU tar write it), then the ustar block with a shortened name.
 */
export function memberHeaders(name: string, size: number): Uint8Array[] {
  const split = splitUstarName(name)
  if (split) return [headerBlock(split[0], split[1], size, '0')]
  const record = paxRecord('path', name)
  const padded = new Uint8Array(paddedSize(record.length))
  padded.set(record)
  const short = new TextDecoder().decode(textEncoder.encode(name).slice(-100)).replace(/^\uFFFD+/, '')
  return [headerBlock('', '././@PaxHeader', record.length, 'x'), padded, headerBlock('', short, size, '0')]
}

function paddedSize(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK
}

/** The tar bytes of one sample: a header and padded data per field, fields sorted. */
export function encodeSample(sample: SampleToWrite): Uint8Array[] {
  const why = checkKey(sample.key)
  if (why) throw new SampleRefused(why, sample.key)
  const exts = Object.keys(sample.fields).sort()
  if (exts.length === 0) throw new SampleRefused(`sample "${sample.key}" has no fields`, sample.key)
  const chunks: Uint8Array[] = []
  for (const ext of exts) {
    const bad = checkField(sample.key, ext)
    if (bad) throw new SampleRefused(bad, sample.key)
    const value = sample.fields[ext]!
    const data = typeof value === 'string' ? textEncoder.encode(value) : value
    chunks.push(...memberHeaders(`${sample.key}.${ext}`, data.length))
    chunks.push(data)
    const pad = paddedSize(data.length) - data.length
    if (pad > 0) chunks.push(new Uint8Array(pad))
  }
  return chunks
}

interface OpenShard {
  name: string
  path: string
  tmpPath: string
  file: FileHandle
  samples: number
  bytes: number
  keys: string[]
  sampleEnds: number[]
  pending: Uint8Array[]
  pendingBytes: number
}

export class ShardWriter {
  private readonly maxcount: number
  private readonly maxsize: number
  private next: number
  private current: OpenShard | undefined
  private readonly done: ShardWritten[] = []
  private closed = false

  constructor(private readonly options: ShardWriterOptions) {
    this.maxcount = options.maxcount ?? 100_000
    this.maxsize = options.maxsize ?? 3e9
    this.next = options.startShard ?? 0
    if (!(this.maxcount >= 1)) throw new Error(`maxcount must be at least 1, got ${this.maxcount}`)
    formatShardName(options.pattern, 0) // fail early on a bad pattern
  }

  /** Append one sample; starts a new shard when this one would pass maxcount or maxsize. */
  async write(sample: SampleToWrite): Promise<void> {
    if (this.closed) throw new Error('ShardWriter is closed')
    const chunks = encodeSample(sample)
    const size = chunks.reduce((n, c) => n + c.length, 0)
    const cur = this.current
    // The end-of-archive blocks count towards maxsize too: the file on disk must stay under it.
    if (cur && (cur.samples >= this.maxcount || cur.bytes + size + 2 * BLOCK > this.maxsize)) {
      await this.finishShard()
    }
    const shard = this.current ?? (await this.startShard())
    shard.pending.push(...chunks)
    shard.pendingBytes += size
    if (shard.pendingBytes >= FLUSH_BYTES) await this.flush(shard)
    shard.bytes += size
    shard.samples += 1
    shard.keys.push(sample.key)
    shard.sampleEnds.push(shard.bytes)
  }

  /** Finish the last shard and return every shard written. */
  async close(): Promise<ShardWritten[]> {
    if (!this.closed) {
      this.closed = true
      await this.finishShard()
    }
    return this.done
  }

  /** Abandon the shard being written (its temporary file is removed); finished shards stay. */
  async abort(): Promise<void> {
    this.closed = true
    const cur = this.current
    this.current = undefined
    if (cur) {
      await cur.file.close().catch(() => undefined)
      await rm(cur.tmpPath, { force: true })
    }
  }

  private async startShard(): Promise<OpenShard> {
    const name = formatShardName(this.options.pattern, this.next++)
    const path = join(this.options.dir, name)
    const tmpPath = join(this.options.dir, `.${name}.${process.pid}.tmp`)
    const file = await open(tmpPath, 'w')
    this.current = { name, path, tmpPath, file, samples: 0, bytes: 0, keys: [], sampleEnds: [], pending: [], pendingBytes: 0 }
    return this.current
  }

  private async flush(shard: OpenShard): Promise<void> {
    const chunks = shard.pending
    shard.pending = []
    shard.pendingBytes = 0
    // writev takes at most IOV_MAX (1024 on Linux) buffers per call.
    for (let i = 0; i < chunks.length; i += 1024) await shard.file.writev(chunks.slice(i, i + 1024))
  }

  private async finishShard(): Promise<void> {
    const cur = this.current
    if (!cur) return
    this.current = undefined
    try {
      cur.pending.push(new Uint8Array(2 * BLOCK))
      await this.flush(cur)
      cur.bytes += 2 * BLOCK
      await cur.file.close()
      await rename(cur.tmpPath, cur.path)
    } catch (err) {
      await cur.file.close().catch(() => undefined)
      await rm(cur.tmpPath, { force: true })
      throw err
    }
    this.done.push({ name: cur.name, path: cur.path, samples: cur.samples, bytes: cur.bytes, keys: cur.keys, sampleEnds: cur.sampleEnds })
  }
}
