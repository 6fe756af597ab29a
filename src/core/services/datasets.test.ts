import { inventoryShards } from '../inventory'
import { mkdtemp, readFile, readdir, rm, mkdir, copyFile, writeFile, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventName, EventPayload } from '../../shared/contract'
import { generateDemo, type DemoResult } from '../demo'
import { expandPattern } from '../wds/patterns'
import { readSamples } from '../wds'
import { verifyDataset } from '../verify/verify-dataset'
import { nodeProcessHost } from '../process'
import { createServices, type Services } from './index'
import { FIRST_PAGE_WAIT_MS } from './datasets'
import type { ServiceContext } from './context'
import { dispatch } from './dispatch'
import { serveMedia, serveMediaBatch } from './media'
import { decodeMediaBatch } from '../../shared/media-batch'
import { serveFolder } from '../wds/testing/http-server'
import { ShardWriter } from '../wds/writer'

// A small Tiny-ImageNet-style dataset: 48 train samples in 3 shards, 16 val in 1, 4 classes, 16×16 JPEG.
let root: string
let demoDir: string
let demo: DemoResult
let services: Services
let ctx: ServiceContext
const events: Array<{ name: string; payload: unknown }> = []

async function call<T = unknown>(method: string, input: unknown): Promise<T> {
  const r = await dispatch(services.handlers, method, input)
  if (!r.ok) throw new Error(r.error.message)
  return r.value as T
}

/** Every sample of a split as the reader sees it, in order: the ground truth for the listing. */
async function readSplit(pattern: string): Promise<Array<{ key: string; url: string; label: number }>> {
  const out = []
  for (const location of expandPattern(pattern)) {
    for await (const s of readSamples(location)) {
      out.push({ key: s.key, url: s.url, label: Number(Buffer.from(s.fields.cls!).toString()) })
    }
  }
  return out
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-datasets-'))
  demoDir = join(root, 'demo')
  demo = await generateDemo(demoDir, { train: 48, val: 16, classes: 4, size: 16, shardMaxcount: 16, seed: 3 })
  ctx = {
    processHost: nodeProcessHost,
    emit: <E extends EventName>(name: E, payload: EventPayload<E>) => events.push({ name, payload }),
    stateDir: join(root, 'state'),
    demoDir: join(root, 'unused-demo'),
    host: 'serve'
  }
  services = createServices(ctx)
})

afterAll(async () => {
  await services?.dispose()
  if (root) await rm(root, { recursive: true, force: true })
})

