import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expandPattern } from '../wds/patterns'
import { readSamples } from '../wds/read'
import { serveFolder } from '../wds/testing/http-server'
import { packTar, type TestMember } from '../wds/testing/tar'
import { inventoryShards, splitFromName } from './inventory'
import { inventoryShard, type ShardInventory } from './inventory-shard'
import { createShardCounter } from './shard-queue'
import { startThread, threadLauncher } from './shard-threads'

let root: string
/** Shards outside `root` (whose folder inventory must stay as it is): a truncated one. */
let elsewhere: string

/** `count` samples with jpg + cls = (first + i) % classes, keys `<prefix>_<n>`. */
function samples(prefix: string, first: number, count: number, classes: number): TestMember[] {
  const out: TestMember[] = []
  for (let i = first; i < first + count; i++) {
    out.push({ name: `${prefix}_${String(i).padStart(4, '0')}.jpg`, data: Buffer.alloc(700 + (i % 5) * 300, i) })
    out.push({ name: `${prefix}_${String(i).padStart(4, '0')}.cls`, data: String(i % classes) })
  }
  return out
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'inventory-'))
  mkdirSync(join(root, 'train'))
  mkdirSync(join(root, 'val'))
  writeFileSync(join(root, 'train', 'train-000000.tar'), await packTar(samples('t', 0, 10, 3)))
  writeFileSync(join(root, 'train', 'train-000001.tar'), await packTar(samples('t', 10, 5, 3)))
  writeFileSync(join(root, 'val', 'val-000000.tar'), await packTar(samples('v', 0, 4, 3)))
  writeFileSync(join(root, 'val', 'val-000001.tar.gz'), gzipSync(await packTar([...samples('v', 4, 2, 3), { name: 'v_9999.cls', data: 'abc' }])))
  writeFileSync(join(root, 'val', 'notes.txt'), 'not a shard')
  elsewhere = mkdtempSync(join(tmpdir(), 'inventory-cut-'))
  // Samples 0 and 1 take 5 blocks each; the cut falls inside sample 2's jpg.
  writeFileSync(join(elsewhere, 'cut.tar'), (await packTar(samples('c', 0, 6, 2))).subarray(0, 512 * 11 + 100))
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
  rmSync(elsewhere, { recursive: true, force: true })
})

