/**
 * Shard sources: open a shard's bytes as a stream from a file or over HTTP(S), whole or as
 * a byte range, and learn its size and cache validator. Like webdataset's `gopen.py`, this
 * module only opens bytes; it knows nothing about tar.
 */
import { open, stat } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { Readable, Transform } from 'node:stream'
import type { ShardLocation } from './types'
import { cannotOpenShard, shardIsAFolder } from './read-problems'

/** A shard that cannot be opened or read: names the URL and, for HTTP, the status. */
export class ShardSourceError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number
  ) {
    super(message)
  }
}

export interface ShardStat {
  bytes: number
  /** Changes when the shard's bytes may have changed: size+mtime for files, ETag or Last-Modified for http. */
  validator: string
}

export interface OpenShardOptions {
  /** First byte to read (default 0). */
  start?: number
  /** Number of bytes to read from start (default: to the end). */
  length?: number
  signal?: AbortSignal
}

const MAX_REDIRECTS = 5

/** Size and cache validator of a shard (stat for files, HEAD for http). */
export async function statShard(location: ShardLocation): Promise<ShardStat> {
  if (location.kind === 'file') {
    let info
    try {
      info = await stat(location.path ?? location.url)
    } catch (error) {
      throw fileError(location.url, error)
    }
    if (info.isDirectory()) throw new ShardSourceError(shardIsAFolder(location.url), location.url)
    return { bytes: info.size, validator: `${info.size}:${Math.floor(info.mtimeMs)}` }
  }
  const response = await request(location.url, 'HEAD', {})
  response.resume()
  const bytes = Number(response.headers['content-length'] ?? NaN)
  const tag = response.headers.etag ?? response.headers['last-modified']
  return {
    bytes: Number.isFinite(bytes) ? bytes : -1,
    validator: tag ? `${tag}` : `size:${Number.isFinite(bytes) ? bytes : 'unknown'}`
  }
}

/** Open a shard (or a byte range of it) as a stream of bytes. */
export async function openShard(location: ShardLocation, options: OpenShardOptions = {}): Promise<Readable> {
  const start = options.start ?? 0
  const length = options.length
  if (length === 0) return Readable.from([])
  if (location.kind === 'file') {
    const path = location.path ?? location.url
    // Open first so a missing file (or a folder) is an error here, not an 'error' event later.
    let handle
    try {
      handle = await open(path, 'r')
    } catch (error) {
      throw fileError(location.url, error)
    }
    if ((await handle.stat()).isDirectory()) {
      await handle.close()
      throw new ShardSourceError(shardIsAFolder(location.url), location.url)
    }
    return handle.createReadStream({
      start,
      end: length === undefined ? undefined : start + length - 1,
      highWaterMark: 1 << 20,
      signal: options.signal,
      autoClose: true
    })
  }
  const headers: Record<string, string> = {}
  const ranged = start > 0 || length !== undefined
  if (ranged) headers.Range = `bytes=${start}-${length === undefined ? '' : start + length - 1}`
  const response = await request(location.url, 'GET', headers, options.signal)
  if (ranged && response.statusCode === 200) {
    // The server ignored Range and sent the whole shard: skip to the range ourselves.
    return response.pipe(sliceBytes(start, length))
  }
  return response
}

/** Read exactly `length` bytes at `start`; fewer means the shard is shorter than expected. */
export async function readShardRange(location: ShardLocation, start: number, length: number): Promise<Uint8Array> {
  if (location.kind === 'file') {
    let handle
    try {
      handle = await open(location.path ?? location.url, 'r')
    } catch (error) {
      throw fileError(location.url, error)
    }
    try {
      const out = Buffer.allocUnsafe(length)
      let filled = 0
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, start + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      if (filled < length) {
        throw new ShardSourceError(`${location.url}: expected ${length} bytes at offset ${start}, found ${filled} (shard shorter than its index)`, location.url)
      }
      return out
    } finally {
      await handle.close()
    }
  }
  const chunks: Buffer[] = []
  let filled = 0
  for await (const chunk of await openShard(location, { start, length })) {
    chunks.push(chunk as Buffer)
    filled += (chunk as Buffer).length
  }
  if (filled < length) {
    throw new ShardSourceError(`${location.url}: expected ${length} bytes at offset ${start}, found ${filled}`, location.url)
  }
  return Buffer.concat(chunks, filled).subarray(0, length)
}

function fileError(url: string, error: unknown): ShardSourceError {
  return new ShardSourceError(cannotOpenShard(url, error), url)
}

function sliceBytes(start: number, length: number | undefined): Transform {
  let position = 0
  const end = length === undefined ? Infinity : start + length
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(start - position, 0)
      const to = Math.min(end - position, chunk.length)
      position += chunk.length
      if (to > from) this.push(chunk.subarray(from, to))
      done()
    }
  })
}

function request(
  url: string,
  method: 'GET' | 'HEAD',
  headers: Record<string, string>,
  signal?: AbortSignal,
  redirects = 0
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http
    let answer: http.IncomingMessage | null = null
    const req = client.request(url, { method, headers, signal }, (response) => {
      answer = response
      const status = response.statusCode ?? 0
      const location = response.headers.location
      if (status >= 300 && status < 400 && location) {
        response.resume()
        if (redirects >= MAX_REDIRECTS) {
          reject(new ShardSourceError(`${url}: too many redirects`, url, status))
          return
        }
        request(new URL(location, url).toString(), method, headers, signal, redirects + 1).then(resolve, reject)
        return
      }
      if (status !== 200 && status !== 206) {
        response.resume()
        reject(new ShardSourceError(`${url}: HTTP ${status}${response.statusMessage ? ' ' + response.statusMessage : ''}`, url, status))
        return
      }
      resolve(response)
    })
    req.on('error', (error) => reject(new ShardSourceError(`${url}: ${error.message}`, url)))
    // A server that takes the connection and then says nothing (or stops midway) must not hang the job:
    // after this long without a byte either way the request fails, naming the URL. The response stream
    // keeps the same socket, so a body that stalls ends in an error too.
    req.setTimeout(httpIdleTimeoutMs(), () => {
      const quiet = new Error(`no data for ${httpIdleTimeoutMs() / 1000} s (the server stopped answering)`)
      ;(answer as http.IncomingMessage | null)?.destroy(quiet)
      req.destroy(quiet)
    })
    req.end()
  })
}

/** Seconds of silence before an HTTP(S) shard read fails: 30 s, or SHARDSCOPE_HTTP_TIMEOUT_S. */
function httpIdleTimeoutMs(): number {
  const seconds = Number(process.env.SHARDSCOPE_HTTP_TIMEOUT_S)
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 30) * 1000
}
