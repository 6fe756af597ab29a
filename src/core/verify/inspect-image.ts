/**
 * One image field → what the verifier needs to know about it: format, shape, whether
 * it decodes; its pixels are added to the caller's per-channel running sums. Runs on
 * the thread that checks the shard; plain data in, plain data out.
 */
import { decodeJpegSync, JpegError, loadJpegDecoder, readJpegHeader } from '../imaging/fast-jpeg'
import { imageSignature, SIGNATURE_NAMES } from '../imaging/signature'
import { emptySums, mergeSums } from './pixel-stats'

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
}

export interface InspectLimits {
  maxPixels: number
}

/**
 * Running pixel statistics of the images of one dtype and channel count. 8-bit pixels
 * are counted in a histogram per channel (one increment per value: measured ≈ 10 µs per
 * 64×64 RGBA image against ≈ 17 µs for running sums, sums of squares, min and max);
 * sums, sums of squares, min and max follow from it exactly. Float data goes to `sums`.
 */
export interface PixelTally {
  channels: number
  /** channel × 256 + value → pixels with that value. */
  histogram: Uint32Array
  histogramPixels: number
  sums: PixelSums
}

export type TallyFor = (dtype: 'uint8' | 'float32', channels: number) => PixelTally

export function newPixelTally(channels: number): PixelTally {
  return { channels, histogram: new Uint32Array(channels * 256), histogramPixels: 0, sums: emptySums(channels) }
}

/** Folds the histogram into the sums (exact: integer pixel values) and returns them. */
export function tallySums(tally: PixelTally): PixelSums {
  const { histogram, sums } = tally
  for (let c = 0; c < tally.channels; c++) {
    let sum = 0
    let sumSq = 0
    let min = Infinity
    let max = -Infinity
    for (let v = 0; v < 256; v++) {
      const n = histogram[c * 256 + v]!
      if (n === 0) continue
      sum += v * n
      sumSq += v * v * n
      if (v < min) min = v
      max = v
    }
    sums.sum[c]! += sum
    sums.sumSq[c]! += sumSq
    if (min < sums.min[c]!) sums.min[c] = min
    if (max > sums.max[c]!) sums.max[c] = max
  }
  sums.count += tally.histogramPixels
  histogram.fill(0)
  tally.histogramPixels = 0
  return sums
}

/**
 * JPEGs larger than this go to sharp (native, frees its memory) instead of the WASM
 * decoder, whose heap only grows: it stays at a few MiB per thread for dataset-sized images.
 */
const MAX_WASM_JPEG_PIXELS = 2_000_000

const IMAGE_EXTENSIONS: Record<string, ImageFormat> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', npy: 'npy' }

export function imageFormatOfField(field: string): ImageFormat {
  return IMAGE_EXTENSIONS[field.toLowerCase()] ?? 'unknown'
}

export function loadImageDecoders(): Promise<void> {
  return loadJpegDecoder()
}

/**
 * Inspects one image field and adds its pixels to `sumsFor(dtype, channels)`. JPEG (the
 * common case) and npy are inspected synchronously; png, webp and very large JPEGs
 * through sharp, asynchronously. `loadImageDecoders()` must have resolved first.
 */
export function inspectImage(bytes: Uint8Array, field: string, limits: InspectLimits, tallyFor: TallyFor): ImageInspection | Promise<ImageInspection> {
  const format = imageFormatOfField(field)
  try {
    if (format === 'jpeg') {
      const header = readJpegHeader(bytes)
      if (header && header.width * header.height > MAX_WASM_JPEG_PIXELS && header.width * header.height <= limits.maxPixels) {
        return inspectWithSharp(bytes, format, limits, tallyFor).catch((err: unknown) => failure(format, err, limits))
      }
      if (!header && bytes.length > 0) {
        const signature = imageSignature(bytes)
        const held = signature && signature !== 'jpeg' ? SIGNATURE_NAMES[signature] : null
        // webdataset's PIL decoder reads images by content; JPEG decoders (DALI, torchvision.io.decode_jpeg) do not.
        if (held) return { format, error: `holds ${held} bytes under .${field}, not a JPEG: PIL reads it by content, a JPEG decoder does not; re-encode it as JPEG`, errorKind: 'corrupt' }
      }
      if (bytes.length === 0) return { format, error: 'empty (0 bytes)', errorKind: 'corrupt' }
      const image = decodeJpegSync(bytes, { maxPixels: limits.maxPixels, header })
      const channels = image.components === 1 ? 1 : 3
      countPixels(tallyFor('uint8', channels), image.rgba, 4)
      return { format, dtype: 'uint8', width: image.width, height: image.height, channels }
    }
    if (format === 'png' || format === 'webp') return inspectWithSharp(bytes, format, limits, tallyFor).catch((err: unknown) => failure(format, err, limits))
    if (format === 'npy') return inspectNpy(bytes, limits, tallyFor)
    return { format, error: `field .${field} is not an image format the verifier knows (jpg, png, webp, npy)`, errorKind: 'unsupported' }
  } catch (err) {
    return failure(format, err, limits)
  }
}

