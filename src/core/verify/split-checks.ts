/**
 * The per-sample checks of one split, as an accumulator fed by the sample stream
 * (structure, labels, label diversity) and by the decode threads (images, pixel
 * statistics, content hashes). Memory grows with the number of keys and distinct
 * labels, never with the bytes of the samples.
 */
import type { ReadProblem, Sample } from '../wds/types'
import type { SplitSummary } from '../../shared/contract/verify'
import type { ImageInspection, PixelSums } from './inspect-image'
import { OffenderBook } from './offenders'
import { channelStats, emptySums, mergeSums, normaliseSums, type Normalization } from './pixel-stats'

const IMAGE_FIELDS = ['jpg', 'jpeg', 'png', 'webp', 'npy']
/** Distinct shapes tracked with example offenders; more are only counted. */
const MAX_TRACKED_SHAPES = 64
const utf8 = new TextDecoder('utf-8', { fatal: false })

export interface SplitCheckOptions {
  split: string
  pattern: string
  /** The split's image field; when absent, the first of jpg/jpeg/png/webp/npy a sample has. */
  imageField?: string
  labelField: string
  requiredFields?: string[]
  classes?: number
  /** [height, width, channels] every image should have; when absent, the majority. */
  imageShape?: [number, number, number]
  normalization?: Normalization
  batchSize: number
  maxOffenders: number
  expectedSamples?: number
}

export interface SampleRef {
  url: string
  key: string
  indexInShard: number
}

interface ShardTally {
  url: string
  samples: number
  bytes: number
  problems: ReadProblem[]
  lastKey?: string
  keys: Set<string>
}

export class SplitChecks {
  readonly offenders: OffenderBook
  readonly shards = new Map<string, ShardTally>()
  /** key → where it was first seen and with which fields (sorted, comma-joined). */
  readonly keysSeen = new Map<string, { url: string; fields: string }>()
  readonly labelHistogram = new Map<number, number>()
  readonly fieldCounts = new Map<string, number>()
  readonly imageFormats = new Map<string, number>()
  readonly imageDtypes = new Map<string, number>()
  readonly imageShapes = new Map<string, number>()
  readonly shapeExamples = new Map<string, SampleRef[]>()
  readonly contentHashes = new Map<string, SampleRef>()
  /** Distinct labels per full batch: count of batches, sum, min, max. */
  readonly diversity = { batches: 0, sum: 0, min: Infinity, max: 0 }
  samples = 0
  imagesDecoded = 0
  imageField: string | undefined
  rawPixels: PixelSums | null = null
  normalisedPixels: PixelSums | null = null
  private batchLabels = new Set<number>()
  private batchCount = 0
  private batchShard = ''

  constructor(
    readonly options: SplitCheckOptions,
    private readonly otherSplits?: Map<string, string>
  ) {
    this.offenders = new OffenderBook(options.maxOffenders)
    this.imageField = options.imageField
  }

  startShard(url: string, bytes: number): void {
    this.shards.set(url, { url, samples: 0, bytes, problems: [], keys: new Set() })
    this.batchLabels = new Set()
    this.batchCount = 0
    this.batchShard = url
  }

  addProblem(problem: ReadProblem): void {
    this.shards.get(problem.url)?.problems.push(problem)
  }

  /** Structure and label checks; returns the image field to decode, if the sample has one. */
  addSample(sample: Sample): { field: string; bytes: Uint8Array } | null {
    this.samples++
    const shard = this.shards.get(sample.url)
    if (shard) {
      shard.samples++
      shard.lastKey = sample.key
    }
    const ref = { url: sample.url, key: sample.key }
    for (const field of Object.keys(sample.fields)) this.fieldCounts.set(field, (this.fieldCounts.get(field) ?? 0) + 1)

    this.checkKey(sample)

    const imageField = this.imageField ?? IMAGE_FIELDS.find((f) => f in sample.fields)
    if (!this.imageField && imageField) this.imageField = imageField
    const required = this.options.requiredFields ?? [imageField ?? 'jpg', this.options.labelField]
    for (const field of required) {
      if (!(field in sample.fields)) {
        const code = field === this.options.labelField ? 'missing-label' : 'missing-field'
        this.offenders.add(code, { ...ref, field, expected: `a .${field} member`, found: `fields ${Object.keys(sample.fields).sort().join(', ') || '(none)'}` })
      }
    }

    const labelBytes = sample.fields[this.options.labelField]
    if (labelBytes) {
      const label = this.parseLabel(labelBytes, ref)
      if (label !== null) {
        if (this.labelHistogram.size < 100_000 || this.labelHistogram.has(label)) this.labelHistogram.set(label, (this.labelHistogram.get(label) ?? 0) + 1)
        this.countForDiversity(sample.url, label)
      }
    }

    const imageBytes = imageField ? sample.fields[imageField] : undefined
    return imageField && imageBytes ? { field: imageField, bytes: imageBytes } : null
  }

