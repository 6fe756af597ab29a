/**
 * generateDemo: the built-in demo dataset in the Tiny-ImageNet layout, deterministic
 * from its seed, optionally with the post-mortem's faults planted (and recorded in
 * faults.json as ground truth for tests; the verifier never reads that file).
 *
 *   OUT/train/train-%06d.tar   jpg + cls, classes shuffled across shards
 *   OUT/val/val-%06d.tar       jpg (or npy) + cls
 *   OUT/remote/val/…           only with the stale-copy fault
 *   OUT/wnids.txt, words.txt, dataset.json, faults.json
 */
import { truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { makeFolder } from '../folders'
import sharp from 'sharp'
import { MANIFEST_VERSION, type DatasetManifest } from '../../shared/manifest'
import { ShardWriter, type SampleToWrite, type ShardWritten } from '../wds/writer'
import { writeFileAtomic } from '../atomic-write'
import { PixelStatistics, shardPattern, writeManifest } from '../importer/dataset-folder'
import { describeClasses, renderSample, type DemoClass } from './images'
import { forEachOrdered } from '../ordered'
import { encodeNpyFloat32 } from './npy'
import { createRandom, mixSeed, pickIndices, shuffledIndices } from './random'
import type { DemoOptions, FaultName } from './options'

/** One planted fault, as written to faults.json. */
export interface PlantedFault {
  name: FaultName
  split: 'train' | 'val'
  /** Shard file (relative to the dataset folder) where it sits, when it sits in one. */
  shards: string[]
  /** Sample keys affected (empty when the fault is about a whole split or file). */
  keys: string[]
  detail: string
}

export interface DemoResult {
  manifest: DatasetManifest
  faults: PlantedFault[]
  shards: { train: ShardWritten[]; val: ShardWritten[]; remoteVal: ShardWritten[] }
  seconds: number
  samplesPerSecond: number
}

const JPEG_QUALITY = 90
/** How many samples each per-sample fault touches. */
const FAULTY_SAMPLES = 3

function encodeJpeg(rgb: Uint8Array, height: number, width: number): Promise<Uint8Array> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:4:4' })
    .toBuffer()
    .then((b) => new Uint8Array(b.buffer, b.byteOffset, b.length))
}

/** Split layout: which class and key each position in the (shuffled) split holds. */
interface SplitPlan {
  classOf(position: number): number
  keyOf(position: number): string
}

function planSplit(split: 'train' | 'val', n: number, classes: DemoClass[], seed: number): SplitPlan {
  // Sample i belongs to class i % classes; the shuffle spreads classes across shards,
  // because a class-ordered shard is itself a fault the verifier looks for.
  const order = shuffledIndices(n, mixSeed(seed, split === 'train' ? 1 : 2))
  const k = classes.length
  return {
    classOf: (p) => order[p]! % k,
    keyOf: (p) => {
      const i = order[p]!
      // Tiny ImageNet's own names: n01443537_17 in train, val_123 in val.
      return split === 'train' ? `${classes[i % k]!.wnid}_${Math.floor(i / k)}` : `val_${i}`
    }
  }
}

