/**
 * Sample images by URL, for the grid and the detail view: the serve host's /media
 * route and the Electron image protocol both call serveMedia. A request names a
 * sample of a dataset the user opened (dataset id + split + sample index + field),
 * never a path, so nothing outside opened shards can be read through it.
 * Full images are the stored bytes for JPEG/PNG/WebP and a PNG rendering for arrays (npy);
 * thumbnails are the stored bytes when the image already fits one, else imaging's
 * makeThumbnail (WebP, never enlarged) kept in an in-memory LRU. serveMediaBatch answers
 * a screen of images in one response (serve mode: a browser's 6 connections per host).
 * Host-neutral: returns status, body and headers; the host writes them.
 */
import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { makeThumbnail } from '../imaging'
import { readDecompressedSpans, readSampleAt } from '../wds'
import { readShardRange } from '../wds/sources'
import { decodeField, parseNpy } from '../wds/fields'
import { readJpegHeader } from '../imaging/fast-jpeg'
import { encodeMediaBatch, type MediaBatchItem } from '../../shared/media-batch'
import type { ServiceContext } from './context'
import { registryFor, type IndexedShard } from './dataset-registry'

export interface MediaRequest {
  datasetId: string
  split: string
  /** As it came in the URL; validated here. */
  index: string | number
  field: string
  variant: string
}

export interface MediaResponse {
  status: 200 | 304 | 400 | 404 | 415 | 500
  body: Uint8Array | string
  contentType: string
  cacheControl?: string
  /** Content-stable: derived from the shard's validator, so a rewritten shard gets new URLs' content. */
  etag?: string
}

/** Edge of the square a thumbnail fits in (CSS pixels × 2 for sharp screens). */
export const thumbnailEdge = 128
const immutable = 'private, max-age=31536000, immutable'
const passThrough: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' }
const maxCachedThumbnails = 4000

const thumbnails = new Map<string, Uint8Array>()

function refuse(status: MediaResponse['status'], message: string): MediaResponse {
  return { status, body: message, contentType: 'text/plain; charset=utf-8' }
}

/** A media request checked against the opened dataset: where the field's bytes are. */
interface ResolvedMedia {
  shard: IndexedShard
  inShard: number
  key: string
  field: string
  ext: string
  variant: 'thumb' | 'full'
  /** Offset and size of the field's bytes in the (uncompressed) shard. */
  span: [number, number]
  etag: string
}

async function resolveMedia(ctx: ServiceContext, req: MediaRequest): Promise<ResolvedMedia | MediaResponse> {
  if (req.variant !== 'thumb' && req.variant !== 'full') return refuse(400, `Unknown variant "${req.variant}" (thumb or full)`)
  const index = typeof req.index === 'number' ? req.index : /^\d{1,10}$/.test(req.index) ? Number(req.index) : NaN
  if (!Number.isSafeInteger(index) || index < 0) return refuse(400, `Bad sample index "${req.index}"`)
  if (!req.field || /[/\\]|\.\./.test(req.field) || req.field.includes('\0')) return refuse(400, `Bad field name "${req.field}"`)
  const registry = registryFor(ctx)
  if (!registry.has(req.datasetId)) return refuse(404, `No open dataset with id ${req.datasetId}`)
  const d = registry.get(req.datasetId)
  const tables = await registry.tables(d)
  const t = tables.find((x) => x.name === req.split)
  if (!t) return refuse(404, `Dataset has no split "${req.split}"`)
  if (index >= t.shardOf.length) return refuse(404, `Split ${req.split} has ${t.shardOf.length} samples; there is no sample ${index}`)
  const shard = t.shards[t.shardOf[index]!]!
  const inShard = t.inShard[index]!
  const key = shard.keys[inShard]!
  const span = shard.spanOf(inShard, req.field)
  if (!span) return refuse(404, `Sample ${key} has no field "${req.field}"`)
  const ext = req.field.split('.').pop()!.toLowerCase()
  const etag = `"${createHash('sha1').update(`${shard.location.url}\n${shard.index!.validator}\n${inShard}\n${req.field}\n${req.variant}`).digest('base64url')}"`
  return { shard, inShard, key, field: req.field, ext, variant: req.variant, span, etag }
}

export async function serveMedia(ctx: ServiceContext, req: MediaRequest): Promise<MediaResponse> {
  const r = await resolveMedia(ctx, req)
  if ('status' in r) return r
  const hit = r.variant === 'thumb' ? cachedThumbnail(r.etag) : undefined
  return hit ?? answerFromSample(r)
}

/** The answer for a resolved request, reading its sample through the shard's index (any source, compressed or not). */
async function answerFromSample(r: ResolvedMedia): Promise<MediaResponse> {
  const sample = await readSampleAt(r.shard.location, r.shard.index!, r.inShard)
  const bytes = sample.fields[r.field]
  if (!bytes) return refuse(404, `Sample ${sample.key} has no field "${r.field}"`)
  return answerFromBytes(r, bytes)
}

function cachedThumbnail(etag: string): MediaResponse | undefined {
  const hit = thumbnails.get(etag)
  if (!hit) return undefined
  thumbnails.delete(etag)
  thumbnails.set(etag, hit)
  return { status: 200, body: hit, contentType: 'image/webp', cacheControl: immutable, etag }
}

