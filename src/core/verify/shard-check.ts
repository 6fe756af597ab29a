/**
 * One shard, end to end, on whichever thread runs it: read the bytes (a local file in
 * large reads into one reused buffer; gzip and http through the wds sources), walk the
 * tar headers in place (src/core/wds/tar-scan.ts), group members into samples by the
 * webdataset rule, and check each sample: structure, label, image (decoded, pixel
 * statistics, content hash). What comes back is small: per-sample keys, field sets and
 * content hashes (the checks that span shards need them) plus the shard's aggregates.
 * No sample bytes leave the thread.
 */
import { createHash } from 'node:crypto'
import type { OffendingSample } from '../../shared/contract/verify'
import { SampleGrouper, type GroupedSample } from '../wds/grouping'
import { DEFAULT_MAX_MEMBER_BYTES, judgeScanEnd } from '../wds/read-problems'
import { scanShard } from '../wds/scan-shard'
import type { ReadProblem, ShardLocation, TarMember } from '../wds/types'
import { inspectImage, loadImageDecoders, newPixelTally, tallySums, type ImageInspection, type InspectLimits, type PixelSums, type PixelTally } from './inspect-image'
import { OffenderBook } from './offenders'

export const IMAGE_FIELDS = ['jpg', 'jpeg', 'png', 'webp', 'npy']
/** Distinct shapes tracked with example offenders; more are only counted. */
export const MAX_TRACKED_SHAPES = 64
/** Large sequential reads: one reused buffer per thread keeps memory flat whatever the shard size. */
const READ_CHUNK_BYTES = 1 << 20
const utf8 = new TextDecoder('utf-8', { fatal: false })

export interface ShardCheckOptions extends InspectLimits {
  /** The split's image field; when absent, the first of jpg/jpeg/png/webp/npy a sample has. */
  imageField?: string
  labelField: string
  requiredFields?: string[]
  classes?: number
  batchSize: number
  maxOffenders: number
  /** Members larger than this are reported and skipped (default 64 MiB). */
  maxMemberBytes?: number
  /** Count samples and keys only: no label, image or structure checks (shards a pattern skips, other copies). */
  countOnly?: boolean
  /** Also the SHA-256 of the shard's bytes as stored (another copy's shards, local or over http, compared with the local files). */
  sha256?: boolean
}

/** Sums of the images of one kind: 8-bit pixels as stored, or float32 (npy, meant to be normalised already). */
export interface PixelGroup {
  dtype: 'uint8' | 'float32'
  channels: number
  sums: PixelSums
}

/** What one shard gave; plain data, so it crosses from a worker thread as it is. */
export interface ShardCheck {
  url: string
  bytes: number
  problems: ReadProblem[]
  samples: number
  /** Per sample, in tar order: key, index into `fieldSets`, content hash of the decoded image ('' when none). */
  keys: string[]
  fieldSetOfSample: number[]
  hashes: string[]
  /** Distinct field sets (sorted, comma-joined). */
  fieldSets: string[]
  fieldCounts: Record<string, number>
  /** With the `sha256` option, when the whole shard could be read. */
  sha256?: string
  imageField?: string
  labelHistogram: Array<[number, number]>
  diversity: { batches: number; sum: number; min: number; max: number }
  imagesDecoded: number
  imageFormats: Record<string, number>
  imageDtypes: Record<string, number>
  imageShapes: Record<string, number>
  /** Shape → the first samples (up to maxOffenders) that have it. */
  shapeExamples: Record<string, Array<{ key: string; indexInShard: number }>>
  /** In the order the shard's first image of each kind appeared. */
  pixels: PixelGroup[]
  offenders: Record<string, { items: OffendingSample[]; count: number }>
}

export type ShardProgress = (samplesDone: number) => void

