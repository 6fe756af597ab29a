/**
 * Fast decoding of small JPEGs (dataset samples, e.g. 64×64) for the verifier.
 *
 * Chosen by measurement (DESIGN.md, 64×64 JPEGs, one core): @jsquash/jpeg (mozjpeg
 * built to WASM) ≈ 6,000/s, jpeg-js ≈ 1,550/s, sharp ≈ 800/s per call stream (its
 * per-call overhead dominates tiny images). sharp stays for thumbnails, encoding and
 * large images. The header is parsed here first, so a file claiming a huge size is
 * refused before any pixel memory is allocated, and a file without an end-of-image
 * marker (truncated) is reported instead of silently decoded as grey.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import mozjpegFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js'

export interface JpegHeader {
  width: number
  height: number
  /** 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK). */
  components: number
  /** Whether an end-of-image marker (FFD9) ends the data (trailing padding allowed). */
  complete: boolean
}

export interface DecodedJpeg extends JpegHeader {
  /** RGBA pixels, row-major, 4 bytes per pixel whatever `components` is. */
  rgba: Uint8Array
}

export class JpegError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-jpeg' | 'corrupt' | 'truncated' | 'too-large'
  ) {
    super(message)
    this.name = 'JpegError'
  }
}

/** Reads the frame header (SOFn) without decoding; null when the bytes hold no JPEG frame. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader | null {
  const found = findJpegHeader(bytes)
  return typeof found === 'string' ? null : found
}

/** The frame header, or why there is none, in words: what a corrupt-image finding says. */
function findJpegHeader(bytes: Uint8Array): JpegHeader | string {
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 'not a JPEG (no start-of-image marker)'
  const noFrame = 'no frame header after the start-of-image marker'
  const hex = (b: number) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`
  let i = 2
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return `${noFrame} (byte ${i} is ${hex(bytes[i]!)} where a marker should start)`
    const marker = bytes[i + 1]!
    if (marker === 0xff) {
      i += 1 // fill byte
      continue
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2
      continue
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!
    if (length < 2) return `${noFrame} (marker ${hex(marker)} at byte ${i} has a length of ${length})`
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 10 > bytes.length) return `frame header at byte ${i} is cut short (the bytes end at ${bytes.length})`
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!
      const components = bytes[i + 9]!
      return { width, height, components, complete: hasEoiAfter(bytes, i + 2 + length) }
    }
    if (marker === 0xda) return `${noFrame} (the image data starts at byte ${i} before any frame header)`
    if (marker === 0xd9) return `${noFrame} (an end-of-image marker at byte ${i} comes first)`
    i += 2 + length
  }
  return `${noFrame} (the bytes end at ${bytes.length})`
}

/**
 * Whether an end-of-image marker follows the frame header. Inside the compressed data an
 * 0xFF byte is always followed by 0x00 or a restart marker, so FF D9 there is the end; bytes
 * after it (padding, or metadata some cameras append) do not make the image incomplete.
 * An embedded EXIF thumbnail's own end marker lies before the frame header, so it does not count.
 */
function hasEoiAfter(bytes: Uint8Array, from: number): boolean {
  for (let k = bytes.length - 2; k >= from; k--) if (bytes[k] === 0xff && bytes[k + 1] === 0xd9) return true
  return false
}

/** The decoder's emscripten module: `decode` is synchronous once the module is instantiated. */
interface MozjpegModule {
  decode(data: Uint8Array, preserveOrientation: boolean): { data: Uint8ClampedArray; width: number; height: number } | null
}

let loading: Promise<void> | null = null
let decoder: MozjpegModule | null = null
let decoderWarnings: string[] = []
let compiled: object | null = null

// WebAssembly is a Node global; this project's lib settings (no DOM) do not declare it.
const wasmApi = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: object } } }).WebAssembly

/**
 * The compiled decoder. Worker threads given this module (`useJpegDecoderModule`) share its
 * machine code and its tier-up to optimised code, instead of each compiling and warming
 * up its own (measured: the first thousands of images per thread ran ≈ 2× slower).
 */
export function jpegDecoderModule(): object {
  if (!compiled) {
    const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm')
    compiled = new wasmApi.Module(readFileSync(wasmPath))
  }
  return compiled
}

/** Use a decoder module compiled elsewhere (another thread's `jpegDecoderModule()`); call before decoding. */
export function useJpegDecoderModule(module: object): void {
  if (!loading) compiled = module
}

/**
 * Instantiates the WASM decoder (once per thread). After it resolves, `decodeJpegSync`
 * can be called: a verifier thread decodes thousands of tiny images a second, and a
 * promise per image is measurable there.
 */
export function loadJpegDecoder(): Promise<void> {
  if (!loading) {
    const wasm = jpegDecoderModule()
    // libjpeg reports recoverable damage ("Corrupt JPEG data: …") as warnings on stderr
    // and decodes anyway; capture them so damage becomes a finding, not a grey image.
    const capture = (text: string) => void decoderWarnings.push(text)
    const factory = mozjpegFactory as unknown as (options: object) => Promise<MozjpegModule>
    loading = factory({
      noInitialRun: true,
      print: capture,
      printErr: capture,
      instantiateWasm: (imports: object, done: (instance: object) => void) => {
        const instance = new wasmApi.Instance(wasm, imports)
        done(instance)
        return instance.exports
      }
    }).then((module) => {
      decoder = module
    })
  }
  return loading
}

function checkHeader(bytes: Uint8Array, maxPixels: number, parsed?: JpegHeader | null): JpegHeader {
  const header = parsed ?? findJpegHeader(bytes)
  if (typeof header === 'string') throw new JpegError(header, bytes[0] === 0xff && bytes[1] === 0xd8 ? 'corrupt' : 'not-jpeg')
  if (header.width === 0 || header.height === 0) throw new JpegError(`frame header claims ${header.width}×${header.height} pixels`, 'corrupt')
  if (header.width * header.height > maxPixels) {
    throw new JpegError(`claims ${header.width}×${header.height} pixels, over the limit of ${maxPixels.toLocaleString('en-US')}`, 'too-large')
  }
  if (!header.complete) throw new JpegError('truncated: no end-of-image marker', 'truncated')
  return header
}

/**
 * Decodes a JPEG to RGBA. Throws JpegError (a value the caller turns into a finding)
 * for bytes that are not a JPEG, are damaged or truncated, or claim more pixels than
 * `maxPixels`.
 */
export async function decodeJpeg(bytes: Uint8Array, options: { maxPixels?: number; header?: JpegHeader | null } = {}): Promise<DecodedJpeg> {
  const header = checkHeader(bytes, options.maxPixels ?? 40_000_000, options.header)
  await loadJpegDecoder()
  return decodeJpegSync(bytes, { ...options, header })
}

/**
 * `decodeJpeg` without the promise; `loadJpegDecoder()` must have resolved first. `header`:
 * what `readJpegHeader(bytes)` gave, when the caller has read it already.
 */
export function decodeJpegSync(bytes: Uint8Array, options: { maxPixels?: number; header?: JpegHeader | null } = {}): DecodedJpeg {
  const header = checkHeader(bytes, options.maxPixels ?? 40_000_000, options.header)
  if (!decoder) throw new Error('decodeJpegSync before loadJpegDecoder() resolved')
  decoderWarnings = []
  // The codec copies the bytes into its own heap; embind accepts a Uint8Array view as well as an ArrayBuffer.
  let image: { data: Uint8ClampedArray; width: number; height: number } | null
  try {
    image = decoder.decode(bytes, false)
  } catch (err) {
    throw new JpegError(`cannot be decoded: ${decoderWarnings[0] ?? (err as Error).message}`, 'corrupt')
  }
  if (!image) throw new JpegError(`cannot be decoded: ${decoderWarnings[0] ?? 'the decoder gave no image'}`, 'corrupt')
  if (decoderWarnings.length > 0) throw new JpegError(`damaged: ${decoderWarnings[0]}`, 'corrupt')
  return {
    ...header,
    width: image.width,
    height: image.height,
    rgba: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength)
  }
}