describe('inventoryShards', () => {
  it('inventories a folder by split: samples, fields, class histogram, first and last key', async () => {
    const progress: number[] = []
    const inventory = await inventoryShards(root, { onProgress: (p) => progress.push(p.shardsDone) })
    expect(inventory.mode).toBe('folder')
    expect(progress).toEqual([1, 2, 3, 4])
    expect(inventory.shards.map((s) => [s.split, s.name, s.samples, s.firstKey, s.lastKey])).toEqual([
      ['train', 'train-000000.tar', 10, 't_0000', 't_0009'],
      ['train', 'train-000001.tar', 5, 't_0010', 't_0014'],
      ['val', 'val-000000.tar', 4, 'v_0000', 'v_0003'],
      ['val', 'val-000001.tar.gz', 3, 'v_0004', 'v_9999']
    ])
    const first = inventory.shards[0]!
    expect(first.fields).toEqual({ jpg: 10, cls: 10 })
    expect(first.classHistogram).toEqual([4, 3, 3])
    expect(first.problems).toEqual([])
    const gz = inventory.shards[3]!
    expect(gz.compressed).toBe(true)
    expect(gz.unlabelled).toBe(1)
    expect(inventory.splits.map((s) => [s.name, s.shards, s.samples, s.classHistogram])).toEqual([
      ['train', 2, 15, [5, 5, 5]],
      ['val', 2, 7, [2, 2, 2]]
    ])
    expect(inventory.coverage).toEqual([])
    expect(inventory.totals).toMatchObject({ shards: 4, samples: 22, problems: 0, uncovered: 0 })
  })

  it('counts the same samples as the streaming reader', async () => {
    const inventory = await inventoryShards(root)
    for (const shard of inventory.shards) {
      let count = 0
      for await (const sample of readSamples(expandPattern(shard.url)[0]!)) count += sample.key ? 1 : 0
      expect(shard.samples).toBe(count)
    }
  })

  it('gives the same inventory on two threads as on one, problems included, progress for every shard', async () => {
    const pattern = `${root}/{train/train-{000000..000001}.tar,val/val-000000.tar,val/val-000001.tar.gz}::${elsewhere}/cut.tar`
    const one = await inventoryShards(pattern, { threads: 1 })
    const progress: string[] = []
    const two = await inventoryShards(pattern, { threads: 2, onProgress: (p) => progress.push(basename(p.url)) })
    expect(one.threads).toBe(1)
    expect(two.threads).toBe(2)
    expect({ ...two, threads: 1 }).toEqual(one)
    expect(progress.sort()).toEqual(['cut.tar', 'train-000000.tar', 'train-000001.tar', 'val-000000.tar', 'val-000001.tar.gz'])
  })

  it('an inventory thread takes every shard left in the queue and finds what this thread finds', async () => {
    const shards = [join(root, 'train/train-000000.tar'), join(root, 'val/val-000001.tar.gz'), join(elsewhere, 'cut.tar'), join(root, 'gone.tar')].map((path) => ({ location: expandPattern(path)[0]!, split: 'x' }))
    const launcher = threadLauncher()
    expect(launcher).not.toBeNull()
    const next = createShardCounter()
    const posted: [number, ShardInventory][] = []
    await startThread(launcher!, { shards, next }, (index, shard) => posted.push([index, shard])).finished
    expect(posted.map(([index]) => index)).toEqual([0, 1, 2, 3])
    for (const [index, shard] of posted) expect(shard).toEqual(await inventoryShard(shards[index]!.location, 'x'))
    expect(posted[3]![1].problems.map((p) => p.kind)).toEqual(['unreadable'])
  })

  it("coverage is counted within the series a pattern names: other shard files in the folder are not its to cover, and each series of a `::` pattern has its own line", async () => {
    const flat = mkdtempSync(join(tmpdir(), 'inventory-flat-'))
    try {
      for (const name of ['train-000000.tar', 'train-000001.tar', 'val-000000.tar', 'a-000.tar', 'a-001.tar', 'a-002.tar', 'b-000.tar', 'b-001.tar']) {
        writeFileSync(join(flat, name), await packTar(samples(name.split('-')[0]!, 0, 1, 2)))
      }
      expect((await inventoryShards('train-{000000..000001}.tar', { baseDir: flat })).coverage).toEqual([])
      const both = await inventoryShards('a-{000..001}.tar::b-000.tar', { baseDir: flat })
      expect(both.coverage.map((g) => g.message)).toEqual([
        'pattern covers 2 of 3 shards in .: a-002.tar is not covered',
        'pattern covers 1 of 2 shards in .: b-001.tar is not covered'
      ])
      expect(both.totals.uncovered).toBe(2)
      // Parts naming shards of one series cover it together: one line, with their count.
      const parts = await inventoryShards(`${join(flat, 'a-000.tar')}::${join(flat, 'a-001.tar')}`)
      expect(parts.coverage.map((g) => [g.message, g.patterns.length])).toEqual([[`patterns cover 2 of 3 shards in ${flat.startsWith(process.cwd()) ? relative(process.cwd(), flat) : flat}: a-002.tar is not covered`, 2]])
      expect(parts.totals.uncovered).toBe(1)
    } finally {
      rmSync(flat, { recursive: true, force: true })
    }
  })

  it('a label far above any class count (an unmapped file or taxon id) counts as unlabelled instead of sizing the histogram', async () => {
    const odd = mkdtempSync(join(tmpdir(), 'inventory-labels-'))
    try {
      const members = [1, 2_000_000_000, 999_999].flatMap((label, i) => [
        { name: `k${i}.cls`, data: String(label) },
        { name: `k${i}.jpg`, data: Buffer.alloc(100, i) }
      ])
      writeFileSync(join(odd, 'x-000000.tar'), await packTar(members))
      const [shard] = (await inventoryShards(join(odd, 'x-000000.tar'))).shards
      expect(shard!.unlabelled).toBe(1)
      expect(shard!.classHistogram.length).toBe(1_000_000)
      expect([shard!.classHistogram[1], shard!.classHistogram[999_999], shard!.classHistogram.reduce((a, b) => a + b, 0)]).toEqual([1, 1, 2])
    } finally {
      rmSync(odd, { recursive: true, force: true })
    }
  })

  it("a cut inside a header keeps the sample before when the cut member starts another sample, and drops the one it belongs to otherwise", async () => {
    const cutDir = mkdtempSync(join(tmpdir(), 'inventory-cut-header-'))
    try {
      // c_0000 and c_0001 take 5 blocks each (jpg: header + 2 blocks, cls: header + 1).
      const tar = await packTar(samples('c', 0, 4, 2))
      writeFileSync(join(cutDir, 'next-sample.tar'), tar.subarray(0, 5120 + 200)) // in the header of c_0002.jpg
      writeFileSync(join(cutDir, 'same-sample.tar'), tar.subarray(0, 4096 + 200)) // in the header of c_0001.cls
      const inv = await inventoryShards('{next-sample,same-sample}.tar', { baseDir: cutDir })
      expect(inv.shards.map((s) => [s.name, s.samples, s.lastKey, s.problems.map((p) => p.kind)])).toEqual([
        ['next-sample.tar', 2, 'c_0001', ['truncated']],
        ['same-sample.tar', 1, 'c_0000', ['truncated']]
      ])
    } finally {
      rmSync(cutDir, { recursive: true, force: true })
    }
  })

  it('a tar compressed with xz or bzip2 is named as such, with what to do', async () => {
    const odd = mkdtempSync(join(tmpdir(), 'inventory-xz-'))
    try {
      writeFileSync(join(odd, 'a.tar'), Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), randomBytes(2000)]))
      writeFileSync(join(odd, 'b.tar'), Buffer.concat([Buffer.from('BZh91AY&SY'), randomBytes(2000)]))
      const inv = await inventoryShards('{a,b}.tar', { baseDir: odd })
      expect(inv.shards.map((s) => s.problems.map((p) => p.message.slice(p.url.length)))).toEqual([
        [': not a tar archive but xz-compressed data (ShardScope reads tar and gzip-compressed tar; decompress it, or recompress it with gzip)'],
        [': not a tar archive but bzip2-compressed data (ShardScope reads tar and gzip-compressed tar; decompress it, or recompress it with gzip)']
      ])
    } finally {
      rmSync(odd, { recursive: true, force: true })
    }
  })

  it('pattern covering 1 of 2 shards is reported with the missing shard name', async () => {
    const inventory = await inventoryShards('file:val/val-{000000..000000}.tar::train/train-{000000..000001}.tar', { baseDir: root })
    expect(inventory.mode).toBe('pattern')
    expect(inventory.shards.map((s) => s.name)).toEqual(['val-000000.tar', 'train-000000.tar', 'train-000001.tar'])
    expect(inventory.coverage).toEqual([
      {
        pattern: 'file:val/val-{000000..000000}.tar',
        patterns: ['file:val/val-{000000..000000}.tar'],
        folder: join(root, 'val'),
        covered: 1,
        total: 2,
        uncovered: ['val-000001.tar.gz'],
        message: 'pattern covers 1 of 2 shards in val: val-000001.tar.gz is not covered'
      }
    ])
    expect(inventory.totals.uncovered).toBe(1)
    // Run from elsewhere, the folder is named whole, not as a path climbing out ("../../tmp/…/val").
    const fromElsewhere = await inventoryShards(`${join(root, 'val')}/val-{000000..000000}.tar`, { baseDir: join(root, 'train') })
    expect(fromElsewhere.coverage.map((g) => g.message)).toEqual([`pattern covers 1 of 2 shards in ${join(root, 'val')}: val-000001.tar.gz is not covered`])
  })

  it('reports missing, truncated and non-tar shards as problems, and goes on', async () => {
    const bad = join(root, 'bad')
    mkdirSync(bad)
    const whole = await packTar(samples('b', 0, 6, 2))
    // Samples 0 and 1 take 5 blocks each; the cut falls inside sample 2's jpg.
    writeFileSync(join(bad, 'cut.tar'), whole.subarray(0, 512 * 11 + 100))
    writeFileSync(join(bad, 'page.tar'), '<!doctype html><title>404</title>')
    const inventory = await inventoryShards('cut.tar::page.tar::gone.tar', { baseDir: bad })
    expect(inventory.shards.map((s) => [s.name, s.samples, s.problems.map((p) => p.kind)])).toEqual([
      ['cut.tar', 2, ['truncated']],
      ['page.tar', 0, ['not-a-tar']],
      ['gone.tar', 0, ['unreadable']]
    ])
    expect(inventory.shards[2]!.problems[0]!.message).toMatch(/gone\.tar: cannot open \(no such file\)/)
    // The header scan names the member and sample the cut fell in, as the streaming reader does.
    expect(inventory.shards[0]!.problems[0]!.message).toMatch(/cut\.tar: the tar ends in the middle of member "b_0002\.jpg" \(sample b_0002\) after 4 complete members \(truncated shard\)$/)
    expect(inventory.totals.problems).toBe(3)
  })

  it('a shard path that is a folder is an unreadable shard of 0 bytes saying so, in pattern mode and in folder mode', async () => {
    const d = join(root, 'folder-as-shard')
    mkdirSync(join(d, 'train', 'train-000001.tar'), { recursive: true })
    writeFileSync(join(d, 'train', 'train-000000.tar'), await packTar(samples('f', 0, 2, 2)))
    const bytes = statSync(join(d, 'train', 'train-000000.tar')).size
    for (const source of ['train/train-{000000..000001}.tar', '.']) {
      const inventory = await inventoryShards(source, { baseDir: d })
      expect(inventory.shards.map((s) => [s.name, s.bytes, s.problems.map((p) => [p.kind, p.message])])).toEqual([
        ['train-000000.tar', bytes, []],
        ['train-000001.tar', 0, [['unreadable', `${join(d, 'train', 'train-000001.tar')}: is a folder, not a shard file`]]]
      ])
      expect(inventory.totals.bytes).toBe(bytes)
    }
  })

  it('a pattern whose braces do not pair up is one shard of its split, missing, and the problem says why', async () => {
    const inventory = await inventoryShards('file:val/val-{000000..000001.tar', { baseDir: root })
    expect(inventory.shards.map((s) => [s.split, s.name])).toEqual([['val', 'val-{000000..000001.tar']])
    expect(inventory.shards[0]!.problems[0]!.message).toBe(
      `${join(root, 'val', 'val-{000000..000001.tar')}: cannot open (no such file; its braces do not pair up, so the pattern was read as this one file name)`
    )
  })

  it('a gzip shard cut midway: the samples before the cut count, and the problem says how many members were read', async () => {
    const cutDir = join(root, 'cut-gz')
    mkdirSync(cutDir)
    // Incompressible members, so half of the gzip stream holds about half of them.
    const members: TestMember[] = []
    for (let i = 0; i < 100; i++) members.push({ name: `g${String(i).padStart(3, '0')}.bin`, data: randomBytes(4000) }, { name: `g${String(i).padStart(3, '0')}.cls`, data: '1' })
    const gz = gzipSync(await packTar(members))
    writeFileSync(join(cutDir, 'cut-000000.tar.gz'), gz.subarray(0, gz.length >> 1))
    const [shard] = (await inventoryShards(cutDir)).shards
    expect(shard!.problems.map((p) => p.kind)).toEqual(['truncated'])
    expect(shard!.samples).toBeGreaterThan(20)
    const seen = Number(/gzip stream ends early after (\d+) tar members/.exec(shard!.problems[0]!.message)?.[1])
    // Each whole sample is two members; the cut may fall after a sample's first member.
    expect(seen - 2 * shard!.samples).toBeGreaterThanOrEqual(0)
    expect(seen - 2 * shard!.samples).toBeLessThanOrEqual(1)
  })

  it('a gzip shard made of several gzip streams is counted whole and named, as is one made by `cat` of two .tar.gz files', async () => {
    const d = join(root, 'several-gz')
    mkdirSync(d)
    const tar = await packTar(samples('m', 0, 6, 3))
    writeFileSync(join(d, 'm-000000.tar.gz'), Buffer.concat([gzipSync(tar.subarray(0, 2560)), gzipSync(tar.subarray(2560))]))
    writeFileSync(join(d, 'm-000001.tar.gz'), Buffer.concat([gzipSync(await packTar(samples('n', 0, 2, 3))), gzipSync(await packTar(samples('n', 2, 2, 3)))]))
    writeFileSync(join(d, 'm-000002.tar.gz'), gzipSync(tar))
    const { shards } = await inventoryShards(d)
    expect(shards.map((s) => [s.name, s.samples, s.problems.map((p) => p.kind)])).toEqual([
      ['m-000000.tar.gz', 6, ['several-gzip-streams']],
      // The first tar's end marker ends the scan, as it ends Python's tarfile: 2 samples, the rest named by the problem.
      ['m-000001.tar.gz', 2, ['several-gzip-streams']],
      ['m-000002.tar.gz', 6, []]
    ])
  })

  it('inventories shards over HTTP', async () => {
    const server = await serveFolder(root)
    try {
      const inventory = await inventoryShards(`${server.baseUrl}/train/train-{000000..000001}.tar`)
      expect(inventory.shards.map((s) => [s.name, s.samples, s.bytes > 0])).toEqual([
        ['train-000000.tar', 10, true],
        ['train-000001.tar', 5, true]
      ])
      expect(inventory.coverage).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('reads several remote shards at once (a bucket answers each request slowly), in pattern order in the result', async () => {
    const files = ['train-000000.tar', 'train-000001.tar', 'val/val-000000.tar', 'val/val-000001.tar.gz']
    let inFlight = 0
    let most = 0
    const server = createServer((req, res) => {
      inFlight++
      most = Math.max(most, inFlight)
      const name = decodeURIComponent(req.url!.slice(1))
      setTimeout(() => {
        inFlight--
        const body = readFileSync(join(root, name.startsWith('val/') ? name : `train/${name}`))
        res.writeHead(200, { 'content-length': String(body.length) })
        res.end(req.method === 'HEAD' ? undefined : body)
      }, 100)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const inventory = await inventoryShards(files.map((f) => `${base}/${f}`).join('::'), { threads: 1 })
      expect(inventory.shards.map((s) => s.name)).toEqual(['train-000000.tar', 'train-000001.tar', 'val-000000.tar', 'val-000001.tar.gz'])
      expect(inventory.shards.every((s) => s.samples > 0)).toBe(true)
      expect(most).toBeGreaterThanOrEqual(2)
    } finally {
      server.close()
    }
  })

  it('names splits from shard file names', () => {
    expect(['train-000001.tar', 'val.tar.gz', 'shard_0003.tgz', '000001.tar', 'val-{000000..000001.tar'].map(splitFromName)).toEqual(['train', 'val', 'shard', '000001', 'val'])
  })
})