/** Checks one shard. Never throws for a shard that cannot be read: that is a problem in the result. */
export async function checkShard(location: ShardLocation, options: ShardCheckOptions, onProgress?: ShardProgress, signal?: AbortSignal): Promise<ShardCheck> {
  await loadImageDecoders()
  const checker = new ShardChecker(location.url, options)
  const pending: GroupedSample<MemberBytes>[] = []
  const grouper = new SampleGrouper<MemberBytes>(location.url, (s) => pending.push(s), (p) => checker.problems.push(p))
  // scanTar lends views into the read buffer, valid until the next read. Samples complete
  // in a chunk are checked before that read; the bytes of the one still open are copied then.
  let lent: MemberBytes[] = []
  const maxMemberBytes = options.maxMemberBytes ?? DEFAULT_MAX_MEMBER_BYTES
  const wanted = (field: string) => !options.countOnly && (field === options.labelField || IMAGE_FIELDS.includes(field) || field === options.imageField)
  const scanOptions = {
    onMember: (member: TarMember, data: Buffer | undefined) => {
      const accepted = grouper.accept(member)
      if (member.type === 'directory') {
        // grouping.ts skips folders silently; each is reported here, naming the shard and the member.
        checker.problems.push({ url: location.url, kind: 'not-regular-file', member: member.name, message: `member "${member.name}" is a directory, not a regular file: skipped` })
        return
      }
      if (!accepted) return
      if (member.size > maxMemberBytes) {
        const problem: ReadProblem = { url: location.url, kind: 'member-too-large', member: member.name, key: accepted.key, message: `member "${member.name}" is ${member.size} bytes, over the ${maxMemberBytes}-byte limit: skipped` }
        checker.problems.push(problem)
        return
      }
      const bytes: MemberBytes = { bytes: data }
      if (data) lent.push(bytes)
      grouper.add(accepted.key, accepted.field, bytes, member.name)
    },
    wantData: (name: string, size: number) => size <= maxMemberBytes && wanted(fieldOf(name))
  }
  // Samples complete in the chunk just scanned are checked between chunks, where awaiting
  // (png/webp through sharp) is possible; scanTar's callbacks are synchronous.
  const drain = async () => {
    for (const sample of pending) {
      const checking = checker.addSample(sample)
      if (checking) await checking
      for (const field in sample.fields) sample.fields[field]!.bytes = undefined
      if ((checker.samples & 511) === 0) onProgress?.(checker.samples)
    }
    pending.length = 0
    for (const m of lent) if (m.bytes) m.bytes = Uint8Array.prototype.slice.call(m.bytes)
    lent = []
    if (signal?.aborted) throw signal.reason ?? new Error('aborted')
  }

  const scan = await scanShard(location, scanOptions, { buffer: readBuffer(), signal, afterChunk: drain, sha256: options.sha256 })
  checker.bytes = scan.bytes
  checker.sha256 = scan.sha256
  if (scan.unreadable !== undefined) {
    checker.problems.push({ url: location.url, kind: 'unreadable', message: scan.unreadable })
    return checker.result()
  }
  const { scanned, failure, start } = scan
  const end = judgeScanEnd(location.url, scanned, failure, start, scan.severalGzipStreams)
  // As readSamples does, the sample the bytes ran out in is not handed out.
  grouper.finishAtEnd(end)
  await drain()
  checker.problems.push(...end.problems)
  // The half sample at a truncation point belongs to the truncation finding, not to structure or image findings.
  if (end.problem?.kind === 'truncated') checker.forgetLastSample()
  return checker.result()
}

/** The value of a label written as plain ASCII digits (the usual `.cls`), else null: read without a string. */
function plainDigits(bytes: Uint8Array): number | null {
  if (bytes.length === 0 || bytes.length > 15) return null
  let value = 0
  for (let i = 0; i < bytes.length; i++) {
    const d = bytes[i]! - 48
    if (d < 0 || d > 9) return null
    value = value * 10 + d
  }
  return value
}

/** A member's bytes as lent by scanTar, or copied when they must outlive the read buffer. */
interface MemberBytes {
  bytes: Uint8Array | undefined
}

function fieldOf(name: string): string {
  const slash = name.lastIndexOf('/')
  const dot = name.indexOf('.', slash + 1)
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase()
}

let spareBuffer: Buffer | null = null
/** One read buffer per thread: shards are checked one at a time on each thread. */
function readBuffer(): Buffer {
  spareBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES)
  return spareBuffer
}