  /**
   * A key seen before is a duplicate when both occurrences carry the same kind of
   * fields, and members of one key that are not adjacent when the occurrences split
   * the fields between them (a.jpg, b.jpg, a.cls). Keys of other splits come from
   * `otherSplits` (key → split name).
   */
  private checkKey(sample: Sample): void {
    const ref = { url: sample.url, key: sample.key }
    const fields = Object.keys(sample.fields).sort().join(',')
    if (sample.key.includes('\uFFFD')) {
      this.offenders.add('non-utf8-name', { ...ref, expected: 'a UTF-8 member name', found: `bytes that are not UTF-8 (read as ${JSON.stringify(sample.key)})` })
    }
    const first = this.keysSeen.get(sample.key)
    if (first) {
      const before = new Set(first.fields.split(','))
      const overlap = Object.keys(sample.fields).some((f) => before.has(f))
      if (!overlap && first.url === sample.url) {
        this.offenders.add('non-adjacent-key', { ...ref, expected: 'all members of a key next to each other', found: `members .${first.fields.split(',').join(', .')} and later .${fields.split(',').join(', .')}` })
      } else {
        const where = first.url === sample.url ? 'again in the same shard' : `also in ${first.url}`
        this.offenders.add('duplicate-keys', { ...ref, expected: 'a key used once', found: where })
      }
      return
    }
    this.keysSeen.set(sample.key, { url: sample.url, fields })
    const otherSplit = this.otherSplits?.get(sample.key)
    if (otherSplit !== undefined) {
      this.offenders.add('duplicate-keys', { ...ref, expected: 'a key used once in the dataset', found: `also in split ${otherSplit}` })
    }
  }

  private parseLabel(bytes: Uint8Array, ref: { url: string; key: string }): number | null {
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
    const label = Number(text)
    const classes = this.options.classes
    if (label < 0 || (classes !== undefined && label >= classes)) {
      this.offenders.add('label-out-of-range', { ...ref, field, expected: classes !== undefined ? `0 … ${classes - 1}` : '≥ 0', found: String(label) })
    }
    return label
  }

  /** Distinct labels per `batchSize` consecutive samples of a shard, as a sequential loader batches them. */
  private countForDiversity(url: string, label: number): void {
    if (url !== this.batchShard) {
      this.batchShard = url
      this.batchLabels = new Set()
      this.batchCount = 0
    }
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

  addImage(ref: SampleRef, field: string, image: ImageInspection): void {
    const where = { url: ref.url, key: ref.key, field }
    if (image.error) {
      const code = image.errorKind === 'too-large' ? 'image-too-large' : image.errorKind === 'unsupported' ? 'image-unsupported' : 'corrupt-image'
      this.offenders.add(code, { ...where, expected: 'a decodable image', found: image.error })
      return
    }
    this.imagesDecoded++
    this.imageFormats.set(image.format, (this.imageFormats.get(image.format) ?? 0) + 1)
    if (image.dtype) this.imageDtypes.set(image.dtype, (this.imageDtypes.get(image.dtype) ?? 0) + 1)
    const shape = `${image.height}x${image.width}x${image.channels}`
    this.imageShapes.set(shape, (this.imageShapes.get(shape) ?? 0) + 1)
    let examples = this.shapeExamples.get(shape)
    if (!examples && this.shapeExamples.size < MAX_TRACKED_SHAPES) this.shapeExamples.set(shape, (examples = []))
    if (examples && examples.length < this.options.maxOffenders) examples.push(ref)
    if (!this.contentHashes.has(image.hash) && this.contentHashes.size < 5_000_000) this.contentHashes.set(image.hash, ref)
    if (image.pixels) {
      const channels = image.pixels.sum.length
      this.rawPixels ??= emptySums(channels)
      if (this.rawPixels.sum.length === channels) {
        mergeSums(this.rawPixels, image.pixels)
        if (this.options.normalization) {
          this.normalisedPixels ??= emptySums(channels)
          mergeSums(this.normalisedPixels, image.dtype === 'float32' ? image.pixels : normaliseSums(image.pixels, this.options.normalization))
        }
      }
    }
  }

  /** The half sample at a truncation point belongs to the truncation finding, not to structure or image findings. */
  forgetTruncatedTails(): void {
    for (const shard of this.shards.values()) {
      if (!shard.lastKey || !shard.problems.some((p) => p.kind === 'truncated')) continue
      const key = shard.lastKey
      this.offenders.removeEverywhere((o) => o.url === shard.url && o.key === key)
    }
  }

  /** Expected shape: given, else the majority. */
  expectedShape(): string | undefined {
    const given = this.options.imageShape
    if (given) return `${given[0]}x${given[1]}x${given[2]}`
    let best: [string, number] | undefined
    for (const entry of this.imageShapes) if (!best || entry[1] > best[1]) best = entry
    return best?.[0]
  }

  summary(): SplitSummary {
    const d = this.diversity
    return {
      name: this.options.split,
      pattern: this.options.pattern,
      shards: [...this.shards.values()].map((s) => ({ url: s.url, samples: s.samples, bytes: s.bytes, problems: s.problems.length })),
      samples: this.samples,
      expectedSamples: this.options.expectedSamples,
      imageField: this.imageField,
      imageFormats: Object.fromEntries(this.imageFormats),
      imageShapes: Object.fromEntries(this.imageShapes),
      imagesDecoded: this.imagesDecoded,
      labelHistogram: Object.fromEntries([...this.labelHistogram].sort((a, b) => a[0] - b[0]).map(([l, n]) => [String(l), n])),
      labelDiversity:
        d.batches > 0
          ? { batchSize: this.options.batchSize, batches: d.batches, min: d.min, mean: Math.round((d.sum / d.batches) * 100) / 100, max: d.max }
          : undefined,
      pixelsRaw: this.rawPixels ? channelStats(this.rawPixels) : undefined,
      pixelsNormalised: this.normalisedPixels ? channelStats(this.normalisedPixels) : undefined
    }
  }
}
