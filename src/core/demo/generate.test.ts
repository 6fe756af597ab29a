import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatasetManifestSchema, type DatasetManifest } from '../../shared/manifest'
import { expandPattern, readSamples, type ReadProblem } from '../wds'
import { generateDemo, type PlantedFault } from './generate'
import { FAULT_NAMES, type DemoOptions } from './options'

const root = mkdtempSync(join(tmpdir(), 'shardscope-demo-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/**
 * Reads every shard of a dataset folder with Python's tarfile, groups members by the
 * webdataset key rule, decodes jpg with PIL and npy with numpy: an independent reader.
 */
const INSPECT = `
import tarfile, json, re, sys, os, io
import numpy as np
from PIL import Image
root = sys.argv[1]
out = {}
for folder, _, files in sorted(os.walk(root)):
    for f in sorted(files):
        if not f.endswith('.tar'): continue
        path = os.path.join(folder, f)
        rel = os.path.relpath(path, root)
        samples, error = [], None
        try:
            with tarfile.open(path) as tf:
                for m in tf:
                    mm = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name)
                    key, ext = mm.group(1), mm.group(2).lower()
                    data = tf.extractfile(m).read()
                    if not samples or samples[-1]["key"] != key:
                        samples.append({"key": key, "fields": {}})
                    s = samples[-1]
                    if ext == 'cls':
                        s["cls"] = int(data.decode())
                    elif ext == 'jpg':
                        try:
                            im = Image.open(io.BytesIO(data)); im.load()
                            s["jpg"] = [im.height, im.width, im.mode]
                            if im.size == (int(sys.argv[2]), int(sys.argv[2])):
                                a = np.asarray(im.convert('RGB'), dtype=np.float64) / 255
                                s["sum"] = a.reshape(-1, 3).sum(0).tolist()
                        except Exception as e:
                            s["jpg"] = "error: " + type(e).__name__
                    elif ext == 'npy':
                        a = np.load(io.BytesIO(data))
                        s["npy"] = [list(a.shape), str(a.dtype), float(a.min()), float(a.max()), float(a.mean()), float(a.std())]
                    s["fields"][ext] = len(data)
        except Exception as e:
            error = type(e).__name__ + ": " + str(e)
        out[rel] = {"samples": samples, "error": error}
print(json.dumps(out))
`

interface InspectedSample {
  key: string
  fields: Record<string, number>
  cls?: number
  jpg?: [number, number, string] | string
  sum?: [number, number, number]
  npy?: [number[], string, number, number, number, number]
}
type Inspection = Record<string, { samples: InspectedSample[]; error: string | null }>

function inspect(dir: string, size = 64): Inspection {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', INSPECT, dir, String(size)], { encoding: 'utf8', maxBuffer: 1 << 28 })) as Inspection
}

function readManifest(dir: string): DatasetManifest {
  return DatasetManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8')))
}

function tarsIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tar')).sort()
}

const small: DemoOptions = { train: 200, val: 60, classes: 5, size: 32, shardMaxcount: 50, seed: 3 }

describe('generateDemo without faults', () => {
  const dir = join(root, 'healthy')
  let inspection: Inspection
  beforeAll(async () => {
    await generateDemo(dir, small)
    inspection = inspect(dir, 32)
  }, 60_000)

  it('writes Tiny-ImageNet layout shards with every sample counted where dataset.json says', () => {
    expect(tarsIn(join(dir, 'train'))).toEqual(['train-000000.tar', 'train-000001.tar', 'train-000002.tar', 'train-000003.tar'])
    expect(tarsIn(join(dir, 'val'))).toEqual(['val-000000.tar', 'val-000001.tar'])
    expect(Object.fromEntries(Object.entries(inspection).map(([k, v]) => [k, v.samples.length]))).toEqual({
      'train/train-000000.tar': 50,
      'train/train-000001.tar': 50,
      'train/train-000002.tar': 50,
      'train/train-000003.tar': 50,
      'val/val-000000.tar': 50,
      'val/val-000001.tar': 10
    })
    for (const v of Object.values(inspection)) expect(v.error).toBeNull()
    const m = readManifest(dir)
    expect(m.splits.train).toEqual({ pattern: 'train/train-{000000..000003}.tar', expectedSamples: 200, shards: 4 })
    expect(m.splits.val).toEqual({ pattern: 'val/val-{000000..000001}.tar', expectedSamples: 60, shards: 2 })
    expect(m.imageShape).toEqual([32, 32, 3])
    expect([m.imageField, m.labelField, m.classes, m.seed]).toEqual(['jpg', 'cls', 5, 3])
  })

  it("dataset.json's patterns expand to exactly the shards on disk, and ShardScope's reader reads them whole", async () => {
    const m = readManifest(dir)
    for (const split of ['train', 'val'] as const) {
      const locations = expandPattern(m.splits[split].pattern, { baseDir: dir })
      expect(locations.map((l) => l.path)).toEqual(tarsIn(join(dir, split)).map((f) => join(dir, split, f)))
      const problems: ReadProblem[] = []
      let count = 0
      for (const l of locations) for await (const _ of readSamples(l, { onProblem: (p) => problems.push(p) })) count++
      expect(problems).toEqual([])
      expect(count).toBe(m.splits[split].expectedSamples)
    }
  })

  it('every sample is a decodable RGB jpg of the right size with a label in range, keys unique', () => {
    const all = Object.values(inspection).flatMap((v) => v.samples)
    expect(all).toHaveLength(260)
    for (const s of all) {
      expect(Object.keys(s.fields).sort()).toEqual(['cls', 'jpg'])
      expect(s.jpg).toEqual([32, 32, 'RGB'])
      expect(s.cls).toBeGreaterThanOrEqual(0)
      expect(s.cls).toBeLessThan(5)
    }
    expect(new Set(all.map((s) => s.key)).size).toBe(260)
    expect(all.filter((s) => s.key.startsWith('val_'))).toHaveLength(60)
  })

  it('train keys name their class wnid like Tiny ImageNet, wnids.txt and words.txt list the classes in label order', () => {
    const m = readManifest(dir)
    const wnids = readFileSync(join(dir, 'wnids.txt'), 'utf8').trim().split('\n')
    expect(wnids).toEqual(m.classIds)
    expect(wnids[0]).toBe('n01443537')
    for (const w of wnids) expect(w).toMatch(/^n\d{8}$/)
    expect([...wnids].sort()).toEqual(wnids)
    const words = readFileSync(join(dir, 'words.txt'), 'utf8').trim().split('\n')
    expect(words.map((l) => l.split('\t'))).toEqual(m.classIds.map((id, i) => [id, m.classNames[i]]))
    for (const s of inspection['train/train-000000.tar']!.samples) expect(s.key.startsWith(`${m.classIds[s.cls!]}_`)).toBe(true)
  })

  it('classes are shuffled across shards: every train shard holds several classes, every class reaches train', () => {
    for (const [name, v] of Object.entries(inspection)) {
      if (!name.startsWith('train/')) continue
      expect(new Set(v.samples.map((s) => s.cls)).size).toBeGreaterThanOrEqual(4)
    }
    const counts = new Map<number, number>()
    for (const [name, v] of Object.entries(inspection)) if (name.startsWith('train/')) for (const s of v.samples) counts.set(s.cls!, (counts.get(s.cls!) ?? 0) + 1)
    expect([...counts.entries()].sort()).toEqual([0, 1, 2, 3, 4].map((c) => [c, 40]))
  })

  it("dataset.json's normalisation equals the mean and std of the decoded train pixels", () => {
    const m = readManifest(dir)
    const train = Object.entries(inspection).filter(([k]) => k.startsWith('train/')).flatMap(([, v]) => v.samples)
    const pixels = train.length * 32 * 32
    for (let c = 0; c < 3; c++) {
      const mean = train.reduce((a, s) => a + s.sum![c]!, 0) / pixels
      // JPEG's loss moves the mean a little; the stored mean is of the pixels before encoding.
      expect(Math.abs(mean - m.normalization.mean[c]!)).toBeLessThan(0.01)
      expect(m.normalization.std[c]).toBeGreaterThan(0.05)
      expect(m.normalization.std[c]).toBeLessThan(0.5)
    }
  })

  it('the same seed writes identical bytes, another seed different ones', async () => {
    const again = join(root, 'healthy-again')
    const other = join(root, 'other-seed')
    await generateDemo(again, small)
    await generateDemo(other, { ...small, seed: 4 })
    for (const f of ['train/train-000000.tar', 'val/val-000001.tar', 'dataset.json', 'wnids.txt', 'words.txt']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(dir, f))), f).toBe(true)
    }
    expect(readFileSync(join(other, 'train/train-000000.tar')).equals(readFileSync(join(dir, 'train/train-000000.tar')))).toBe(false)
  }, 60_000)

  it('--val-format npy stores val as float32 64×64×3 already normalised with dataset.json mean/std', async () => {
    const npyDir = join(root, 'npy')
    await generateDemo(npyDir, { ...small, size: 64, train: 100, val: 20, valFormat: 'npy' })
    const m = readManifest(npyDir)
    expect(m.splits.val.imageField).toBe('npy')
    const val = Object.entries(inspect(npyDir)).filter(([k]) => k.startsWith('val/')).flatMap(([, v]) => v.samples)
    expect(val).toHaveLength(20)
    for (const s of val) {
      const [shape, dtype, min, max] = s.npy!
      expect([shape, dtype]).toEqual([[64, 64, 3], 'float32'])
      expect(min).toBeGreaterThan(-3)
      expect(max).toBeLessThan(5)
    }
    const meanOfMeans = val.reduce((a, s) => a + s.npy![4], 0) / val.length
    expect(Math.abs(meanOfMeans)).toBeLessThan(0.5)
  }, 60_000)
})

