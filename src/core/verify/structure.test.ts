/**
 * Sample structure and train-vs-val checks on real shards built here: extra fields,
 * folder members, the class id → name mapping of each split, and shards larger than the
 * verifier's read buffer (members cut across reads) read on worker threads.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packTar, type TestMember } from '../wds/testing/tar'
import { verifyDataset } from './verify-dataset'

const root = mkdtempSync(join(tmpdir(), 'shardscope-verify-structure-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let jpg: Uint8Array
let otherJpg: Uint8Array
/** Noisy 48×48 JPEGs of ≈ 4 KB each, all different. */
const noisy: Uint8Array[] = []
beforeAll(async () => {
  const raw = new Uint8Array(16 * 16 * 3).map((_, i) => (i * 29) % 256)
  jpg = new Uint8Array(await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer())
  otherJpg = new Uint8Array(await sharp(raw.map((v) => 255 - v), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer())
  let x = 7
  for (let k = 0; k < 8; k++) {
    const pixels = new Uint8Array(48 * 48 * 3).map(() => (x = (x * 1103515245 + 12345) % 2 ** 31) >> 23)
    noisy.push(new Uint8Array(await sharp(pixels, { raw: { width: 48, height: 48, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()))
  }
})

function samples(n: number, prefix = 's', extra: (i: number) => TestMember[] = () => [], image = () => jpg): TestMember[] {
  const out: TestMember[] = []
  for (let i = 0; i < n; i++) out.push({ name: `${prefix}${i}.cls`, data: String(i % 4) }, { name: `${prefix}${i}.jpg`, data: image() }, ...extra(i))
  return out
}

function dir(name: string): string {
  const d = join(root, name)
  mkdirSync(d, { recursive: true })
  return d
}

describe('verifier: sample structure', () => {
  it('samples carrying a field the others do not have are listed as extra fields', async () => {
    const d = dir('extra')
    writeFileSync(join(d, 'x.tar'), await packTar(samples(10, 's', (i) => (i === 3 || i === 7 ? [{ name: `s${i}.txt`, data: 'a caption' }] : []))))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 4, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['extra-fields'])
    const f = report.findings[0]!
    expect(f.severity).toBe('warning')
    expect(f.title).toMatch(/^Training has 2 samples with fields other samples do not have \(\.txt\)/)
    expect(f.offenders.map((o) => [o.key, o.field, o.found])).toEqual([
      ['s3', 'txt', 'also .txt'],
      ['s7', 'txt', 'also .txt']
    ])
  })

  it('a field every sample carries is part of the layout, not an extra field', async () => {
    const d = dir('layout')
    writeFileSync(join(d, 'x.tar'), await packTar(samples(6, 's', (i) => [{ name: `s${i}.json`, data: '{}' }])))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 4, threads: 0 })
    expect(report.findings).toEqual([])
  })

  it('each folder member of a shard is a readability finding naming the shard and the member', async () => {
    const d = dir('folders')
    writeFileSync(join(d, 'x.tar'), await packTar([{ name: 'images/', type: 'directory' }, ...samples(2), { name: 'more/', type: 'directory' }, ...samples(2, 't')]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 4, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['non-regular-member'])
    const f = report.findings[0]!
    expect(f.check).toBe('readability')
    expect(f.offenders.map((o) => [o.url, o.found])).toEqual([
      [join(d, 'x.tar'), 'member "images/" is a directory, not a regular file: skipped'],
      [join(d, 'x.tar'), 'member "more/" is a directory, not a regular file: skipped']
    ])
    expect(report.splits[0]!.samples).toBe(4)
  })
})

describe('verifier: train vs val class mapping', () => {
  async function splitFolders(name: string, trainWnids: string, valWnids: string): Promise<string> {
    const d = dir(name)
    mkdirSync(join(d, 'train'))
    mkdirSync(join(d, 'val'))
    writeFileSync(join(d, 'train', 'train.tar'), await packTar(samples(8, 't')))
    writeFileSync(join(d, 'val', 'val.tar'), await packTar(samples(4, 'v', () => [], () => otherJpg)))
    writeFileSync(join(d, 'train', 'wnids.txt'), trainWnids)
    writeFileSync(join(d, 'val', 'wnids.txt'), valWnids)
    writeFileSync(join(d, 'words.txt'), 'n01\tgoldfish\nn02\tshark\nn03\tfrog\nn04\tnewt\n')
    return d
  }
  const request = (d: string) => ({ base: d, splits: [{ name: 'train', pattern: 'train/train.tar' }, { name: 'val', pattern: 'val/val.tar' }], classes: 4, threads: 0 })

  it('val labelled with another wnids.txt order than train is reported with the classes that differ', async () => {
    const d = await splitFolders('mapping-differs', 'n01\nn02\nn03\nn04\n', 'n01\nn03\nn02\nn04\n')
    const report = await verifyDataset(request(d))
    expect(report.findings.map((f) => f.code)).toEqual(['class-mapping-differs'])
    const f = report.findings[0]!
    expect(f.split).toBe('val')
    expect(f.title).toMatch(/^Validation labels use another class id → name mapping than training: 2 class indices of 4 map to different classes/)
    expect(f.evidence).toContain('label 1: n02 “shark” in training, n03 “frog” in val')
    expect(f.offenders.map((o) => [o.url, o.field])).toEqual([
      [join(d, 'val', 'wnids.txt'), 'label 1'],
      [join(d, 'val', 'wnids.txt'), 'label 2']
    ])
  })

  it('the same mapping in both split folders gives no finding', async () => {
    const d = await splitFolders('mapping-same', 'n01\nn02\nn03\nn04\n', 'n01\nn02\nn03\nn04\n')
    const report = await verifyDataset(request(d))
    expect(report.findings).toEqual([])
  })
})

describe('verifier: shards larger than one read', () => {
  it('a shard larger than one read, whose members straddle the reads is read whole on worker threads, a cut one up to the cut', async () => {
    const d = dir('large')
    const shard = (prefix: string) => {
      const members: TestMember[] = []
      for (let i = 0; i < 300; i++) members.push({ name: `${prefix}${i}.cls`, data: String(i % 4) }, { name: `${prefix}${i}.jpg`, data: noisy[i % noisy.length]! })
      return packTar(members)
    }
    const whole = await shard('k')
    expect(whole.length).toBeGreaterThan(1024 * 1024 + 100_000)
    writeFileSync(join(d, 'x-000000.tar'), whole)
    writeFileSync(join(d, 'x-000001.tar'), (await shard('m')).subarray(0, 1024 * 1024 + 700))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000..000001}.tar' }], classes: 4, threads: 2, batchSize: 16 })
    expect(report.decodeThreads).toBe(2)
    expect(report.findings.map((f) => f.code)).toEqual(['truncated-shard'])
    const train = report.splits[0]!
    const [first, cut] = train.shards
    expect(first!.samples).toBe(300)
    expect(cut!.samples).toBeGreaterThan(200)
    expect(cut!.samples).toBeLessThan(300)
    expect(train.imagesDecoded).toBe(train.samples)
    expect(train.imageShapes).toEqual({ '48x48x3': train.samples })
    expect(train.labelHistogram['0']).toBe(75 + Math.ceil(cut!.samples / 4))
    expect(train.labelDiversity!.min).toBe(4)
  })
})