/**
 * The answer for a field's stored bytes: JPEG/PNG/WebP as they are when the full image
 * is asked for, or a thumbnail is asked for and the image already fits one (the demo's
 * and Tiny ImageNet's 64×64 JPEGs: re-encoding them cost ≈ 7× more per screen); a
 * WebP thumbnail (cached) for bigger images; PNG renderings of arrays.
 */
async function answerFromBytes(r: ResolvedMedia, bytes: Uint8Array): Promise<MediaResponse> {
  const { ext, etag } = r
  try {
    const type = passThrough[ext]
    // A JPEG cut short still draws its top rows in a browser, which hides the damage in a grid:
    // its thumbnail is refused, so the cell says it cannot be decoded (the full view shows what is there).
    if (r.variant === 'thumb' && (ext === 'jpg' || ext === 'jpeg') && readJpegHeader(bytes)?.complete === false) {
      return refuse(415, `Field ${r.field} of sample ${r.key} is a truncated JPEG (${bytes.length} bytes, no end-of-image marker)`)
    }
    if (type && (r.variant === 'full' || fitsThumbnail(bytes, ext))) return { status: 200, body: bytes, contentType: type, cacheControl: immutable, etag }
    if (r.variant === 'full') {
      const png = await sharp(await displayableImage(bytes, ext), { failOn: 'error' }).png().toBuffer()
      return { status: 200, body: new Uint8Array(png), contentType: 'image/png', cacheControl: immutable, etag }
    }
    const hit = cachedThumbnail(etag)
    if (hit) return hit
    const made = await makeThumbnail(await displayableImage(bytes, ext), thumbnailEdge)
    const thumb = new Uint8Array(made.body.buffer, made.body.byteOffset, made.body.length)
    thumbnails.set(etag, thumb)
    if (thumbnails.size > maxCachedThumbnails) thumbnails.delete(thumbnails.keys().next().value!)
    return { status: 200, body: thumb, contentType: 'image/webp', cacheControl: immutable, etag }
  } catch (err) {
    return refuse(415, `Field ${r.field} of sample ${r.key} is not an image ShardScope can show: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** Whether stored JPEG/PNG bytes are no bigger than a thumbnail, read from the header alone (no decoding). */
export function fitsThumbnail(bytes: Uint8Array, ext: string): boolean {
  let size: { width: number; height: number } | null = null
  if (ext === 'jpg' || ext === 'jpeg') size = readJpegHeader(bytes)
  else if (ext === 'png' && bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    size = { width: view.getUint32(16), height: view.getUint32(20) }
  }
  return size !== null && size.width > 0 && size.height > 0 && Math.max(size.width, size.height) <= thumbnailEdge
}

/** Reads closer than this apart are merged into one: a grid screen is a run of neighbouring samples. */
const mergeGapBytes = 64 * 1024
const maxReadBytes = 8 * 1024 * 1024

/**
 * Many images in one answer (src/shared/media-batch.ts): a screen of neighbouring samples
 * costs a read or two instead of one open/read/close each.
 */
export async function serveMediaBatch(ctx: ServiceContext, req: { datasetId: string; items: MediaBatchItem[]; variant: string }): Promise<MediaResponse> {
  if (req.variant !== 'thumb' && req.variant !== 'full') return refuse(400, `Unknown variant "${req.variant}" (thumb or full)`)
  if (!registryFor(ctx).has(req.datasetId)) return refuse(404, `No open dataset with id ${req.datasetId}`)
  const done = await mediaAnswers(ctx, { ...req, variant: req.variant })
  const body = encodeMediaBatch(
    done.map((a) => {
      const bytes = imageBytesOf(a)
      return bytes
        ? { entry: { status: 200, contentType: a.contentType, bytes: bytes.length }, body: bytes }
        : { entry: { status: a.status, contentType: a.contentType, bytes: 0, message: typeof a.body === 'string' ? a.body : 'refused' }, body: null }
    })
  )
  return { status: 200, body, contentType: mediaBatchContentType, cacheControl: immutable }
}

/**
 * Each item's answer, as serveMedia would give it; fields of one uncompressed shard that
 * lie close together are read with one positioned read.
 */
export async function mediaAnswers(ctx: ServiceContext, req: { datasetId: string; items: MediaBatchItem[]; variant: 'thumb' | 'full' }): Promise<MediaResponse[]> {
  const resolved = await Promise.all(req.items.map((i) => resolveMedia(ctx, { datasetId: req.datasetId, split: i.split, index: i.index, field: i.field, variant: req.variant })))
  const answers: Array<Promise<MediaResponse>> = resolved.map((r) => Promise.resolve(r as MediaResponse))
  const byShard = new Map<IndexedShard, number[]>()
  const byCompressedShard = new Map<IndexedShard, number[]>()
  resolved.forEach((r, i) => {
    if ('status' in r) return
    const hit = r.variant === 'thumb' ? cachedThumbnail(r.etag) : undefined
    if (hit) answers[i] = Promise.resolve(hit)
    else {
      const groups = r.shard.index!.compressed ? byCompressedShard : byShard
      const list = groups.get(r.shard) ?? []
      list.push(i)
      groups.set(r.shard, list)
    }
  })
  // A gzip shard has no random access: all of its items in one pass over its stream (one download for a remote shard).
  for (const [shard, list] of byCompressedShard) {
    const read = readDecompressedSpans(shard.location, list.map((i) => (resolved[i] as ResolvedMedia).span))
    list.forEach((i, k) => {
      answers[i] = read.then(
        (bytes) => answerFromBytes(resolved[i] as ResolvedMedia, bytes[k]!),
        (err: unknown) => refuse(500, `Could not read sample ${(resolved[i] as ResolvedMedia).key}: ${err instanceof Error ? err.message : String(err)}`)
      )
    })
  }
  for (const [shard, list] of byShard) {
    const spanOf = (i: number): [number, number] => (resolved[i] as ResolvedMedia).span
    list.sort((a, b) => spanOf(a)[0] - spanOf(b)[0])
    let run: number[] = []
    const flush = (): void => {
      if (run.length === 0) return
      const members = run
      run = []
      const start = spanOf(members[0]!)[0]
      const end = Math.max(...members.map((i) => spanOf(i)[0] + spanOf(i)[1]))
      const read = readShardRange(shard.location, start, end - start)
      for (const i of members) {
        const [at, size] = spanOf(i)
        answers[i] = read.then(
          (bytes) => answerFromBytes(resolved[i] as ResolvedMedia, bytes.subarray(at - start, at - start + size)),
          (err: unknown) => refuse(500, `Could not read sample ${(resolved[i] as ResolvedMedia).key}: ${err instanceof Error ? err.message : String(err)}`)
        )
      }
    }
    for (const i of list) {
      const [at, size] = spanOf(i)
      if (run.length > 0) {
        const runStart = spanOf(run[0]!)[0]
        const last = spanOf(run[run.length - 1]!)
        if (at - (last[0] + last[1]) > mergeGapBytes || at + size - runStart > maxReadBytes) flush()
      }
      run.push(i)
    }
    flush()
  }
  return Promise.all(answers)
}

/** An answer's image bytes, or null when it is a refusal (or a 304 without a body). */
export function imageBytesOf(a: MediaResponse): Uint8Array | null {
  return a.status === 200 && typeof a.body !== 'string' ? a.body : null
}

export const mediaBatchContentType = 'application/vnd.shardscope.media-batch'

/**
 * Stored bytes as an image sharp can encode: JPEG/PNG/WebP as they are; a float or
 * uint8 npy array (H×W, H×W×1 or H×W×3) rescaled to 0..255 for display, since a
 * normalised array has no natural pixel range.
 */
async function displayableImage(bytes: Uint8Array, ext: string): Promise<Uint8Array> {
  if (ext !== 'npy') return bytes
  const decoded = parseNpy(bytes)
  if (decoded.kind !== 'array') throw new Error(decoded.kind === 'problem' ? decoded.message : 'not an array')
  const { shape, data } = decoded
  const [h, w, c] = [shape[0] ?? 0, shape[1] ?? 0, shape.length === 2 ? 1 : (shape[2] ?? 0)]
  if (shape.length < 2 || shape.length > 3 || ![1, 3, 4].includes(c)) throw new Error(`npy shape (${shape.join(', ')}) is not an image (H×W×1, 3 or 4)`)
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    if (v < min) min = v
    if (v > max) max = v
  }
  const scale = max > min ? 255 / (max - min) : 0
  const pixels = new Uint8Array(data.length)
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round((data[i]! - min) * scale)
  const png = await sharp(pixels, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } }).png().toBuffer()
  return new Uint8Array(png.buffer, png.byteOffset, png.length)
}

/** Shape and pixel statistics of an image field, for the detail view, in the stored value range (0..255 for 8-bit images). */
export async function summarizeImage(
  bytes: Uint8Array,
  ext: string
): Promise<{ width: number; height: number; channels: number; format: string; min: number; max: number; mean: number; std: number }> {
  const decoded = await decodeField(ext, bytes)
  if (decoded.kind === 'problem') throw new Error(`${decoded.message} (expected ${decoded.expected}, found ${decoded.found})`)
  let values: ArrayLike<number>
  let width: number
  let height: number
  let channels: number
  let format = ext
  if (decoded.kind === 'array') {
    ;[height, width, channels] = [decoded.shape[0] ?? 0, decoded.shape[1] ?? 1, decoded.shape[2] ?? 1]
    values = decoded.data
  } else if (decoded.kind === 'image') {
    ;({ width, height, channels } = decoded.image)
    values = decoded.image.data
    format = (await sharp(bytes).metadata()).format ?? ext
  } else {
    throw new Error(`${ext} is not an image field`)
  }
  let min = Infinity
  let max = -Infinity
  let sum = 0
  let sumSq = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v < min) min = v
    if (v > max) max = v
    sum += v
    sumSq += v * v
  }
  const n = Math.max(1, values.length)
  const mean = sum / n
  return { width, height, channels, format, min, max, mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) }
}
