/**
 * Sample images by URL, for the grid and the detail view: the serve host's /media
 * route and the Electron image protocol both call serveMedia. A request names a
 * sample of a dataset the user opened (dataset id + split + sample index + field),
 * never a path, so nothing outside opened shards can be read through it.
 * Thumbnails (imaging's makeThumbnail: WebP, never enlarged) are kept in an in-memory LRU; full images are the
 * stored bytes for JPEG/PNG/WebP and a PNG rendering for arrays (npy).
 * Host-neutral: returns status, body and headers; the host writes them.
 */
import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { makeThumbnail } from '../imaging'
import { readSampleAt } from '../wds'
import { decodeField, parseNpy } from '../wds/fields'
import type { ServiceContext } from './context'
import { registryFor } from './dataset-registry'

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

export async function serveMedia(ctx: ServiceContext, req: MediaRequest): Promise<MediaResponse> {
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
  const members = shard.index!.samples[inShard]!.members
  if (!members[req.field]) return refuse(404, `Sample ${shard.index!.samples[inShard]!.key} has no field "${req.field}"`)
  const ext = req.field.split('.').pop()!.toLowerCase()
  const etag = `"${createHash('sha1').update(`${shard.location.url}\n${shard.index!.validator}\n${inShard}\n${req.field}\n${req.variant}`).digest('base64url')}"`
  const cacheKey = `${etag}`
  if (req.variant === 'thumb') {
    const hit = thumbnails.get(cacheKey)
    if (hit) {
      thumbnails.delete(cacheKey)
      thumbnails.set(cacheKey, hit)
      return { status: 200, body: hit, contentType: 'image/webp', cacheControl: immutable, etag }
    }
  }
  const sample = await readSampleAt(shard.location, shard.index!, inShard)
  const bytes = sample.fields[req.field]
  if (!bytes) return refuse(404, `Sample ${sample.key} has no field "${req.field}"`)
  try {
    if (req.variant === 'full') {
      const type = passThrough[ext]
      if (type) return { status: 200, body: bytes, contentType: type, cacheControl: immutable, etag }
      const png = await sharp(await displayableImage(bytes, ext), { failOn: 'error' }).png().toBuffer()
      return { status: 200, body: new Uint8Array(png), contentType: 'image/png', cacheControl: immutable, etag }
    }
    const made = await makeThumbnail(await displayableImage(bytes, ext), thumbnailEdge)
    const thumb = new Uint8Array(made.body.buffer, made.body.byteOffset, made.body.length)
    thumbnails.set(cacheKey, thumb)
    if (thumbnails.size > maxCachedThumbnails) thumbnails.delete(thumbnails.keys().next().value!)
    return { status: 200, body: thumb, contentType: 'image/webp', cacheControl: immutable, etag }
  } catch (err) {
    return refuse(415, `Field ${req.field} of sample ${sample.key} is not an image ShardScope can show: ${err instanceof Error ? err.message : String(err)}`)
  }
}

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
