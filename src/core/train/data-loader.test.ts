import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeNpyFloat32, generateDemo } from '../demo'
import { expandPattern } from '../wds/patterns'
import type { Sample } from '../wds/types'
import { decodeSample, parseNpyFloat32, readBatches, splitShardsByWorker, type ImageSpec } from './data-loader'

let dir: string
let spec: ImageSpec
let shards: ReturnType<typeof expandPattern>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shardscope-loader-'))
  const { manifest } = await generateDemo(join(dir, 'demo'), { train: 40, val: 8, classes: 3, size: 8, shardMaxcount: 10, seed: 5 })
  spec = { imageField: 'jpg', labelField: 'cls', classes: 3, imageShape: manifest.imageShape, normalization: manifest.normalization }
  shards = expandPattern(manifest.splits.train.pattern, { baseDir: join(dir, 'demo') })
}, 60_000)

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function collect(o: Partial<Parameters<typeof readBatches>[1]> = {}) {
  const out = []
  for await (const b of readBatches(spec, { shards, batchSize: 4, epoch: 0, seed: 1, worker: 0, shuffleBuffer: 8, ...o })) out.push(b)
  return out
}

describe('training data loader', () => {
  it('splits shards like split_by_worker: shard i to worker i mod N, none for a worker beyond the shard count', () => {
    expect(splitShardsByWorker(['a', 'b', 'c', 'd', 'e'], 1, 2)).toEqual(['b', 'd'])
    expect(splitShardsByWorker(['a', 'b'], 3, 4)).toEqual([])
  })

  it('yields every sample once per epoch in NHWC batches, in the same order for the same seed and another for another epoch', async () => {
    const a = await collect()
    const b = await collect()
    const c = await collect({ epoch: 1 })
    expect(a.reduce((n, x) => n + x.size, 0)).toBe(40)
    expect(a[0]!.xs.length).toBe(4 * 8 * 8 * 3)
    expect(a.map((x) => Array.from(x.labels))).toEqual(b.map((x) => Array.from(x.labels)))
    expect(Array.from(a[0]!.xs.subarray(0, 16))).toEqual(Array.from(b[0]!.xs.subarray(0, 16)))
    expect(a.map((x) => Array.from(x.xs.subarray(0, 4)))).not.toEqual(c.map((x) => Array.from(x.xs.subarray(0, 4))))
  })

  it('skipping batches gives the same later batches without decoding the skipped ones', async () => {
    const all = await collect()
    const later = await collect({ skipBatches: 3 })
    expect(later).toHaveLength(all.length - 3)
    expect(Array.from(later[0]!.xs.subarray(0, 8))).toEqual(Array.from(all[3]!.xs.subarray(0, 8)))
  })

  it('normalises 8-bit images with mean/std but takes float32 npy images as already normalised', async () => {
    const [first] = await collect({ batchSize: 40 })
    const mean = first!.xs.reduce((a, x) => a + x, 0) / first!.xs.length
    expect(Math.abs(mean)).toBeLessThan(1.5)
    const raw = new Float32Array(8 * 8 * 3).fill(200)
    const sample: Sample = { key: 'k', url: 'u', indexInShard: 0, fields: { npy: encodeNpyFloat32(raw, [8, 8, 3]), cls: new TextEncoder().encode('2') } }
    const d = await decodeSample(sample, { ...spec, imageField: 'npy' })
    expect('x' in d && d.x[0]).toBe(200)
    expect(parseNpyFloat32(encodeNpyFloat32(new Float32Array([1.5, -2]), [2]))).toEqual(new Float32Array([1.5, -2]))
  })

  it('a sample with a bad label or image is reported, not fatal', async () => {
    const bad: Sample = { key: 'bad', url: 'u', indexInShard: 0, fields: { jpg: new Uint8Array([1, 2, 3]), cls: new TextEncoder().encode('7') } }
    expect(await decodeSample(bad, spec)).toEqual({ problem: 'label "7" is not a class index in 0…2' })
    const d = await decodeSample({ ...bad, fields: { ...bad.fields, cls: new TextEncoder().encode('1') } }, spec)
    expect('problem' in d && d.problem).toMatch(/cannot decode \.jpg/)
  })
})
