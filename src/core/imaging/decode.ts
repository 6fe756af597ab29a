/**
 * Image decoding and thumbnails with sharp (libvips), for images from untrusted shards:
 * `limitInputPixels` makes sharp refuse an image whose header claims more pixels than we
 * allow before it allocates them, and `failOn: 'error'` turns corrupt data into an error
 * instead of a silently grey image.
 */
import sharp from 'sharp'

/** RGB pixels, row-major, height × width × channels (HWC). */
export interface DecodedImage {
  width: number
  height: number
  channels: 3
  data: Uint8Array
}

export interface Thumbnail {
  body: Buffer
  contentType: 'image/webp' | 'image/jpeg'
}

/** An image we could not decode, said in words the user can act on. */
export class ImageDecodeError extends Error {}

/** 64 Mpx: well above any training image, far below what would exhaust memory. */
export const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024

export interface DecodeImageOptions {
  maxPixels?: number
}

function explain(error: unknown, maxPixels: number): ImageDecodeError {
  const message = String((error as Error)?.message ?? error)
  if (/pixel limit/i.test(message)) return new ImageDecodeError(`image is larger than the ${maxPixels}-pixel limit for untrusted input: refused without decoding`)
  if (/unsupported image format/i.test(message)) return new ImageDecodeError('not an image sharp can read (unsupported or unrecognised format)')
  return new ImageDecodeError(`corrupt image: ${message}`)
}

/** Decode JPEG/PNG/WebP (and whatever else libvips reads) to 8-bit RGB, dropping alpha. */
export async function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, found ${info.channels}`)
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }
  } catch (error) {
    throw explain(error, maxPixels)
  }
}

/** A small preview fitting in `size`×`size` (aspect kept), WebP by default. */
export async function makeThumbnail(bytes: Uint8Array, size: number, format: 'webp' | 'jpeg' = 'webp', options: DecodeImageOptions = {}): Promise<Thumbnail> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true })
    const body = format === 'webp' ? await pipeline.webp({ quality: 80 }).toBuffer() : await pipeline.jpeg({ quality: 85 }).toBuffer()
    return { body, contentType: format === 'webp' ? 'image/webp' : 'image/jpeg' }
  } catch (error) {
    throw explain(error, maxPixels)
  }
}

export interface PixelStats {
  /** Per channel (R, G, B), on the 0..255 scale. */
  mean: [number, number, number]
  std: [number, number, number]
  min: [number, number, number]
  max: [number, number, number]
}

/** Per-channel mean, standard deviation, min and max of an HWC RGB image. */
export function measurePixels(image: DecodedImage): PixelStats {
  const sum = [0, 0, 0]
  const squares = [0, 0, 0]
  const min = [255, 255, 255]
  const max = [0, 0, 0]
  const { data } = image
  for (let i = 0; i < data.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = data[i + c]!
      sum[c]! += v
      squares[c]! += v * v
      if (v < min[c]!) min[c] = v
      if (v > max[c]!) max[c] = v
    }
  }
  const n = data.length / 3 || 1
  const mean = sum.map((s) => s / n)
  const std = squares.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2)))
  return { mean: mean as PixelStats['mean'], std: std as PixelStats['std'], min: min as PixelStats['min'], max: max as PixelStats['max'] }
}
