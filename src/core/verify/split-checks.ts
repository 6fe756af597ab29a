/**
 * The checks of one split that span its shards, as an accumulator fed with each shard's
 * result (./shard-check.ts) in shard order: keys (duplicates within and across shards
 * and splits), field sets (missing and extra fields), content hashes (leakage), and the
 * merged label, image and pixel statistics. Memory grows with the number of keys and
 * distinct labels, never with the bytes of the samples.
 */
import type { ReadProblem } from '../wds/types'
import type { SplitSummary } from '../../shared/contract/verify'
import type { PixelSums } from './inspect-image'
import { OffenderBook } from './offenders'
import { channelStats, emptySums, mergeSums, normaliseSums, type Normalization } from './pixel-stats'
import { MAX_TRACKED_SHAPES, type ShardCheck, type ShardCheckOptions } from './shard-check'

/** Distinct field sets tracked with example samples; more are only counted. */
const MAX_TRACKED_FIELD_SETS = 64

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
}

export class SplitChecks {
  readonly offenders: OffenderBook
  readonly shards = new Map<string, ShardTally>()
  /** key → where it was first seen and with which fields (sorted, comma-joined). */
  readonly keysSeen = new Map<string, { url: string; fields: string }>()
  readonly labelHistogram = new Map<number, number>()
  readonly fieldCounts = new Map<string, number>()
  /** Field set (sorted, comma-joined) → samples that have exactly it, with the first few. */
  readonly fieldSets = new Map<string, { count: number; examples: SampleRef[] }>()
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
  private rawChannels = 0

  constructor(
    readonly options: SplitCheckOptions,
    private readonly otherSplits?: Map<string, string>
  ) {
    this.offenders = new OffenderBook(options.maxOffenders)
    this.imageField = options.imageField
  }

  /** What a thread checking one of this split's shards needs to know. */
  shardOptions(maxPixels: number): ShardCheckOptions {
    const o = this.options
    return { imageField: o.imageField, labelField: o.labelField, requiredFields: o.requiredFields, classes: o.classes, batchSize: o.batchSize, maxOffenders: o.maxOffenders, maxPixels }
  }

  /** A shard that could not be checked at all (its thread failed). */
  addProblem(problem: ReadProblem): void {
    const shard = this.shards.get(problem.url)
    if (shard) shard.problems.push(problem)
    else this.shards.set(problem.url, { url: problem.url, samples: 0, bytes: 0, problems: [problem] })
  }

  /** Merge one shard's result; shards are added in pattern order. */
  addShard(r: ShardCheck): void {
    this.shards.set(r.url, { url: r.url, samples: r.samples, bytes: r.bytes, problems: r.problems })
    this.samples += r.samples
    if (!this.imageField && r.imageField) this.imageField = r.imageField
    for (const [field, n] of Object.entries(r.fieldCounts)) this.fieldCounts.set(field, (this.fieldCounts.get(field) ?? 0) + n)

    const setCounts = new Array<number>(r.fieldSets.length).fill(0)
    for (let i = 0; i < r.samples; i++) {
      const setId = r.fieldSetOfSample[i]!
      setCounts[setId]!++
      const key = r.keys[i]!
      this.checkKey(r.url, key, r.fieldSets[setId]!)
      const hash = r.hashes[i]
      if (hash && !this.contentHashes.has(hash) && this.contentHashes.size < 5_000_000) this.contentHashes.set(hash, { url: r.url, key, indexInShard: i })
    }
    r.fieldSets.forEach((fields, setId) => {
      let entry = this.fieldSets.get(fields)
      if (!entry && this.fieldSets.size < MAX_TRACKED_FIELD_SETS) this.fieldSets.set(fields, (entry = { count: 0, examples: [] }))
      if (!entry) return
      entry.count += setCounts[setId]!
      for (let i = 0; i < r.samples && entry.examples.length < this.options.maxOffenders; i++) {
        if (r.fieldSetOfSample[i] === setId) entry.examples.push({ url: r.url, key: r.keys[i]!, indexInShard: i })
      }
    })

    for (const [label, n] of r.labelHistogram) {
      if (this.labelHistogram.size < 100_000 || this.labelHistogram.has(label)) this.labelHistogram.set(label, (this.labelHistogram.get(label) ?? 0) + n)
    }
    const d = this.diversity
    d.batches += r.diversity.batches
    d.sum += r.diversity.sum
    d.min = Math.min(d.min, r.diversity.min)
    d.max = Math.max(d.max, r.diversity.max)

    this.imagesDecoded += r.imagesDecoded
    for (const [format, n] of Object.entries(r.imageFormats)) this.imageFormats.set(format, (this.imageFormats.get(format) ?? 0) + n)
    for (const [dtype, n] of Object.entries(r.imageDtypes)) this.imageDtypes.set(dtype, (this.imageDtypes.get(dtype) ?? 0) + n)
    for (const [shape, n] of Object.entries(r.imageShapes)) this.imageShapes.set(shape, (this.imageShapes.get(shape) ?? 0) + n)
    for (const [shape, refs] of Object.entries(r.shapeExamples)) {
      let examples = this.shapeExamples.get(shape)
      if (!examples && this.shapeExamples.size < MAX_TRACKED_SHAPES) this.shapeExamples.set(shape, (examples = []))
      for (const ref of refs) if (examples && examples.length < this.options.maxOffenders) examples.push({ url: r.url, ...ref })
    }
    this.addPixels(r)
    this.offenders.merge(r.offenders)
  }

  /**
   * Pixel sums of the images with the split's first image's channel count. Normalisation
   * is linear, so normalising a shard's summed 8-bit pixels equals summing each image's
   * normalised pixels; float32 (npy) data is meant to be stored normalised and is taken as is.
   */
  private addPixels(r: ShardCheck): void {
    if (this.rawChannels === 0 && r.pixels.length > 0) this.rawChannels = r.pixels[0]!.channels
    const norm = this.options.normalization
    for (const group of r.pixels) {
      if (group.channels !== this.rawChannels) continue
      this.rawPixels ??= emptySums(group.channels)
      mergeSums(this.rawPixels, group.sums)
      if (norm) {
        this.normalisedPixels ??= emptySums(group.channels)
        mergeSums(this.normalisedPixels, group.dtype === 'float32' ? group.sums : normaliseSums(group.sums, norm))
      }
    }
  }

  /**
   * A key seen before is a duplicate when both occurrences carry the same kind of
   * fields, and members of one key that are not adjacent when the occurrences split
   * the fields between them (a.jpg, b.jpg, a.cls). Keys of other splits come from
   * `otherSplits` (key → split name).
   */
  private checkKey(url: string, key: string, fields: string): void {
    const first = this.keysSeen.get(key)
    if (first) {
      const ref = { url, key }
      const before = new Set(first.fields.split(','))
      const overlap = fields.split(',').some((f) => before.has(f))
      if (!overlap && first.url === url) {
        this.offenders.add('non-adjacent-key', { ...ref, expected: 'all members of a key next to each other', found: `members .${first.fields.split(',').join(', .')} and later .${fields.split(',').join(', .')}` })
      } else {
        const where = first.url === url ? 'again in the same shard' : `also in ${first.url}`
        this.offenders.add('duplicate-keys', { ...ref, expected: 'a key used once', found: where })
      }
      return
    }
    this.keysSeen.set(key, { url, fields })
    const otherSplit = this.otherSplits?.get(key)
    if (otherSplit !== undefined) {
      this.offenders.add('duplicate-keys', { url, key, expected: 'a key used once in the dataset', found: `also in split ${otherSplit}` })
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