function failure(format: ImageFormat, err: unknown, limits: InspectLimits): ImageInspection {
  if (err instanceof JpegError) {
    const kind = err.kind === 'not-jpeg' ? 'corrupt' : err.kind
    return { format, error: err.message, errorKind: kind }
  }
  const message = (err as Error).message ?? String(err)
  if (/pixel limit/i.test(message)) return { format, error: `image is larger than the limit of ${limits.maxPixels.toLocaleString('en-US')} pixels`, errorKind: 'too-large' }
  return { format, error: `cannot be decoded: ${message}`, errorKind: /truncat|premature|end of/i.test(message) ? 'truncated' : 'corrupt' }
}

async function inspectWithSharp(bytes: Uint8Array, format: 'png' | 'webp' | 'jpeg', limits: InspectLimits, tallyFor: TallyFor): Promise<ImageInspection> {
  // Loaded on first use: most datasets are JPEG, and sharp costs each decode thread memory and start-up time.
  const { default: sharp } = await import('sharp')
  // sharp refuses images over limitInputPixels from the header, before allocating pixels.
  const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  const channels = info.channels >= 3 ? 3 : 1
  countPixels(tallyFor('uint8', channels), new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.channels)
  return { format, dtype: 'uint8', width: info.width, height: info.height, channels: info.channels === 2 || info.channels === 4 ? info.channels - 1 : info.channels }
}

/** Counts the first `tally.channels` values of every `stride`-byte pixel (the verifier's hottest loop). */
function countPixels(tally: PixelTally, data: Uint8Array, stride: number): void {
  const pixels = Math.floor(data.length / stride)
  // Fold before a bin could pass 2³² (a shard of very large images).
  if (tally.histogramPixels + pixels > 2 ** 31) tallySums(tally)
  tally.histogramPixels += pixels
  const h = tally.histogram
  if (stride === 4 && (data.byteOffset & 3) === 0 && LITTLE_ENDIAN) {
    // RGBA from the decoder: one 32-bit load per pixel.
    const words = new Uint32Array(data.buffer, data.byteOffset, pixels)
    if (tally.channels === 3) {
      for (let i = 0; i < pixels; i++) {
        const x = words[i]!
        const r = x & 255
        const g = 256 + ((x >>> 8) & 255)
        const b = 512 + ((x >>> 16) & 255)
        h[r] = h[r]! + 1
        h[g] = h[g]! + 1
        h[b] = h[b]! + 1
      }
    } else {
      for (let i = 0; i < pixels; i++) {
        const v = words[i]! & 255
        h[v] = h[v]! + 1
      }
    }
    return
  }
  for (let c = 0; c < tally.channels; c++) {
    const base = c * 256
    for (let p = c; p < pixels * stride; p += stride) {
      const v = base + data[p]!
      h[v] = h[v]! + 1
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * NumPy `.npy` (format 1.0/2.0/3.0): the header is a Python dict literal with `descr`,
 * `fortran_order` and `shape`. Images are HWC (or HW); uint8 and float32 are read.
 */
function inspectNpy(bytes: Uint8Array, limits: InspectLimits, tallyFor: TallyFor): ImageInspection {
  const fail = (error: string): ImageInspection => ({ format: 'npy', error, errorKind: 'corrupt' })
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
  // uint8 values are always finite and are tallied by countPixels: no per-value pass.
  if (dtype === 'uint8') {
    countPixels(tallyFor(dtype, channels), bytes.subarray(dataStart, dataStart + values), channels)
    return { format: 'npy', dtype, width, height, channels }
  }
  const pixels: PixelSums = {
    count: width * height,
    sum: new Array<number>(channels).fill(0),
    sumSq: new Array<number>(channels).fill(0),
    min: new Array<number>(channels).fill(Infinity),
    max: new Array<number>(channels).fill(-Infinity)
  }
  for (let i = 0; i < values; i++) {
    const v = view.getFloat32(dataStart + i * 4, true)
    if (!Number.isFinite(v)) return fail(`.npy holds a non-finite value (${v}) at index ${i}`)
    const c = i % channels
    pixels.sum[c]! += v
    pixels.sumSq[c]! += v * v
    if (v < pixels.min[c]!) pixels.min[c] = v
    if (v > pixels.max[c]!) pixels.max[c] = v
  }
  // Added only once every value is known to be finite.
  mergeSums(tallyFor(dtype, channels).sums, pixels)
  return { format: 'npy', dtype, width, height, channels }
}
