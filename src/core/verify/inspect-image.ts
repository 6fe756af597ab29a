/**
 * One image field → what the verifier needs to know about it: format, shape, whether
 * it decodes, per-channel pixel sums, and a content hash (for leakage between splits).
 * Runs in decode worker threads; plain data in, plain data out.
 */
import { createHash } from 'node:crypto'
import { decodeJpeg, JpegError } from '../imaging/fast-jpeg'

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'npy' | 'unknown'

/** Per-channel running sums; merged across images and turned into mean/std at the end. */
export interface PixelSums {
  count: number
  sum: number[]
  sumSq: number[]
  min: number[]
  max: number[]
}

export interface ImageInspection {
  format: ImageFormat
  /** 'uint8' pixels are 0–255 as stored; 'float32' is npy data, meant to be stored already normalised. */
  dtype?: 'uint8' | 'float32'
  width?: number
  height?: number
  channels?: number
  /** Why the image cannot be used; absent when it decoded. */
  error?: string
  errorKind?: 'corrupt' | 'truncated' | 'too-large' | 'unsupported'
  pixels?: PixelSums
  /** First 16 hex digits of the SHA-1 of the field's bytes. */
  hash: string
}

export interface InspectLimits {
  maxPixels: number
}

const IMAGE_EXTENSIONS: Record<string, ImageFormat> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', npy: 'npy' }

export function imageFormatOfField(field: string): ImageFormat {
  return IMAGE_EXTENSIONS[field.toLowerCase()] ?? 'unknown'
}

export async function inspectImage(bytes: Uint8Array, field: string, limits: InspectLimits): Promise<ImageInspection> {
  const hash = createHash('sha1').update(bytes).digest('hex').slice(0, 16)
  const format = imageFormatOfField(field)
  try {
    if (format === 'jpeg') {
      const image = await decodeJpeg(bytes, { maxPixels: limits.maxPixels })
      const channels = image.components === 1 ? 1 : 3
      return { format, dtype: 'uint8', width: image.width, height: image.height, channels, pixels: sumInterleaved(image.rgba, 4, channels), hash }
    }
    if (format === 'png' || format === 'webp') return { ...(await inspectWithSharp(bytes, format, limits)), hash }
    if (format === 'npy') return { ...inspectNpy(bytes, limits), hash }
    return { format, error: `field .${field} is not an image format the verifier knows (jpg, png, webp, npy)`, errorKind: 'unsupported', hash }
  } catch (err) {
    if (err instanceof JpegError) {
      const kind = err.kind === 'not-jpeg' ? 'corrupt' : err.kind
      return { format, error: err.message, errorKind: kind, hash }
    }
    const message = (err as Error).message ?? String(err)
    if (/pixel limit/i.test(message)) return { format, error: `image is larger than the limit of ${limits.maxPixels.toLocaleString('en-US')} pixels`, errorKind: 'too-large', hash }
    return { format, error: `cannot be decoded: ${message}`, errorKind: /truncat|premature|end of/i.test(message) ? 'truncated' : 'corrupt', hash }
  }
}

async function inspectWithSharp(bytes: Uint8Array, format: 'png' | 'webp', limits: InspectLimits): Promise<Omit<ImageInspection, 'hash'>> {
  // Loaded on first use: most datasets are JPEG, and sharp costs each decode thread memory and start-up time.
  const { default: sharp } = await import('sharp')
  // sharp refuses images over limitInputPixels from the header, before allocating pixels.
  const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  const channels = info.channels >= 3 ? 3 : 1
  return {
    format,
    dtype: 'uint8',
    width: info.width,
    height: info.height,
    channels: info.channels === 2 || info.channels === 4 ? info.channels - 1 : info.channels,
    pixels: sumInterleaved(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels, channels)
  }
}

/** Sums the first `channels` of every `stride`-byte pixel. */
function sumInterleaved(data: Uint8Array, stride: number, channels: number): PixelSums {
  const sum = new Array<number>(channels).fill(0)
  const sumSq = new Array<number>(channels).fill(0)
  const min = new Array<number>(channels).fill(255)
  const max = new Array<number>(channels).fill(0)
  const pixels = Math.floor(data.length / stride)
  for (let c = 0; c < channels; c++) {
    let s = 0
    let s2 = 0
    let lo = 255
    let hi = 0
    for (let p = c; p < data.length; p += stride) {
      const v = data[p]!
      s += v
      s2 += v * v
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
    sum[c] = s
    sumSq[c] = s2
    min[c] = lo
    max[c] = hi
  }
  return { count: pixels, sum, sumSq, min, max }
}

/**
 * NumPy `.npy` (format 1.0/2.0/3.0): the header is a Python dict literal with `descr`,
 * `fortran_order` and `shape`. Images are HWC (or HW); uint8 and float32 are read.
 */
function inspectNpy(bytes: Uint8Array, limits: InspectLimits): Omit<ImageInspection, 'hash'> {
  const fail = (error: string): Omit<ImageInspection, 'hash'> => ({ format: 'npy', error, errorKind: 'corrupt' })
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) return fail('not a .npy array (no \\x93NUMPY magic)')
  const major = bytes[6]!
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const headerStart = major === 1 ? 10 : 12
  if (headerStart + headerLength > bytes.length) return fail('truncated .npy header')
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength))
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (!descr || shapeText === undefined) return fail(`unreadable .npy header ${JSON.stringify(header.slice(0, 80))}`)
  if (/'fortran_order'\s*:\s*True/.test(header)) return fail('Fortran-ordered .npy arrays are not supported')
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number)
  if (shape.some((n) => !Number.isInteger(n) || n < 0) || shape.length < 2 || shape.length > 3) return fail(`.npy shape (${shapeText}) is not an image (H, W[, C])`)
  const [height, width, channels = 1] = shape as [number, number, number?]
  if (width * height > limits.maxPixels) return { format: 'npy', error: `claims ${width}×${height} pixels, over the limit`, errorKind: 'too-large' }
  const values = width * height * channels
  const dataStart = headerStart + headerLength
  const dtype = descr === '<f4' || descr === 'f4' ? 'float32' : descr === '|u1' || descr === 'u1' || descr === '<u1' ? 'uint8' : null
  if (!dtype) return { format: 'npy', error: `.npy dtype ${descr} is not uint8 or float32`, errorKind: 'unsupported' }
  const itemBytes = dtype === 'float32' ? 4 : 1
  if (bytes.length - dataStart < values * itemBytes) return { format: 'npy', error: `truncated .npy: ${bytes.length - dataStart} data bytes for shape (${shape.join(', ')})`, errorKind: 'truncated' }
  const pixels: PixelSums = {
    count: width * height,
    sum: new Array<number>(channels).fill(0),
    sumSq: new Array<number>(channels).fill(0),
    min: new Array<number>(channels).fill(Infinity),
    max: new Array<number>(channels).fill(-Infinity)
  }
  for (let i = 0; i < values; i++) {
    const v = dtype === 'float32' ? view.getFloat32(dataStart + i * 4, true) : bytes[dataStart + i]!
    if (!Number.isFinite(v)) return fail(`.npy holds a non-finite value (${v}) at index ${i}`)
    const c = i % channels
    pixels.sum[c]! += v
    pixels.sumSq[c]! += v * v
    if (v < pixels.min[c]!) pixels.min[c] = v
    if (v > pixels.max[c]!) pixels.max[c] = v
  }
  return { format: 'npy', dtype, width, height, channels, pixels }
}