/** The per-sample checks of one shard, as an accumulator. */
class ShardChecker {
  bytes = 0
  sha256: string | undefined
  samples = 0
  readonly problems: ReadProblem[] = []
  private readonly offenders: OffenderBook
  private readonly keys: string[] = []
  private readonly fieldSetOfSample: number[] = []
  private readonly hashes: string[] = []
  private readonly fieldSetIds = new Map<string, number>()
  private readonly fieldCounts: Record<string, number> = {}
  private imageField: string | undefined
  private readonly labelHistogram = new Map<number, number>()
  private readonly diversity = { batches: 0, sum: 0, min: Infinity, max: 0 }
  private batchLabels = new Set<number>()
  private batchCount = 0
  private imagesDecoded = 0
  private readonly imageFormats: Record<string, number> = {}
  private readonly imageDtypes: Record<string, number> = {}
  private readonly imageShapes: Record<string, number> = {}
  private readonly shapeExamples: Record<string, Array<{ key: string; indexInShard: number }>> = {}
  private readonly pixels: Array<{ dtype: 'uint8' | 'float32'; tally: PixelTally }> = []

  constructor(
    private readonly url: string,
    private readonly options: ShardCheckOptions
  ) {
    this.offenders = new OffenderBook(options.maxOffenders)
    this.imageField = options.imageField
  }

  /** Synchronous unless the image needs sharp (png, webp). */
  addSample(sample: GroupedSample<MemberBytes>): Promise<void> | void {
    const index = this.samples++
    const fieldNames = Object.keys(sample.fields)
    const fieldSet = fieldNames.length === 1 ? fieldNames[0]! : [...fieldNames].sort().join(',')
    let setId = this.fieldSetIds.get(fieldSet)
    if (setId === undefined) this.fieldSetIds.set(fieldSet, (setId = this.fieldSetIds.size))
    this.keys.push(sample.key)
    this.fieldSetOfSample.push(setId)
    this.hashes.push('')
    for (const field of fieldNames) this.fieldCounts[field] = (this.fieldCounts[field] ?? 0) + 1
    if (this.options.countOnly) return

    const ref = { url: this.url, key: sample.key }
    if (sample.key.includes('\uFFFD')) {
      this.offenders.add('non-utf8-name', { ...ref, expected: 'a UTF-8 member name', found: `bytes that are not UTF-8 (read as ${JSON.stringify(sample.key)})` })
    }
    const imageField = this.imageField ?? IMAGE_FIELDS.find((f) => f in sample.fields)
    if (!this.imageField && imageField) this.imageField = imageField
    const labelField = this.options.labelField
    const required = this.options.requiredFields ?? [imageField ?? 'jpg', labelField]
    for (const field of required) {
      if (!(field in sample.fields)) {
        const code = field === labelField ? 'missing-label' : 'missing-field'
        this.offenders.add(code, { ...ref, field, expected: `a .${field} member`, found: `fields ${fieldNames.sort().join(', ') || '(none)'}` })
      }
    }

    const labelBytes = sample.fields[labelField]?.bytes
    if (labelBytes) {
      const label = this.parseLabel(labelBytes, ref)
      if (label !== null) {
        this.labelHistogram.set(label, (this.labelHistogram.get(label) ?? 0) + 1)
        this.countForDiversity(label)
      }
    }

    const imageBytes = imageField ? sample.fields[imageField]?.bytes : undefined
    if (imageField && imageBytes) return this.addImage(index, sample.key, imageField, imageBytes)
  }

  private parseLabel(bytes: Uint8Array, ref: { url: string; key: string }): number | null {
    const digits = plainDigits(bytes)
    if (digits !== null) return this.checkRange(digits, ref)
    const field = this.options.labelField
    if (bytes.length > 64) {
      this.offenders.add('label-not-integer', { ...ref, field, expected: 'a decimal class index', found: `${bytes.length.toLocaleString('en-US')} bytes of text` })
      return null
    }
    const text = utf8.decode(bytes).trim()
    if (!/^[+-]?\d+$/.test(text)) {
      this.offenders.add('label-not-integer', { ...ref, field, expected: 'a decimal class index', found: JSON.stringify(text.slice(0, 32)) })
      return null
    }
    return this.checkRange(Number(text), ref)
  }

