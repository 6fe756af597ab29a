/**
 * The training data loader: which shards a worker reads (webdataset's split_by_worker:
 * shard i → worker i mod N), a seeded shuffle buffer, decoding, normalisation, and
 * batches of Float32Array NHWC images + Int32Array labels; plus the validation set.
 *
 * Normalisation: 8-bit images (jpg, png) are scaled as (pixel/255 − mean)/std; float32
 * `npy` images are taken as ALREADY normalised (dataset.json's contract). A val split
 * stored as raw 0–255 floats therefore reaches the model un-normalised: the post-mortem's
 * "validation loss in the millions", which the health checks then explain.
 *
 * Bad samples (undecodable, wrong shape, missing or invalid label) are skipped and
 * counted, never fatal. Samples are shuffled before decoding so skipping batches
 * (a resumed or restarted worker) costs reading, not decoding.
 */
import sharp from 'sharp'
import { createRandom, mixSeed, shuffledIndices } from '../demo/random'
import { decodeJpeg } from '../imaging/fast-jpeg'
import { readSamples } from '../wds/read'
import type { Sample, ShardLocation } from '../wds/types'

export interface ImageSpec {
  imageField: string
  labelField: string
  classes: number
  /** [height, width, channels] */
  imageShape: [number, number, number]
  normalization: { mean: [number, number, number]; std: [number, number, number] }
}

export interface Batch {
  /** NHWC, normalised. */
  xs: Float32Array
  labels: Int32Array
  size: number
}

export interface SkippedSample {
  url: string
  key: string
  reason: string
}

/** webdataset's split_by_worker: shard i goes to worker i mod workers. */
export function splitShardsByWorker<T>(shards: T[], worker: number, workers: number): T[] {
  return shards.filter((_, i) => i % workers === worker)
}

/** Decode one sample to a normalised HWC image and its label, or say why it cannot be used. */
export async function decodeSample(sample: Sample, spec: ImageSpec): Promise<{ x: Float32Array; label: number } | { problem: string }> {
  const [h, w, c] = spec.imageShape
  const labelBytes = sample.fields[spec.labelField]
  if (!labelBytes) return { problem: `no .${spec.labelField} field` }
  const label = Number(Buffer.from(labelBytes).toString('utf8').trim())
  if (!Number.isInteger(label) || label < 0 || label >= spec.classes) return { problem: `label ${JSON.stringify(Buffer.from(labelBytes).toString('utf8').trim())} is not a class index in 0…${spec.classes - 1}` }
  const bytes = sample.fields[spec.imageField]
  if (!bytes) return { problem: `no .${spec.imageField} field` }
  try {
    if (spec.imageField.endsWith('npy')) {
      const values = parseNpyFloat32(bytes)
      if (values.length !== h * w * c) return { problem: `npy holds ${values.length} values, expected ${h}×${w}×${c}` }
      return { x: values, label }
    }
    const pixels = await decodePixels(bytes, spec.imageField, h, w, c)
    if ('problem' in pixels) return pixels
    const x = new Float32Array(h * w * c)
    const { mean, std } = spec.normalization
    for (let i = 0; i < x.length; i++) {
      const ch = i % c
      x[i] = (pixels.rgb[i]! / 255 - mean[ch]!) / std[ch]!
    }
    return { x, label }
  } catch (err) {
    return { problem: `cannot decode .${spec.imageField}: ${(err as Error).message}` }
  }
}

async function decodePixels(bytes: Uint8Array, field: string, h: number, w: number, c: number): Promise<{ rgb: Uint8Array } | { problem: string }> {
  if ((field === 'jpg' || field === 'jpeg') && c === 3) {
    // A plain Uint8Array copy: decodeJpeg hands `bytes.slice().buffer` to the codec, and
    // Buffer#slice is a view, so a pooled Buffer field would decode the whole pool.
    const img = await decodeJpeg(Buffer.isBuffer(bytes) ? Uint8Array.from(bytes) : bytes)
    if (img.width !== w || img.height !== h) return { problem: `image is ${img.width}×${img.height}, expected ${w}×${h}` }
    const rgb = new Uint8Array(h * w * 3)
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgb[i] = img.rgba[j]!
      rgb[i + 1] = img.rgba[j + 1]!
      rgb[i + 2] = img.rgba[j + 2]!
    }
    return { rgb }
  }
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace(c === 1 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true })
  if (info.width !== w || info.height !== h || info.channels !== c) return { problem: `image is ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×${c}` }
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) }
}

/** A little-endian float32 `.npy` (what numpy.save writes) → its values. */
export function parseNpyFloat32(bytes: Uint8Array): Float32Array {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') throw new Error('not an npy file')
  const major = bytes[6]!
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const start = (major === 1 ? 10 : 12) + headerLength
  const header = Buffer.from(bytes.subarray(major === 1 ? 10 : 12, start)).toString('latin1')
  if (!header.includes("'<f4'")) throw new Error(`npy dtype is not little-endian float32 (${header.trim()})`)
  const count = (bytes.byteLength - start) / 4
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + i * 4, true)
  return out
}