describe('datasets service', () => {
  it('opening a demo folder gives its splits, class names and manifest, and remembers it as recent', async () => {
    const summary = await call<{ datasetId: string; splits: Array<{ name: string }>; classNames: string[]; manifest: unknown }>('datasets.open', { folder: demoDir })
    expect(summary.splits.map((s) => s.name).sort()).toEqual(['train', 'val'])
    expect(summary.classNames).toEqual(demo.manifest.classNames)
    expect(summary.manifest).toEqual(demo.manifest)
    const again = await call<{ datasetId: string }>('datasets.open', { folder: demoDir + '/' })
    expect(again.datasetId).toBe(summary.datasetId)
    // The path of the dataset.json itself opens its folder; a missing path and a plain file say which they are.
    expect((await call<{ datasetId: string }>('datasets.open', { folder: join(demoDir, 'dataset.json') })).datasetId).toBe(summary.datasetId)
    await expect(call('datasets.open', { folder: join(demoDir, 'nope') })).rejects.toThrow(`No such folder: ${join(demoDir, 'nope')}`)
    await expect(call('datasets.open', { folder: join(demoDir, 'wnids.txt') })).rejects.toThrow(`Not a folder: ${join(demoDir, 'wnids.txt')}`)
    // The recent list is written after open answers; asking for it waits for the write.
    expect((await call<{ items: unknown[] }>('datasets.recent', {})).items).toHaveLength(1)
    const recent = JSON.parse(await readFile(join(ctx.stateDir, 'recent.json'), 'utf8'))
    expect(recent.items[0].source.folder).toBe(demoDir)
    expect(await call('datasets.get', { datasetId: summary.datasetId })).toEqual(summary)
    await expect(call('datasets.get', { datasetId: 'feedfacefeedface' })).rejects.toThrow('No open dataset with id feedfacefeedface')
  })

  it('the same patterns opened again under another name are one recent entry, with the name last typed', async () => {
    const patterns = [{ name: 'train', patterns: [join(demoDir, demo.manifest.splits.train.pattern)] }]
    await call('datasets.open', { splits: patterns, name: 'first name' })
    await call('datasets.open', { splits: patterns, name: 'second name' })
    const { items } = await call<{ items: Array<{ name: string; source: { splits?: unknown[] } }> }>('datasets.recent', {})
    const ofPatterns = items.filter((i) => i.source.splits)
    expect(ofPatterns.map((i) => i.name)).toEqual(['second name'])
  })

  it('a dataset none of whose shards exists opens (its inventory says so) but is not remembered as recent', async () => {
    const nowhere = [{ name: 'train', patterns: [join(root, 'nowhere', 'train-{000000..000001}.tar')] }]
    const summary = await call<{ datasetId: string }>('datasets.open', { splits: nowhere, name: 'mistyped' })
    const inventory = await call<{ splits: Array<{ shards: Array<{ status: string }> }> }>('datasets.inventory', { datasetId: summary.datasetId })
    expect(inventory.splits[0]!.shards.map((s) => s.status)).toEqual(['missing', 'missing'])
    const { items } = await call<{ items: Array<{ name: string }> }>('datasets.recent', {})
    expect(items.map((i) => i.name)).not.toContain('mistyped')
  })

  it('inventory counts equal the samples the reader finds in each shard, and indexing reports progress', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const inv = await call<{ splits: Array<{ name: string; samples: number; shards: Array<{ name: string; samples: number; status: string; fields: string[]; classHistogram: number[] }> }>; warnings: unknown[] }>(
      'datasets.inventory',
      { datasetId }
    )
    const train = inv.splits.find((s) => s.name === 'train')!
    expect(train.shards.map((s) => s.name)).toEqual(demo.shards.train.map((s) => s.name))
    expect(train.shards.map((s) => s.samples)).toEqual(demo.shards.train.map((s) => s.samples))
    expect(train.samples).toBe(48)
    expect(train.shards.every((s) => s.status === 'ok' && s.fields.includes('cls') && s.fields.includes('jpg'))).toBe(true)
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    const histogram = [0, 0, 0, 0]
    for (const s of truth) histogram[s.label]! += 1
    const sum = train.shards.reduce((h, s) => h.map((n, c) => n + (s.classHistogram[c] ?? 0)), [0, 0, 0, 0])
    expect(sum).toEqual(histogram)
    expect(inv.warnings).toEqual([])
    const progress = events.filter((e) => e.name === 'datasets.indexProgress').map((e) => e.payload as { split: string; done: boolean; shardsTotal: number })
    expect(progress.some((p) => p.split === 'train' && p.done && p.shardsTotal === 3)).toBe(true)
  })

  it('pages of the listing are exactly the reader\'s samples, in order, with labels and class names', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    type Page = { total: number; items: Array<{ split: string; shard: string; index: number; key: string; label: number; className: string; imageField: string }> }
    const first = await call<Page>('datasets.samples', { datasetId, filter: { split: 'train' }, offset: 0, limit: 20 })
    const rest = await call<Page>('datasets.samples', { datasetId, filter: { split: 'train' }, offset: 20, limit: 100 })
    expect(first.total).toBe(48)
    const all = [...first.items, ...rest.items]
    expect(all.map((s) => s.key)).toEqual(truth.map((s) => s.key))
    expect(all.map((s) => s.label)).toEqual(truth.map((s) => s.label))
    expect(all.map((s) => s.index)).toEqual(truth.map((_, i) => i))
    expect(all[5]!.className).toBe(demo.manifest.classNames[truth[5]!.label])
    expect(all[0]!.imageField).toBe('jpg')
    const unfiltered = await call<Page>('datasets.samples', { datasetId, filter: {}, offset: 40, limit: 16 })
    expect(unfiltered.total).toBe(64)
    expect(unfiltered.items.map((s) => s.split)).toEqual([...Array(8).fill('train'), ...Array(8).fill('val')])
  })

  it('a page asked for with thumbnails brings its first items\' images, the bytes the media route serves', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    type Page = { items: Array<{ split: string; index: number; key: string; imageField: string }>; thumbnails?: Array<{ contentType: string; base64: string } | null> }
    const plain = await call<Page>('datasets.samples', { datasetId, filter: { split: 'val' }, offset: 0, limit: 10 })
    expect(plain.thumbnails).toBeUndefined()
    const page = await call<Page>('datasets.samples', { datasetId, filter: { split: 'val' }, offset: 0, limit: 10, thumbnails: 6 })
    expect(page.items.map((i) => i.key)).toEqual(plain.items.map((i) => i.key))
    expect(page.thumbnails).toHaveLength(6)
    const jpgs = new Map<string, Buffer>()
    for await (const s of readSamples(expandPattern(join(demoDir, demo.manifest.splits.val.pattern))[0]!)) jpgs.set(s.key, Buffer.from(s.fields.jpg!))
    page.thumbnails!.forEach((t, i) => {
      expect(t?.contentType).toBe('image/jpeg')
      expect(Buffer.from(t!.base64, 'base64').equals(jpgs.get(page.items[i]!.key)!)).toBe(true)
    })
  })

  it('an open asked for its first page answers with it: the unfiltered listing\'s first rows and images, as datasets.samples gives them', async () => {
    type Page = { total: number; offset: number; items: Array<{ key: string }>; thumbnails?: Array<{ contentType: string; base64: string } | null> }
    const opened = await call<{ datasetId: string; name: string; firstPage?: Page }>('datasets.open', { folder: demoDir, firstPage: { limit: 30, thumbnails: 12 } })
    const asked = await call<Page>('datasets.samples', { datasetId: opened.datasetId, filter: {}, offset: 0, limit: 30, thumbnails: 12 })
    expect(opened.name).toBe(demo.manifest.name)
    expect(opened.firstPage).toEqual(asked)
    expect(opened.firstPage!.items.map((i) => i.key)).toEqual((await readSplit(join(demoDir, demo.manifest.splits.train.pattern))).slice(0, 30).map((s) => s.key))
    expect(opened.firstPage!.thumbnails).toHaveLength(12)
    // An open that does not ask gets the summary alone.
    const plain = await call<{ firstPage?: Page }>('datasets.open', { folder: demoDir })
    expect(plain.firstPage).toBeUndefined()
  })

  it(`an open whose shards cannot be indexed within ${FIRST_PAGE_WAIT_MS} ms answers without its first page, and the page comes when asked`, async () => {
    const server = await serveFolder(demoDir, { delayMs: FIRST_PAGE_WAIT_MS + 400 })
    try {
      const pattern = `${server.baseUrl}/${demo.manifest.splits.val.pattern}`
      const opened = await call<{ datasetId: string; firstPage?: unknown }>('datasets.open', { splits: [{ name: 'slow-val', patterns: [pattern] }], firstPage: { limit: 10, thumbnails: 4 } })
      expect(opened.firstPage).toBeUndefined()
      const page = await call<{ total: number; items: Array<{ key: string }> }>('datasets.samples', { datasetId: opened.datasetId, filter: {}, offset: 0, limit: 10, thumbnails: 4 })
      expect(page.total).toBe(16)
      expect(page.items.map((i) => i.key)).toEqual((await readSplit(join(demoDir, demo.manifest.splits.val.pattern))).slice(0, 10).map((s) => s.key))
    } finally {
      await server.close()
    }
  })

  it('filters by shard, class and explicit keys return exactly the matching samples', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    type Page = { total: number; items: Array<{ key: string; shard: string; label: number; split: string }> }
    const second = demo.shards.train[1]!
    const byShard = await call<Page>('datasets.samples', { datasetId, filter: { split: 'train', shard: second.name }, limit: 100 })
    expect(byShard.items.map((s) => s.key)).toEqual(second.keys)
    const byClass = await call<Page>('datasets.samples', { datasetId, filter: { split: 'train', classId: 2 }, limit: 100 })
    expect(byClass.items.map((s) => s.key)).toEqual(truth.filter((s) => s.label === 2).map((s) => s.key))
    expect(byClass.total).toBeGreaterThan(0)
    const both = await call<Page>('datasets.samples', { datasetId, filter: { shard: second.name, classId: 1 }, limit: 100 })
    expect(both.items.map((s) => s.key)).toEqual(truth.filter((s) => s.label === 1 && second.keys.includes(s.key)).map((s) => s.key))
    const picked = [truth[30]!, truth[2]!, truth[17]!]
    const byKeys = await call<Page>('datasets.samples', {
      datasetId,
      filter: { keys: [{ split: 'train', key: picked[0]!.key }, { url: picked[1]!.url, key: picked[1]!.key }, { key: picked[2]!.key }, { split: 'val', key: picked[0]!.key }] },
      limit: 100
    })
    expect(byKeys.items.map((s) => s.key)).toEqual(picked.map((s) => s.key))
    const missing = await call<Page>('datasets.samples', { datasetId, filter: { keys: [{ key: 'no-such-key' }] } })
    expect(missing.total).toBe(0)
  })

  it('locate finds a key or index inside the current filter, and says null when the filter excludes it', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    const target = truth[41]!
    const at = await call<{ position: number; sample: { key: string } }>('datasets.locate', { datasetId, filter: { split: 'train' }, key: target.key })
    expect(at.position).toBe(41)
    const inClass = await call<{ position: number }>('datasets.locate', { datasetId, filter: { classId: target.label }, key: target.key })
    expect(inClass.position).toBe(truth.filter((s) => s.label === target.label).findIndex((s) => s.key === target.key))
    const excluded = await call<{ position: number | null; sample: { key: string } }>('datasets.locate', { datasetId, filter: { classId: (target.label + 1) % 4 }, key: target.key })
    expect(excluded.position).toBeNull()
    expect(excluded.sample.key).toBe(target.key)
    const byIndex = await call<{ position: number; sample: { key: string } }>('datasets.locate', { datasetId, split: 'val', index: 3 })
    expect(byIndex.position).toBe(48 + 3)
    // A sample of another split than the filter shows is found, outside the filter (not "no such sample").
    const valTruth = await readSplit(join(demoDir, demo.manifest.splits.val.pattern))
    for (const other of [{ split: 'train', index: 5 }, { key: truth[5]!.key }]) {
      const hidden = await call<{ position: number | null; sample: { key: string; split: string } | null }>('datasets.locate', { datasetId, filter: { split: 'val' }, ...other })
      expect([hidden.position, hidden.sample?.split, hidden.sample?.key]).toEqual([null, 'train', truth[5]!.key])
    }
    const shown = await call<{ position: number | null; sample: { split: string } }>('datasets.locate', { datasetId, filter: { split: 'val' }, key: valTruth[2]!.key })
    expect([shown.position, shown.sample.split]).toEqual([2, 'val'])
    // With a page size, the page holding the sample comes along: the same rows datasets.samples gives.
    const withPage = await call<{ position: number; page: { offset: number; items: unknown[] } }>('datasets.locate', { datasetId, filter: { split: 'train' }, key: target.key, pageSize: 16 })
    expect(withPage.page.offset).toBe(32)
    expect(withPage.page).toEqual(await call('datasets.samples', { datasetId, filter: { split: 'train' }, offset: 32, limit: 16 }))
    expect((withPage.page.items[41 - 32] as { key: string }).key).toBe(target.key)
  })

  it('locate by a key that two splits hold answers the first and says where the other copy is; a key in one split says nothing more', async () => {
    // val names one of train's shards as well: its 16 keys are in both splits.
    const shards = expandPattern(join(demoDir, demo.manifest.splits.train.pattern))
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', {
      splits: [
        { name: 'train', patterns: [join(demoDir, demo.manifest.splits.train.pattern)] },
        { name: 'leaky-val', patterns: [shards[1]!.url] }
      ]
    })
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    type Located = { position: number; sample: { split: string; index: number }; elsewhere?: Array<{ split: string; index: number }> }
    const both = await call<Located>('datasets.locate', { datasetId, filter: {}, key: truth[20]!.key })
    expect([both.sample.split, both.sample.index, both.position]).toEqual(['train', 20, 20])
    expect(both.elsewhere).toEqual([{ split: 'leaky-val', index: 4 }])
    // With the other split shown, its copy is the one answered, inside the filter.
    const valShown = await call<Located>('datasets.locate', { datasetId, filter: { split: 'leaky-val' }, key: truth[20]!.key })
    expect([valShown.sample.split, valShown.sample.index, valShown.position]).toEqual(['leaky-val', 4, 4])
    expect(valShown.elsewhere).toEqual([{ split: 'train', index: 20 }])
    const once = await call<Located>('datasets.locate', { datasetId, filter: {}, key: truth[40]!.key })
    expect(once.sample.index).toBe(40)
    expect(once.elsewhere).toBeUndefined()
    // By index, a sample is named by its split: nothing to add.
    expect((await call<Located>('datasets.locate', { datasetId, split: 'train', index: 20 })).elsewhere).toBeUndefined()
  })

  it('sample detail lists every field with its size and the image shape and pixel range', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const detail = await call<{ key: string; fields: Array<{ name: string; bytes: number; kind: string; text?: string; image?: { width: number; height: number; channels: number; min: number; max: number } }> }>(
      'datasets.sample',
      { datasetId, split: 'train', index: 7 }
    )
    const names = detail.fields.map((f) => f.name)
    expect(names).toContain('jpg')
    expect(names).toContain('cls')
    const jpg = detail.fields.find((f) => f.name === 'jpg')!
    expect(jpg.image).toMatchObject({ width: 16, height: 16, channels: 3 })
    expect(jpg.image!.max).toBeLessThanOrEqual(255)
    const cls = detail.fields.find((f) => f.name === 'cls')!
    expect(cls.kind).toBe('label')
    const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
    expect(Number(cls.text)).toBe(truth[7]!.label)
    expect(detail.key).toBe(truth[7]!.key)
    await expect(call('datasets.sample', { datasetId, split: 'train', index: 48 })).rejects.toThrow(/48 samples/)
    await expect(call('datasets.sample', { datasetId, split: 'nope', index: 0 })).rejects.toThrow(/Unknown split "nope"/)
  })

  it('a validation pattern that misses a shard is reported with the uncovered shard\'s name', async () => {
    const folder = join(root, 'two-val')
    await mkdir(folder, { recursive: true })
    for (const s of demo.shards.train.slice(0, 2)) await copyFile(s.path, join(folder, s.name.replace('train', 'val')))
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'val', patterns: [join(folder, 'val-000000.tar')] }] })
    const inv = await call<{ warnings: Array<{ split: string; message: string; uncovered: string[] }>; splits: Array<{ samples: number }> }>('datasets.inventory', { datasetId })
    expect(inv.splits[0]!.samples).toBe(16)
    expect(inv.warnings).toHaveLength(1)
    expect(inv.warnings[0]!.uncovered).toEqual(['val-000001.tar'])
    expect(inv.warnings[0]!.message).toMatch(/covers 1 of 2 shards/)
  })

  it('patterns joined by :: over one series cover it together (one warning, their count); a pipe: pattern is refused at the open, as the CLI refuses it', async () => {
    const folder = join(root, 'joined')
    await mkdir(folder, { recursive: true })
    for (const [i, s] of demo.shards.train.slice(0, 3).entries()) await copyFile(s.path, join(folder, `t-00000${i}.tar`))
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [`${join(folder, 't-000000.tar')}::${join(folder, 't-000001.tar')}`] }] })
    const inv = await call<{ warnings: Array<{ split: string; message: string; uncovered: string[] }>; splits: Array<{ shards: unknown[] }> }>('datasets.inventory', { datasetId })
    expect(inv.splits[0]!.shards).toHaveLength(2)
    expect(inv.warnings.map((w) => [w.split, w.uncovered])).toEqual([['train', ['t-000002.tar']]])
    expect(inv.warnings[0]!.message).toMatch(/^train patterns cover 2 of 3 shards in .*joined: t-000002\.tar is not covered$/)
    await expect(call('datasets.open', { splits: [{ name: 'train', patterns: [`pipe:cat ${join(folder, 't-000000.tar')}`] }] })).rejects.toThrow(
      /^train: "pipe:cat .*": pipe: patterns run a shell command named in the data; ShardScope does not run them/
    )
  })

  it('a folder without dataset.json is split by shard names, and a missing shard shows as missing', async () => {
    const folder = join(root, 'plain')
    await mkdir(folder, { recursive: true })
    await copyFile(demo.shards.train[0]!.path, join(folder, 'train-000000.tar'))
    await copyFile(demo.shards.val[0]!.path, join(folder, 'val-000000.tar'))
    const summary = await call<{ datasetId: string; splits: Array<{ name: string }> }>('datasets.open', { folder })
    expect(summary.splits.map((s) => s.name)).toEqual(['train', 'val'])
    const sideBySide = await call<{ warnings: unknown[]; splits: Array<{ samples: number }> }>('datasets.inventory', { datasetId: summary.datasetId })
    expect(sideBySide.warnings).toEqual([])
    expect(sideBySide.splits.map((s) => s.samples)).toEqual([16, 16])
    const gone = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [join(folder, 'train-{000000..000001}.tar')] }] })
    const inv = await call<{ splits: Array<{ shards: Array<{ name: string; status: string; samples: number }> }> }>('datasets.inventory', { datasetId: gone.datasetId })
    expect(inv.splits[0]!.shards.map((s) => [s.name, s.status])).toEqual([
      ['train-000000.tar', 'ok'],
      ['train-000001.tar', 'missing']
    ])
  })

  it('a folder without dataset.json whose split folders keep shards in folders of their own: split by the top folder, as inventory and verify read it', async () => {
    const folder = join(root, 'nested')
    await mkdir(join(folder, 'train', 'part1'), { recursive: true })
    await mkdir(join(folder, 'train', 'part2'), { recursive: true })
    await mkdir(join(folder, 'val'), { recursive: true })
    await copyFile(demo.shards.train[0]!.path, join(folder, 'train', 'part1', '000000.tar'))
    await copyFile(demo.shards.train[0]!.path, join(folder, 'train', 'part2', '000000.tar'))
    await copyFile(demo.shards.val[0]!.path, join(folder, 'val', '000000.tar'))
    const summary = await call<{ datasetId: string; splits: Array<{ name: string; patterns: string[] }> }>('datasets.open', { folder })
    expect(summary.splits).toEqual([
      { name: 'train', patterns: [join(folder, 'train', 'part1', '000000.tar'), join(folder, 'train', 'part2', '000000.tar')], remotePatterns: [] },
      { name: 'val', patterns: [join(folder, 'val', '000000.tar')], remotePatterns: [] }
    ])
    const inv = await call<{ splits: Array<{ samples: number }> }>('datasets.inventory', { datasetId: summary.datasetId })
    expect(inv.splits.map((s) => s.samples)).toEqual([32, 16])
    const cli = await inventoryShards(folder)
    expect(cli.splits.map((s) => [s.name, s.shards, s.samples])).toEqual([
      ['train', 2, 32],
      ['val', 1, 16]
    ])
  })

  it('connections that drop (reading labels by range, or midway through a shard) are those shards\' problems: the dataset opens with what could be read', async () => {
    const good = await readFile(demo.shards.train[0]!.path)
    const server = createServer((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': String(good.length), etag: '"v1"' }).end()
      // drop-000000: whole when read from the start, cut off halfway when its labels are read by range; drop-000001: cut off halfway.
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
      if (range) {
        const [from, to] = [Number(range[1]), Math.min(Number(range[2]), good.length - 1)]
        res.writeHead(206, { 'content-length': String(to - from + 1), 'content-range': `bytes ${from}-${to}/${good.length}` })
        res.write(good.subarray(from, from + ((to - from + 1) >> 1)))
        setTimeout(() => res.socket?.destroy(), 50)
        return
      }
      res.writeHead(200, { 'content-length': String(good.length) })
      if (req.url === '/drop-000001.tar') {
        res.write(good.subarray(0, good.length >> 1))
        setTimeout(() => res.socket?.destroy(), 50)
      } else res.end(good)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const opened = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [`${base}/drop-{000000..000001}.tar`] }] })
      const inv = await call<{ splits: Array<{ shards: Array<{ name: string; status: string; samples: number; problems: string[] }> }> }>('datasets.inventory', { datasetId: opened.datasetId })
      const [first, cut] = inv.splits[0]!.shards
      expect([first!.name, first!.samples]).toEqual(['drop-000000.tar', 16])
      expect(cut!.status).not.toBe('ok')
      expect(cut!.problems.join(' ')).toContain(`${base}/drop-000001.tar: the connection closed midway`)
      const page = await call<{ total: number; items: Array<{ shard: string; label: number | null }> }>('datasets.samples', { datasetId: opened.datasetId, filter: {}, offset: 0, limit: 5, thumbnails: 0 })
      expect(page.total).toBe(16 + cut!.samples)
      // The first shard's labels could not be read: unknown, not wrong.
      expect(page.items.every((item) => item.shard === 'drop-000000.tar' && item.label === null)).toBe(true)
    } finally {
      server.close()
    }
  })

  it('a reopen in a new session reads the dataset cache, and a shard rewritten since (or a damaged cache) is indexed again', async () => {
    const folder = join(root, 'reopened')
    await mkdir(folder, { recursive: true })
    await copyFile(demo.shards.train[0]!.path, join(folder, 'train-000000.tar'))
    await copyFile(demo.shards.train[1]!.path, join(folder, 'train-000001.tar'))
    /** One session's inventory, first page and the shards it reported reading (progress comes per shard read, and once at the end). */
    const countsIn = async () => {
      const read: string[] = []
      const s = createServices({ ...ctx, emit: (name, payload) => name === 'datasets.indexProgress' && !(payload as { done: boolean }).done && read.push((payload as { shard: string }).shard) })
      const r = await dispatch(s.handlers, 'datasets.open', { folder })
      if (!r.ok) throw new Error(r.error.message)
      const { datasetId } = r.value as { datasetId: string }
      const inv = await dispatch(s.handlers, 'datasets.inventory', { datasetId })
      const page = await dispatch(s.handlers, 'datasets.samples', { datasetId, filter: {}, offset: 0, limit: 100 })
      await s.dispose()
      const inventory = (inv as { value: { splits: Array<{ shards: Array<{ samples: number; bytes: number; classHistogram: number[] }> }> } }).value
      const shards = inventory.splits[0]!.shards
      const items = (page as { value: { items: Array<{ key: string; label: number | null; imageField: string | null }> } }).value.items
      return { samples: shards.map((sh) => sh.samples), keys: items.map((i) => i.key), rows: items, inventory, read }
    }
    const first = await countsIn()
    expect(first.samples).toEqual([16, 16])
    expect(first.read).toEqual(['train-000000.tar'])
    const cacheFiles = (await readdir(join(ctx.stateDir, 'index-cache'))).filter((f) => f.startsWith('dataset-'))
    expect(cacheFiles.length).toBeGreaterThan(0)
    // The second session's inventory is the one saved by the first (no shard changed), before any sample table is built;
    // its sample table, labels included, comes from the dataset cache: no shard is read.
    expect((await readdir(join(ctx.stateDir, 'index-cache'))).filter((f) => f.startsWith('inventory-')).length).toBeGreaterThan(0)
    const second = await countsIn()
    expect(second.read).toEqual([])
    expect({ ...second, read: first.read }).toEqual(first)
    // The first shard now holds the third shard's samples: new size and mtime, so its cached entry is not used (the last shard's
    // progress event is the final one, so the first is the one whose reading shows).
    await copyFile(demo.shards.train[2]!.path, join(folder, 'train-000000.tar'))
    const rewrittenTruth = await readSplit(join(folder, 'train-000000.tar'))
    const truth = [...rewrittenTruth, ...(await readSplit(join(folder, 'train-000001.tar')))]
    const after = await countsIn()
    expect(after.read).toEqual(['train-000000.tar'])
    expect(after.keys).toEqual(truth.map((t) => t.key))
    expect(after.rows.map((r) => r.label)).toEqual(truth.map((t) => t.label))
    // The saved inventory is not used for the rewritten shard: its size and classes are the new file's.
    const rewritten = after.inventory.splits[0]!.shards[0]!
    expect(rewritten.bytes).toBe((await stat(join(folder, 'train-000000.tar'))).size)
    const classes: number[] = []
    for (const t of rewrittenTruth) classes[t.label] = (classes[t.label] ?? 0) + 1
    expect(rewritten.classHistogram).toEqual(Array.from(classes, (n) => n ?? 0))
    // A cache cut short (a crash of another tool, a full disk) is not trusted: every shard is read again, with the same result.
    for (const f of cacheFiles) {
      const path = join(ctx.stateDir, 'index-cache', f)
      await writeFile(path, (await readFile(path)).subarray(0, 200))
    }
    const damaged = await countsIn()
    expect(damaged.read).toEqual(['train-000000.tar'])
    expect(damaged.rows).toEqual(after.rows)
  })

  it('keys in any script survive the dataset cache: a reopen lists the same keys and labels', async () => {
    const folder = join(root, 'unicode-keys')
    await mkdir(folder, { recursive: true })
    const writer = new ShardWriter({ dir: folder, pattern: 'train-%06d.tar', maxcount: 3 })
    const keys = ['größe_001', '日本語_002', 'emoji_😀_003', 'plain_004', 'ñandú_005']
    for (const [i, key] of keys.entries()) await writer.write({ key, fields: { cls: String(i % 2), jpg: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#345' } }).jpeg().toBuffer() } })
    await writer.close()
    /** The listing, and the shards read for it (progress comes per shard read, and once at the end). */
    const listing = async () => {
      const read: string[] = []
      const s = createServices({ ...ctx, emit: (name, payload) => name === 'datasets.indexProgress' && !(payload as { done: boolean }).done && read.push((payload as { shard: string }).shard) })
      const r = await dispatch(s.handlers, 'datasets.open', { folder })
      if (!r.ok) throw new Error(r.error.message)
      const page = await dispatch(s.handlers, 'datasets.samples', { datasetId: (r.value as { datasetId: string }).datasetId, filter: {}, offset: 0, limit: 10 })
      await s.dispose()
      return { rows: (page as { value: { items: Array<{ key: string; label: number | null }> } }).value.items.map((x) => [x.key, x.label]), read }
    }
    const expected = keys.map((key, i) => [key, i % 2])
    expect(await listing()).toEqual({ rows: expected, read: ['train-000000.tar'] })
    // The reopen reads no shard: the keys come from the cache file.
    expect(await listing()).toEqual({ rows: expected, read: [] })
  })

  it('the "no-label" problem filter shows exactly the samples planted without a cls field', async () => {
    const folder = join(root, 'unlabelled')
    const faulty = await generateDemo(folder, { train: 32, val: 8, classes: 4, size: 12, shardMaxcount: 16, seed: 4, faults: ['missing-label'] })
    const planted = faulty.faults.filter((f) => f.name === 'missing-label').flatMap((f) => f.keys)
    expect(planted.length).toBeGreaterThan(0)
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder })
    const page = await call<{ total: number; items: Array<{ key: string; label: number | null }> }>('datasets.samples', { datasetId, filter: { problem: 'no-label' }, limit: 100 })
    expect(page.items.map((s) => s.key).sort()).toEqual([...planted].sort())
    expect(page.items.every((s) => s.label === null)).toBe(true)
  })

  it('"truncated" shows the samples read from a truncated shard, and "any" takes every problem, missing labels included', async () => {
    const folder = join(root, 'several-faults')
    const faulty = await generateDemo(folder, { train: 32, val: 8, classes: 4, size: 12, shardMaxcount: 16, seed: 5, faults: ['missing-label', 'truncated-shard', 'duplicate-keys'] })
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder })
    const keysOf = async (problem: string) => (await call<{ items: Array<{ key: string; split: string; index: number }> }>('datasets.samples', { datasetId, filter: { problem }, limit: 100 })).items
    const truncated = faulty.faults.find((f) => f.name === 'truncated-shard')!
    const cut = await keysOf('truncated')
    expect(cut.length).toBeGreaterThan(0)
    const inventory = await call<{ splits: Array<{ name: string; shards: Array<{ name: string; samples: number; problems: string[] }> }> }>('datasets.inventory', { datasetId })
    const cutShards = inventory.splits.flatMap((s) => s.shards.filter((sh) => sh.problems.some((p) => /truncated/.test(p))))
    expect(cutShards.map((sh) => sh.name)).toEqual([truncated.shards[0]!.split('/').pop()])
    expect(cut).toHaveLength(cutShards[0]!.samples)
    const any = new Set((await keysOf('any')).map((r) => `${r.split}/${r.index}`))
    for (const problem of ['no-label', 'truncated', 'non-adjacent-key']) for (const r of await keysOf(problem)) expect(any.has(`${r.split}/${r.index}`)).toBe(true)
    expect(any.size).toBeGreaterThan((await keysOf('no-label')).length)
  })

  it("a finding's class filter lists all its samples (1-based val labels: every sample of label 4, not the 20 offenders listed); duplicate keys show every copy", async () => {
    const folder = join(root, 'label-offset')
    await generateDemo(folder, { train: 48, val: 96, classes: 4, size: 12, shardMaxcount: 48, seed: 6, faults: ['label-offset', 'duplicate-keys'] })
    const report = await verifyDataset({ datasetDir: folder, threads: 0, batchSize: 16 })
    const offset = report.findings.find((f) => f.code === 'label-offset')!
    expect(offset.offenders.length).toBeLessThan(offset.offenderCount)
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder })
    const page = await call<{ total: number; items: Array<{ label: number | null }> }>('datasets.samples', { datasetId, filter: { split: offset.browse!.split, classId: offset.browse!.classId }, limit: 200 })
    expect(page.total).toBe(offset.offenderCount)
    expect(page.items.every((row) => row.label === 4)).toBe(true)
    // A duplicated key's finding lists one copy; the browser shows both, side by side.
    const dup = report.findings.find((f) => f.code === 'duplicate-keys')!
    const refs = dup.offenders.map((o) => ({ key: o.key!, url: o.url }))
    const copies = await call<{ items: Array<{ key: string; index: number }> }>('datasets.samples', { datasetId, filter: { keys: refs }, limit: 200 })
    expect(copies.items.length).toBe(2 * new Set(refs.map((r) => r.key)).size)
    for (const ref of refs) expect(copies.items.filter((row) => row.key === ref.key)).toHaveLength(2)
    // A jump to a duplicated key answers its first sample and names the other, in the same split.
    const [firstCopy, secondCopy] = (copies.items as Array<{ key: string; index: number; split: string }>).filter((row) => row.key === refs[0]!.key)
    const located = await call<{ sample: { index: number }; elsewhere?: Array<{ split: string; index: number }> }>('datasets.locate', { datasetId, filter: {}, key: refs[0]!.key })
    expect(located.sample.index).toBe(firstCopy!.index)
    expect(located.elsewhere).toEqual([{ split: secondCopy!.split, index: secondCopy!.index }])
  })

  it('shards over http are listed with the same keys and labels as on disk, reading labels by range requests', async () => {
    const server = await serveFolder(demoDir)
    try {
      const pattern = `${server.baseUrl}/${demo.manifest.splits.train.pattern}`
      const { datasetId } = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [pattern] }] })
      const page = await call<{ items: Array<{ key: string; label: number }> }>('datasets.samples', { datasetId, limit: 100 })
      const truth = await readSplit(join(demoDir, demo.manifest.splits.train.pattern))
      expect(page.items.map((s) => [s.key, s.label])).toEqual(truth.map((s) => [s.key, s.label]))
      const rangeReads = server.requests.filter((r) => r.startsWith('GET') && r.includes('bytes='))
      expect(rangeReads.length).toBeLessThan(truth.length)
      // Each shard is asked for its size and ETag once per open: indexing uses what the open learned.
      const heads = server.requests.filter((r) => r.startsWith('HEAD'))
      expect(heads.sort()).toEqual(expandPattern(join(demoDir, demo.manifest.splits.train.pattern)).map((l) => `HEAD /${l.url.slice(demoDir.length + 1)}`).sort())
      const thumb = await serveMedia(ctx, { datasetId, split: 'train', index: 20, field: 'jpg', variant: 'full' })
      expect((await sharp(thumb.body as Uint8Array).metadata()).width).toBe(16)
    } finally {
      await server.close()
    }
  })

  it('path completion lists only folders and shard files under the prefix', async () => {
    await writeFile(join(demoDir, 'notes.txt'), 'not a shard')
    const { entries } = await call<{ entries: Array<{ name: string; kind: string }> }>('datasets.completePath', { prefix: demoDir + '/' })
    expect(entries).toContainEqual(expect.objectContaining({ name: 'train', kind: 'directory' }))
    expect(entries.some((e) => e.name === 'notes.txt' || e.name === 'dataset.json')).toBe(false)
    const shards = await call<{ entries: Array<{ name: string; kind: string }> }>('datasets.completePath', { prefix: join(demoDir, 'train', 'train-00000') })
    expect(shards.entries.map((e) => e.name)).toEqual(demo.shards.train.map((s) => s.name))
    expect(shards.entries.every((e) => e.kind === 'shard')).toBe(true)
  })

  it('media serves thumbnails and full images of opened samples only, refusing unknown ids, bad indexes and ".." fields', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    const thumb = await serveMedia(ctx, { datasetId, split: 'train', index: '3', field: 'jpg', variant: 'thumb' })
    expect(thumb.status).toBe(200)
    // 16×16 fits a thumbnail: the stored JPEG is the thumbnail.
    expect(thumb.contentType).toBe('image/jpeg')
    expect(thumb.cacheControl).toContain('immutable')
    const full = await serveMedia(ctx, { datasetId, split: 'train', index: 3, field: 'jpg', variant: 'full' })
    expect(full.contentType).toBe('image/jpeg')
    const fullMeta = await sharp(full.body as Uint8Array).metadata()
    expect([fullMeta.width, fullMeta.height]).toEqual([16, 16])
    expect(Buffer.from(thumb.body as Uint8Array).equals(Buffer.from(full.body as Uint8Array))).toBe(true)
    expect(full.etag).not.toBe(thumb.etag)
    expect((await serveMedia(ctx, { datasetId: 'feedfacefeedface', split: 'train', index: 0, field: 'jpg', variant: 'thumb' })).status).toBe(404)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 48, field: 'jpg', variant: 'thumb' })).status).toBe(404)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: '-1', field: 'jpg', variant: 'thumb' })).status).toBe(400)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 0, field: '..', variant: 'thumb' })).status).toBe(400)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 0, field: '../../etc/passwd', variant: 'full' })).status).toBe(400)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 0, field: 'png', variant: 'full' })).status).toBe(404)
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 0, field: 'jpg', variant: 'huge' })).status).toBe(400)
  })

  it('images bigger than a thumbnail are made into 128-pixel WebP thumbnails, alone or in a batch with small ones', async () => {
    const bigDir = join(root, 'big-images')
    await generateDemo(bigDir, { train: 3, val: 1, classes: 2, size: 200, shardMaxcount: 4, seed: 5 })
    const big = await call<{ datasetId: string }>('datasets.open', { folder: bigDir })
    const thumb = await serveMedia(ctx, { datasetId: big.datasetId, split: 'train', index: 1, field: 'jpg', variant: 'thumb' })
    expect(thumb.contentType).toBe('image/webp')
    const meta = await sharp(thumb.body as Uint8Array).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 128, 128])
    const batch = await serveMediaBatch(ctx, {
      datasetId: big.datasetId,
      items: [0, 1, 2].map((index) => ({ split: 'train', index, field: 'jpg' })),
      variant: 'thumb'
    })
    const entries = decodeMediaBatch(new Uint8Array(batch.body as Uint8Array).buffer)
    expect(entries.map((e) => e.entry.contentType)).toEqual(['image/webp', 'image/webp', 'image/webp'])
    expect(Buffer.from(entries[1]!.body).equals(Buffer.from(thumb.body as Uint8Array))).toBe(true)
  })

  it('a gzipped shard\'s images come in a batch as the stored bytes, beside an uncompressed shard\'s', async () => {
    const folder = join(root, 'gzipped')
    await mkdir(folder, { recursive: true })
    await writeFile(join(folder, 'train-000000.tar.gz'), gzipSync(await readFile(demo.shards.train[0]!.path)))
    await copyFile(demo.shards.train[1]!.path, join(folder, 'train-000001.tar'))
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [join(folder, 'train-000000.tar.gz'), join(folder, 'train-000001.tar')] }] })
    const stored: Uint8Array[] = []
    for (const shard of [demo.shards.train[0]!.path, demo.shards.train[1]!.path]) {
      for await (const sample of readSamples(expandPattern(shard)[0]!)) stored.push(sample.fields.jpg!)
    }
    const indexes = [3, 17, 4]
    const batch = await serveMediaBatch(ctx, { datasetId, items: indexes.map((index) => ({ split: 'train', index, field: 'jpg' })), variant: 'thumb' })
    const entries = decodeMediaBatch(new Uint8Array(batch.body as Uint8Array).buffer)
    expect(entries.map((e) => e.entry.status)).toEqual([200, 200, 200])
    expect(entries.map((e, i) => Buffer.from(e.body).equals(Buffer.from(stored[indexes[i]!]!)))).toEqual([true, true, true])
  })

  it('gzip shards over HTTP are downloaded once per use, not once per sample: opening (index, labels) and a screen of thumbnails', async () => {
    const folder = join(root, 'gzipped-http')
    await mkdir(folder, { recursive: true })
    for (const k of [0, 1]) await writeFile(join(folder, `train-00000${k}.tar.gz`), gzipSync(await readFile(demo.shards.train[k]!.path)))
    const server = await serveFolder(folder)
    try {
      const { datasetId } = await call<{ datasetId: string }>('datasets.open', { splits: [{ name: 'train', patterns: [`${server.baseUrl}/train-{000000..000001}.tar.gz`] }] })
      const page = await call<{ total: number; items: Array<{ label: number | null }>; thumbnails: Array<unknown> }>('datasets.samples', { datasetId, filter: {}, offset: 0, limit: 32, thumbnails: 32 })
      expect(page.total).toBe(32)
      // Labels were read (one pass per shard), and every thumbnail came.
      const truth = [...(await readSplit(demo.shards.train[0]!.path)), ...(await readSplit(demo.shards.train[1]!.path))]
      expect(page.items.map((i) => i.label)).toEqual(truth.map((t) => t.label))
      expect(page.thumbnails.filter((t) => t !== null)).toHaveLength(32)
      const gets = (name: string) => server.requests.filter((r) => r.startsWith(`GET /${name}`)).length
      // Index, labels, thumbnails: a few whole reads per shard (it was one per sample, ~50 for 16 samples).
      expect(gets('train-000000.tar.gz')).toBeLessThanOrEqual(4)
      expect(gets('train-000001.tar.gz')).toBeLessThanOrEqual(4)
    } finally {
      await server.close()
    }
  })

  it('an npy image is served as a PNG of its shape', async () => {
    const folder = join(root, 'npy')
    const npyDemo = await generateDemo(folder, { train: 8, val: 4, classes: 2, size: 12, shardMaxcount: 8, seed: 5, valFormat: 'npy' })
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder })
    const page = await call<{ items: Array<{ imageField: string }> }>('datasets.samples', { datasetId, filter: { split: 'val' } })
    expect(page.items[0]!.imageField).toBe('npy')
    const full = await serveMedia(ctx, { datasetId, split: 'val', index: 1, field: 'npy', variant: 'full' })
    expect(full.contentType).toBe('image/png')
    const meta = await sharp(full.body as Uint8Array).metadata()
    expect([meta.width, meta.height]).toEqual([npyDemo.manifest.imageShape[1], npyDemo.manifest.imageShape[0]])
  })

  it('closing a dataset makes its media unreachable', async () => {
    const { datasetId } = await call<{ datasetId: string }>('datasets.open', { folder: demoDir })
    await call('datasets.close', { datasetId })
    expect((await serveMedia(ctx, { datasetId, split: 'train', index: 0, field: 'jpg', variant: 'thumb' })).status).toBe(404)
    await expect(call('datasets.samples', { datasetId })).rejects.toThrow(/No open dataset/)
  })
})