export async function generateDemo(outDir: string, options: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now()
  const o = { ...options, faults: [...new Set(options.faults ?? [])], valFormat: options.valFormat ?? 'jpg' }
  for (const [name, v] of Object.entries({ train: o.train, val: o.val, classes: o.classes, size: o.size, shardMaxcount: o.shardMaxcount })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive whole number, got ${v}`)
  }
  if (o.size < 8) throw new RangeError(`size must be at least 8 pixels, got ${o.size}`)
  const has = (f: FaultName) => o.faults.includes(f)
  if (has('unnormalized-val')) o.valFormat = 'npy'
  const concurrency = o.concurrency ?? 32
  const classes = describeClasses(o.classes, o.seed)
  const size = o.size
  const faults: PlantedFault[] = []

  await makeFolder(join(outDir, 'train'))
  await makeFolder(join(outDir, 'val'))

  // ---- train ----
  const train = planSplit('train', o.train, classes, o.seed)
  const trainShardCount = Math.ceil(o.train / o.shardMaxcount)
  // Per-sample faults stay out of the last shard, which truncated-shard may cut.
  const eligible = has('truncated-shard') && trainShardCount > 1 ? (trainShardCount - 1) * o.shardMaxcount : o.train
  const taken = new Set<number>()
  const corrupt = has('corrupt-image') ? pickIndices(eligible, FAULTY_SAMPLES, mixSeed(o.seed, 11), taken) : []
  const wrongSize = has('wrong-image-size') ? pickIndices(eligible, FAULTY_SAMPLES, mixSeed(o.seed, 12), taken) : []
  const missingLabel = has('missing-label') ? pickIndices(eligible, FAULTY_SAMPLES, mixSeed(o.seed, 13), taken) : []
  // duplicate-keys: position b in the first shard takes the key of position a = b − 3 (same shard, not adjacent).
  const duplicateInShard = new Map<number, number>()
  if (has('duplicate-keys')) {
    const firstShard = Math.min(o.shardMaxcount, eligible)
    for (let b = 3; b < firstShard && duplicateInShard.size < 2; b += 7) {
      if (!taken.has(b) && !taken.has(b - 3)) {
        duplicateInShard.set(b, b - 3)
        taken.add(b)
        taken.add(b - 3)
      }
    }
  }
  const corruptSet = new Set(corrupt)
  const wrongSizeSet = new Set(wrongSize)
  const missingLabelSet = new Set(missingLabel)
  const trainKeyOf = (p: number) => train.keyOf(duplicateInShard.get(p) ?? p)

  const stats = new PixelStatistics()
  const trainWriter = new ShardWriter({ dir: join(outDir, 'train'), pattern: 'train-%06d.tar', maxcount: o.shardMaxcount })
  await forEachOrdered(
    o.train,
    concurrency,
    async (p) => {
      const cls = classes[train.classOf(p)]!
      let [h, w] = [size, size]
      if (wrongSizeSet.has(p)) [h, w] = wrongSize.indexOf(p) % 2 === 0 ? [Math.round((size * 3) / 4), size] : [size / 2, size / 2].map(Math.round) as [number, number]
      const rgb = renderSample(cls, h, w, o.seed, 1, p)
      let jpg = await encodeJpeg(rgb, h, w)
      if (corruptSet.has(p)) {
        // Alternate the two ways JPEGs break in practice: cut short, or overwritten with garbage.
        if (corrupt.indexOf(p) % 2 === 0) jpg = jpg.slice(0, Math.floor(jpg.length * 0.4))
        else {
          const random = createRandom(mixSeed(o.seed, 14, p))
          jpg = Uint8Array.from({ length: jpg.length }, () => Math.floor(random() * 256))
        }
      }
      const fields: SampleToWrite['fields'] = { jpg }
      if (!missingLabelSet.has(p)) fields.cls = String(train.classOf(p))
      return { sample: { key: trainKeyOf(p), fields }, rgb: h === size && w === size ? rgb : undefined }
    },
    async (r, p) => {
      if (r.rgb) stats.add(r.rgb)
      await trainWriter.write(r.sample)
      o.onProgress?.({ split: 'train', done: p + 1, total: o.train })
    }
  )
  const trainShards = await trainWriter.close()
  const normalization = stats.result()

  const shardOf = (shards: ShardWritten[], folder: string, maxcount: number, p: number) => `${folder}/${shards[Math.floor(p / maxcount)]!.name}`
  const trainShardOf = (p: number) => shardOf(trainShards, 'train', o.shardMaxcount, p)
  const perSampleFault = (name: FaultName, positions: number[], detail: string) =>
    faults.push({ name, split: 'train', shards: [...new Set(positions.map(trainShardOf))], keys: positions.map(trainKeyOf), detail })
  if (has('corrupt-image')) perSampleFault('corrupt-image', corrupt, 'jpg cut to 40% of its bytes, or replaced by random bytes of the same length')
  if (has('wrong-image-size'))
    perSampleFault('wrong-image-size', wrongSize, `images of ${Math.round((size * 3) / 4)}×${size} or ${Math.round(size / 2)}×${Math.round(size / 2)} (height×width) among ${size}×${size}`)
  if (has('missing-label')) perSampleFault('missing-label', missingLabel, 'samples with a jpg and no cls field')

  // ---- val ----
  const val = planSplit('val', o.val, classes, o.seed)
  let acrossKey: { valPosition: number; trainPosition: number } | undefined
  if (has('duplicate-keys')) {
    const trainPosition = [...Array(eligible).keys()].find((p) => !taken.has(p) && !duplicateInShard.has(p))
    if (trainPosition !== undefined) acrossKey = { valPosition: Math.min(5, o.val - 1), trainPosition }
  }
  const valKeyOf = (p: number) => (acrossKey && p === acrossKey.valPosition ? train.keyOf(acrossKey.trainPosition) : val.keyOf(p))
  const labelOffset = has('label-offset') ? 1 : 0
  const staleMaxcount = Math.max(1, Math.round(o.shardMaxcount / 10))
  // The stale copy lost samples too: every 20th is missing from it.
  const staleDrops = (p: number) => p % 20 === 19
  const valWriter = new ShardWriter({ dir: join(outDir, 'val'), pattern: 'val-%06d.tar', maxcount: o.shardMaxcount })
  let staleWriter: ShardWriter | undefined
  const staleKeysMissing: string[] = []
  if (has('stale-copy')) {
    await makeFolder(join(outDir, 'remote', 'val'))
    staleWriter = new ShardWriter({ dir: join(outDir, 'remote', 'val'), pattern: 'val-%06d.tar', maxcount: staleMaxcount })
  }
  const [mean, std] = [normalization.mean, normalization.std]
  await forEachOrdered(
    o.val,
    concurrency,
    async (p) => {
      const c = val.classOf(p)
      const rgb = renderSample(classes[c]!, size, size, o.seed, 2, p)
      const needJpeg = o.valFormat === 'jpg' || staleWriter !== undefined
      const jpg = needJpeg ? await encodeJpeg(rgb, size, size) : undefined
      const fields: SampleToWrite['fields'] = { cls: String(c + labelOffset) }
      if (o.valFormat === 'jpg') fields.jpg = jpg!
      else {
        const values = new Float32Array(rgb.length)
        const raw = has('unnormalized-val')
        for (let i = 0; i < rgb.length; i++) values[i] = raw ? rgb[i]! : (rgb[i]! / 255 - mean[i % 3]!) / std[i % 3]!
        fields.npy = encodeNpyFloat32(values, [size, size, 3])
      }
      return { sample: { key: valKeyOf(p), fields }, stale: jpg ? { key: val.keyOf(p), fields: { jpg, cls: String(c) } } : undefined }
    },
    async (r, p) => {
      await valWriter.write(r.sample)
      if (staleWriter && r.stale) {
        if (staleDrops(p)) staleKeysMissing.push(r.stale.key)
        else await staleWriter.write(r.stale)
      }
      o.onProgress?.({ split: 'val', done: p + 1, total: o.val })
    }
  )
  const valShards = await valWriter.close()
  const remoteVal = staleWriter ? await staleWriter.close() : []
  const valShardOf = (p: number) => shardOf(valShards, 'val', o.shardMaxcount, p)

  if (has('duplicate-keys')) {
    const keys = [...duplicateInShard.values()].map((p) => train.keyOf(p))
    faults.push({
      name: 'duplicate-keys',
      split: 'train',
      shards: [...new Set([...duplicateInShard.keys()].map(trainShardOf))],
      keys,
      detail: 'each key appears twice in the same shard, 3 samples apart (different images)'
    })
    if (acrossKey) {
      faults.push({
        name: 'duplicate-keys',
        split: 'val',
        shards: [valShardOf(acrossKey.valPosition), trainShardOf(acrossKey.trainPosition)],
        keys: [train.keyOf(acrossKey.trainPosition)],
        detail: 'a val sample carries the key of a train sample'
      })
    }
  }
  if (has('label-offset'))
    faults.push({ name: 'label-offset', split: 'val', shards: valShards.map((s) => `val/${s.name}`), keys: [], detail: `val labels are 1 … ${o.classes} (train: 0 … ${o.classes - 1})` })
  if (has('unnormalized-val'))
    faults.push({
      name: 'unnormalized-val',
      split: 'val',
      shards: valShards.map((s) => `val/${s.name}`),
      keys: [],
      detail: 'val images are float32 npy holding raw 0–255 pixels where stored floats are meant to be normalised with dataset.json mean/std'
    })

  // ---- truncated-shard: cut the last train shard in the middle of a member ----
  if (has('truncated-shard')) {
    const last = trainShards[trainShards.length - 1]!
    if (last.samples >= 2) {
      const k = Math.floor(last.samples / 2)
      const start = last.sampleEnds[k - 1]!
      const length = last.sampleEnds[k]! - start
      // Past the first member's header, then off a block boundary: the cut lands inside member data.
      const cutAt = start + Math.max(512, Math.floor(length / 2 / 512) * 512) + 100
      await truncate(last.path, cutAt)
      faults.push({
        name: 'truncated-shard',
        split: 'train',
        shards: [`train/${last.name}`],
        keys: last.keys.slice(k),
        detail: `cut at byte ${cutAt} of ${last.bytes}, inside sample ${last.keys[k]}; ${k} of ${last.samples} samples complete before the cut`
      })
      last.bytes = cutAt
    }
  }

  const valPattern = has('pattern-misses-shard') ? 'val/val-000000.tar' : shardPattern('val', 'val', valShards.length)
  if (has('pattern-misses-shard'))
    faults.push({
      name: 'pattern-misses-shard',
      split: 'val',
      shards: valShards.slice(1).map((s) => `val/${s.name}`),
      keys: [],
      detail: `dataset.json's val pattern ${valPattern} names 1 of the ${valShards.length} val shards`
    })
  if (staleWriter) {
    faults.push({
      name: 'stale-copy',
      split: 'val',
      shards: remoteVal.map((s) => `remote/val/${s.name}`),
      keys: staleKeysMissing,
      detail: `remote copy in an older layout: ${remoteVal.length} shards of up to ${staleMaxcount} samples (local: ${valShards.length} of up to ${o.shardMaxcount}); ${staleKeysMissing.length} samples missing from it`
    })
  }

  const manifest: DatasetManifest = {
    version: MANIFEST_VERSION,
    name: o.name ?? `ShardScope demo (${o.classes} classes, seed ${o.seed})`,
    splits: {
      train: { pattern: shardPattern('train', 'train', trainShards.length), expectedSamples: o.train, shards: trainShards.length },
      val: {
        pattern: valPattern,
        expectedSamples: o.val,
        shards: valShards.length,
        ...(remoteVal.length > 0 ? { remote: { pattern: shardPattern('remote/val', 'val', remoteVal.length) } } : {}),
        ...(o.valFormat === 'npy' ? { imageField: 'npy' } : {})
      }
    },
    classes: o.classes,
    classIds: classes.map((c) => c.wnid),
    classNames: classes.map((c) => c.name),
    imageShape: [size, size, 3],
    imageField: 'jpg',
    labelField: 'cls',
    normalization,
    seed: o.seed
  }
  await writeFileAtomic(join(outDir, 'wnids.txt'), classes.map((c) => c.wnid).join('\n') + '\n')
  await writeFileAtomic(join(outDir, 'words.txt'), classes.map((c) => `${c.wnid}\t${c.name}`).join('\n') + '\n')
  await writeFileAtomic(join(outDir, 'faults.json'), JSON.stringify({ faults }, null, 2) + '\n')
  await writeManifest(outDir, manifest)
  const seconds = (performance.now() - t0) / 1000
  return { manifest, faults, shards: { train: trainShards, val: valShards, remoteVal }, seconds, samplesPerSecond: (o.train + o.val) / seconds }
}