export interface BatchOptions {
  shards: ShardLocation[]
  batchSize: number
  epoch: number
  seed: number
  /** Which worker reads (seeds its shuffle). */
  worker: number
  shuffleBuffer: number
  /** Batches to pass over without decoding (resume, restart). */
  skipBatches?: number
  /** Stop after this many batches (0 = all). */
  maxBatches?: number
  onSkip?: (skipped: SkippedSample) => void
}

/**
 * One epoch of batches for one worker. Shard order and the shuffle buffer are seeded
 * by (seed, worker, epoch), so the same config yields the same batches.
 */
export async function* readBatches(spec: ImageSpec, o: BatchOptions): AsyncGenerator<Batch> {
  const [h, w, c] = spec.imageShape
  const pixels = h * w * c
  const random = createRandom(mixSeed(o.seed, o.worker, o.epoch, 7))
  const shardOrder = shuffledIndices(o.shards.length, mixSeed(o.seed, o.worker, o.epoch, 11)).map((i) => o.shards[i]!)
  let produced = 0
  let pending: Sample[] = []
  const flush = async (group: Sample[]): Promise<Batch | null> => {
    const decoded = await Promise.all(group.map((s) => decodeSample(s, spec)))
    const xs = new Float32Array(group.length * pixels)
    const labels = new Int32Array(group.length)
    let n = 0
    decoded.forEach((d, i) => {
      if ('problem' in d) {
        o.onSkip?.({ url: group[i]!.url, key: group[i]!.key, reason: d.problem })
        return
      }
      xs.set(d.x, n * pixels)
      labels[n++] = d.label
    })
    if (n === 0) return null
    return { xs: n === group.length ? xs : xs.slice(0, n * pixels), labels: labels.slice(0, n), size: n }
  }
  const emit = async function* (sample: Sample): AsyncGenerator<Batch> {
    pending.push(sample)
    if (pending.length < o.batchSize) return
    const group = pending
    pending = []
    produced++
    if (produced <= (o.skipBatches ?? 0)) return
    const batch = await flush(group)
    if (batch) yield batch
  }
  const done = () => o.maxBatches !== undefined && o.maxBatches > 0 && produced >= o.maxBatches
  const buffer: Sample[] = []
  for (const shard of shardOrder) {
    for await (const sample of readSamples(shard, { onProblem: (p) => o.onSkip?.({ url: p.url, key: p.key ?? '', reason: p.message }) })) {
      if (buffer.length < o.shuffleBuffer) {
        buffer.push(sample)
        continue
      }
      // webdataset's shuffle: a random element of the full buffer leaves, the new one takes its place.
      const j = Math.floor(random() * buffer.length)
      const out = buffer[j]!
      buffer[j] = sample
      yield* emit(out)
      if (done()) return
    }
  }
  while (buffer.length > 0) {
    const j = Math.floor(random() * buffer.length)
    const out = buffer[j]!
    buffer[j] = buffer[buffer.length - 1]!
    buffer.pop()
    yield* emit(out)
    if (done()) return
  }
  if (pending.length > 0) {
    produced++
    if (produced > (o.skipBatches ?? 0)) {
      const batch = await flush(pending)
      if (batch) yield batch
    }
  }
}

export interface ValidationSet {
  batches: Batch[]
  count: number
  skipped: number
}

/** The validation samples, in shard order, decoded once (the evaluator reuses them every time). */
export async function loadValidationSet(spec: ImageSpec, shards: ShardLocation[], batchSize: number, limit = 0, onSkip?: (s: SkippedSample) => void): Promise<ValidationSet> {
  const [h, w, c] = spec.imageShape
  const pixels = h * w * c
  const batches: Batch[] = []
  let xs: Float32Array[] = []
  let labels: number[] = []
  let count = 0
  let skipped = 0
  const close = () => {
    if (labels.length === 0) return
    const flat = new Float32Array(labels.length * pixels)
    xs.forEach((x, i) => flat.set(x, i * pixels))
    batches.push({ xs: flat, labels: Int32Array.from(labels), size: labels.length })
    xs = []
    labels = []
  }
  outer: for (const shard of shards) {
    for await (const sample of readSamples(shard, { onProblem: (p) => { skipped++; onSkip?.({ url: p.url, key: p.key ?? '', reason: p.message }) } })) {
      const d = await decodeSample(sample, spec)
      if ('problem' in d) {
        skipped++
        onSkip?.({ url: sample.url, key: sample.key, reason: d.problem })
        continue
      }
      xs.push(d.x)
      labels.push(d.label)
      count++
      if (labels.length === batchSize) close()
      if (limit > 0 && count >= limit) break outer
    }
  }
  close()
  return { batches, count, skipped }
}