  private checkRange(label: number, ref: { url: string; key: string }): number {
    const field = this.options.labelField
    const classes = this.options.classes
    if (label < 0 || (classes !== undefined && label >= classes)) {
      this.offenders.add('label-out-of-range', { ...ref, field, expected: classes !== undefined ? `0 … ${classes - 1}` : '≥ 0', found: String(label) })
    }
    return label
  }

  /** Distinct labels per `batchSize` consecutive samples of the shard, as a sequential loader batches them. */
  private countForDiversity(label: number): void {
    this.batchLabels.add(label)
    this.batchCount++
    if (this.batchCount === this.options.batchSize) {
      const d = this.diversity
      d.batches++
      d.sum += this.batchLabels.size
      d.min = Math.min(d.min, this.batchLabels.size)
      d.max = Math.max(d.max, this.batchLabels.size)
      this.batchLabels = new Set()
      this.batchCount = 0
    }
  }

  private addImage(index: number, key: string, field: string, bytes: Uint8Array): Promise<void> | void {
    const inspection = inspectImage(bytes, field, this.options, this.pixelsFor)
    if (inspection instanceof Promise) return inspection.then((image) => this.countImage(index, key, field, bytes, image))
    this.countImage(index, key, field, bytes, inspection)
  }

  private countImage(index: number, key: string, field: string, bytes: Uint8Array, image: ImageInspection): void {
    if (image.error) {
      const code = image.errorKind === 'too-large' ? 'image-too-large' : image.errorKind === 'unsupported' ? 'image-unsupported' : 'corrupt-image'
      this.offenders.add(code, { url: this.url, key, field, expected: 'a decodable image', found: image.error })
      return
    }
    this.imagesDecoded++
    // SHA-1 through node:crypto: ≈ 2.6 µs per 2.5 KB JPEG here, against ≈ 70 µs to decode it.
    this.hashes[index] = createHash('sha1').update(bytes).digest('hex').slice(0, 16)
    this.imageFormats[image.format] = (this.imageFormats[image.format] ?? 0) + 1
    if (image.dtype) this.imageDtypes[image.dtype] = (this.imageDtypes[image.dtype] ?? 0) + 1
    const shape = `${image.height}x${image.width}x${image.channels}`
    this.imageShapes[shape] = (this.imageShapes[shape] ?? 0) + 1
    let examples = this.shapeExamples[shape]
    if (!examples && Object.keys(this.shapeExamples).length < MAX_TRACKED_SHAPES) this.shapeExamples[shape] = examples = []
    if (examples && examples.length < this.options.maxOffenders) examples.push({ key, indexInShard: index })
  }

  /** Where an image's pixels are counted (one tally per dtype and channel count, in order of first use). */
  private readonly pixelsFor = (dtype: 'uint8' | 'float32', channels: number): PixelTally => {
    for (const g of this.pixels) if (g.dtype === dtype && g.tally.channels === channels) return g.tally
    const group = { dtype, tally: newPixelTally(channels) }
    this.pixels.push(group)
    return group.tally
  }

  /** Forget the offenders of the last sample (cut by a truncation). */
  forgetLastSample(): void {
    const key = this.keys[this.keys.length - 1]
    if (key !== undefined) this.offenders.removeEverywhere((o) => o.key === key)
  }

  result(): ShardCheck {
    const d = this.diversity
    return {
      url: this.url,
      bytes: this.bytes,
      problems: this.problems,
      samples: this.samples,
      keys: this.keys,
      fieldSetOfSample: this.fieldSetOfSample,
      hashes: this.hashes,
      fieldSets: [...this.fieldSetIds.keys()],
      fieldCounts: this.fieldCounts,
      sha256: this.sha256,
      imageField: this.imageField,
      labelHistogram: [...this.labelHistogram],
      diversity: { batches: d.batches, sum: d.sum, min: d.min, max: d.max },
      imagesDecoded: this.imagesDecoded,
      imageFormats: this.imageFormats,
      imageDtypes: this.imageDtypes,
      imageShapes: this.imageShapes,
      shapeExamples: this.shapeExamples,
      pixels: this.pixels.map((g) => ({ dtype: g.dtype, channels: g.tally.channels, sums: tallySums(g.tally) })),
      offenders: this.offenders.toRecord()
    }
  }
}