describe('generateDemo with every fault planted', () => {
  const dir = join(root, 'faulty')
  let inspection: Inspection
  let faults: PlantedFault[]
  let manifest: DatasetManifest
  const faultsNamed = (name: string) => faults.filter((f) => f.name === name)
  const samplesOf = (prefix: string) =>
    Object.entries(inspection)
      .filter(([k]) => k.startsWith(prefix))
      .flatMap(([, v]) => v.samples)
  beforeAll(async () => {
    const r = await generateDemo(dir, { ...small, size: 64, faults: [...FAULT_NAMES] })
    inspection = inspect(dir)
    faults = (JSON.parse(readFileSync(join(dir, 'faults.json'), 'utf8')) as { faults: PlantedFault[] }).faults
    expect(faults).toEqual(r.faults)
    manifest = readManifest(dir)
  }, 60_000)

  it('faults.json records every planted fault by name', () => {
    expect(new Set(faults.map((f) => f.name))).toEqual(new Set(FAULT_NAMES))
  })

  it("pattern-misses-shard: dataset.json's val pattern names val-000000.tar while the folder holds 2 val shards", () => {
    expect(manifest.splits.val.pattern).toBe('val/val-000000.tar')
    expect(tarsIn(join(dir, 'val'))).toEqual(['val-000000.tar', 'val-000001.tar'])
    expect(faultsNamed('pattern-misses-shard')[0]!.shards).toEqual(['val/val-000001.tar'])
  })

  it('stale-copy: remote/val holds more, smaller shards with fewer samples, listed as the val remote pattern', () => {
    const remote = tarsIn(join(dir, 'remote', 'val'))
    expect(remote.length).toBeGreaterThan(2)
    expect(manifest.splits.val.remote).toEqual({ pattern: `remote/val/val-{000000..${String(remote.length - 1).padStart(6, '0')}}.tar` })
    const remoteSamples = samplesOf('remote/')
    expect(remoteSamples.length).toBeLessThan(60)
    expect(remoteSamples.length).toBe(60 - faultsNamed('stale-copy')[0]!.keys.length)
    const localKeys = new Set(samplesOf('val/').map((s) => s.key))
    const missing = faultsNamed('stale-copy')[0]!.keys
    for (const k of missing) expect(remoteSamples.some((s) => s.key === k)).toBe(false)
    for (const k of missing) expect(localKeys.has(k)).toBe(true)
    for (const name of remote) expect(inspection[`remote/val/${name}`]!.samples.length).toBeLessThanOrEqual(5)
  })

  it('unnormalized-val: val images are float32 npy with raw 0–255 pixel values', () => {
    expect(manifest.splits.val.imageField).toBe('npy')
    const val = samplesOf('val/')
    expect(val).toHaveLength(60)
    for (const s of val) {
      expect(s.fields.jpg).toBeUndefined()
      const [shape, dtype, , max, mean] = s.npy!
      expect([shape, dtype]).toEqual([[64, 64, 3], 'float32'])
      expect(max).toBeGreaterThan(100)
      expect(mean).toBeGreaterThan(20)
    }
  })

  it('label-offset: val labels are 1 … classes while train labels are 0 … classes − 1', () => {
    expect(new Set(samplesOf('val/').map((s) => s.cls))).toEqual(new Set([1, 2, 3, 4, 5]))
    const trainLabels = new Set(samplesOf('train/').flatMap((s) => (s.cls === undefined ? [] : [s.cls])))
    expect(trainLabels).toEqual(new Set([0, 1, 2, 3, 4]))
  })

  it('corrupt-image: the recorded samples hold jpg bytes no decoder accepts', () => {
    const keys = faultsNamed('corrupt-image')[0]!.keys
    expect(keys).toHaveLength(3)
    const train = samplesOf('train/')
    for (const k of keys) expect(train.find((s) => s.key === k)!.jpg).toMatch(/^error/)
    expect(train.filter((s) => typeof s.jpg === 'string')).toHaveLength(3)
  })

  it('truncated-shard: the last train shard ends mid-member; the samples before the cut read whole', () => {
    const f = faultsNamed('truncated-shard')[0]!
    expect(f.shards).toEqual(['train/train-000003.tar'])
    const last = inspection['train/train-000003.tar']!
    expect(last.error).toMatch(/ReadError|unexpected end/i)
    expect(statSync(join(dir, 'train/train-000003.tar')).size % 512).not.toBe(0)
    expect(last.samples.length).toBeGreaterThanOrEqual(25)
    expect(last.samples.length).toBeLessThanOrEqual(26)
    // GNU tar agrees the archive is cut short.
    expect(() => execFileSync('tar', ['-tf', join(dir, 'train/train-000003.tar')], { stdio: 'pipe' })).toThrow(/Unexpected EOF/)
    expect(f.keys).toHaveLength(25)
  })

  it("truncated-shard: ShardScope's reader yields the samples before the cut and reports the truncation", async () => {
    const problems: ReadProblem[] = []
    const keys: string[] = []
    const [location] = expandPattern('train/train-000003.tar', { baseDir: dir })
    for await (const s of readSamples(location!, { onProblem: (p) => problems.push(p) })) keys.push(s.key)
    expect(problems.map((p) => p.kind)).toContain('truncated')
    const lost = new Set(faultsNamed('truncated-shard')[0]!.keys)
    expect(keys.slice(0, 25).some((k) => lost.has(k))).toBe(false)
  })

  it('duplicate-keys: keys repeat within a train shard (not adjacent) and one val key is a train key', () => {
    const [inShard, across] = faultsNamed('duplicate-keys')
    const first = inspection['train/train-000000.tar']!.samples.map((s) => s.key)
    for (const k of inShard!.keys) {
      const at = first.flatMap((x, i) => (x === k ? [i] : []))
      expect(at).toHaveLength(2)
      expect(at[1]! - at[0]!).toBe(3)
    }
    const trainKeys = new Set(samplesOf('train/').map((s) => s.key))
    const valDupes = samplesOf('val/').filter((s) => trainKeys.has(s.key))
    expect(valDupes.map((s) => s.key)).toEqual(across!.keys)
  })

  it('wrong-image-size: the recorded samples are 48×64 or 32×32, all others 64×64', () => {
    const keys = faultsNamed('wrong-image-size')[0]!.keys
    const train = samplesOf('train/')
    const sizes = keys.map((k) => (train.find((s) => s.key === k)!.jpg as [number, number, string]).slice(0, 2))
    expect(sizes).toEqual([
      [48, 64],
      [32, 32],
      [48, 64]
    ])
    const odd = train.filter((s) => Array.isArray(s.jpg) && (s.jpg[0] !== 64 || s.jpg[1] !== 64))
    expect(odd.map((s) => s.key).sort()).toEqual([...keys].sort())
  })

  it('missing-label: the recorded samples have a jpg and no cls', () => {
    const keys = faultsNamed('missing-label')[0]!.keys
    const unlabelled = samplesOf('train/').filter((s) => s.fields.cls === undefined)
    expect(unlabelled.map((s) => s.key).sort()).toEqual([...keys].sort())
    for (const s of unlabelled) expect(s.fields.jpg).toBeGreaterThan(0)
  })

  it('dataset.json still claims the healthy counts (that is what the verifier checks against)', () => {
    expect(manifest.splits.train.expectedSamples).toBe(200)
    expect(manifest.splits.val.expectedSamples).toBe(60)
    expect(manifest.splits.val.shards).toBe(2)
  })
})
