/**
 * Checks that need more than one shard or split: coverage gaps and suggestions, label
 * diversity of a class-ordered shard, leakage between splits, copies with other bytes.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expandPattern } from '../wds/patterns'
import { serveFolder } from '../wds/testing/http-server'
import { packTar, type TestMember } from '../wds/testing/tar'
import { patternForFiles } from '../wds/shard-files'
import { planVerification, verifyDataset, VerifyInputError } from './verify-dataset'

const root = mkdtempSync(join(tmpdir(), 'shardscope-verify-checks-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const jpgs: Uint8Array[] = []
beforeAll(async () => {
  for (let k = 0; k < 40; k++) {
    const raw = new Uint8Array(16 * 16 * 3).map((_, i) => (i * (k + 3) + k * 17) % 256)
    jpgs.push(new Uint8Array(await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer()))
  }
})

function shard(prefix: string, labels: number[], imageOf = (i: number) => jpgs[i % jpgs.length]!): Promise<Buffer> {
  const members: TestMember[] = []
  labels.forEach((label, i) => members.push({ name: `${prefix}${i}.cls`, data: String(label) }, { name: `${prefix}${i}.jpg`, data: imageOf(i) }))
  return packTar(members)
}

function dir(name: string): string {
  const d = join(root, name)
  mkdirSync(d, { recursive: true })
  return d
}

/** x-000000.tar and x-000001.tar, and remote/ holding a copy of the first only. */
async function twoShardsAndACopyOfTheFirst(name: string): Promise<string> {
  const d = dir(name)
  mkdirSync(join(d, 'remote'))
  writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
  writeFileSync(join(d, 'x-000001.tar'), await shard('b', [0, 1, 2]))
  copyFileSync(join(d, 'x-000000.tar'), join(d, 'remote', 'x-000000.tar'))
  return d
}

describe('verifier checks across shards and splits', () => {
  it('a pattern over a folder with a numbering gap names the skipped shard, the gap, and a pattern listing the shards', async () => {
    const d = dir('gap')
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
    writeFileSync(join(d, 'x-000002.tar'), await shard('b', [0, 1, 2]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar' }], classes: 3, threads: 0 })
    const codes = report.findings.map((f) => f.code)
    expect(codes).toEqual(['pattern-misses-shards', 'shard-numbering-gap'])
    expect(report.findings[0]!.title).toBe('Training pattern `x-000000.tar` covers 1 of 2 shards in the folder: 3 of 6 samples are skipped.')
    expect(report.findings[0]!.fix).toBe('Use `x-{000000,000002}.tar`.')
    expect(report.findings[1]!.evidence).toEqual(['missing shard numbers: 1'])
  })

  it('a shard the pattern names that does not exist is one finding, shard-missing, and not also a numbering gap', async () => {
    const d = dir('named-gap')
    writeFileSync(join(d, 'x-000.tar'), await shard('a', [0, 1, 2]))
    writeFileSync(join(d, 'x-002.tar'), await shard('b', [0, 1, 2]))
    writeFileSync(join(d, 'x-005.tar'), await shard('c', [0, 1, 2]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000..002}.tar::x-005.tar' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['shard-missing', 'shard-numbering-gap'])
    expect(report.findings[0]!.offenders.map((o) => o.url)).toEqual([join(d, 'x-001.tar')])
    // 3 and 4 are numbers the pattern does not name: those stay a gap.
    expect(report.findings[1]!.evidence).toEqual(['missing shard numbers: 3, 4'])
  })

  it('one shard of a copy with other bytes differs (the verb agrees with the count)', async () => {
    const d = await twoShardsAndACopyOfTheFirst('copy-one-differs')
    writeFileSync(join(d, 'remote', 'x-000001.tar'), await shard('b', [0, 1, 2], (i) => jpgs[i + 20]!))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000..000001}.tar', remotePattern: 'remote/x-{000000..000001}.tar' }], classes: 3, threads: 0 })
    expect(report.findings[0]!.title).toBe('1 shard of the training copy `remote/x-{000000..000001}.tar` differs from the local shards of the same name (same sample counts, other bytes).')
  })

  it("train and val splitting one folder by shard number cover it together: no split is told it skips the other's shards", async () => {
    const d = dir('split-by-number')
    for (let n = 0; n < 5; n++) writeFileSync(join(d, `s-00000${n}.tar`), await shard(`k${n}-`, [0, 1, 2]))
    const splits = [
      { name: 'train', pattern: 's-{000000..000002}.tar' },
      { name: 'val', pattern: 's-{000003..000004}.tar' }
    ]
    const report = await verifyDataset({ base: d, splits, classes: 3, threads: 0 })
    expect(report.findings.filter((f) => f.code === 'pattern-misses-shards')).toEqual([])
    // With one shard left out by both, each split is told of it alone, and offered its own shards plus that one, not the other split's.
    writeFileSync(join(d, 's-000005.tar'), await shard('k5-', [0, 1, 2]))
    const again = await verifyDataset({ base: d, splits, classes: 3, threads: 0 })
    const misses = again.findings.filter((f) => f.code === 'pattern-misses-shards')
    expect(misses.map((f) => f.fix)).toEqual(['Use `s-{000000,000001,000002,000005}.tar`.', 'Use `s-{000003..000005}.tar`.'])
    expect(misses[0]!.title).toBe('Training pattern `s-{000000..000002}.tar` covers 3 of 4 shards in the folder: 3 of 12 samples are skipped.')
  })

  it('a series with some shards compressed is one series: no gap where the .tar.gz ones are, and a fix naming them', async () => {
    const d = dir('mixed-compression')
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
    writeFileSync(join(d, 'x-000001.tar.gz'), gzipSync(await shard('b', [0, 1, 2])))
    writeFileSync(join(d, 'x-000002.tar'), await shard('c', [0, 1, 2]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000,000002}.tar' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['pattern-misses-shards'])
    expect(report.findings[0]!.fix).toBe('Use `x-000001.tar.gz::x-{000000,000002}.tar`.')
  })

  it('a .tar.gz of several gzip streams is a readability error naming the shard, with the fix', async () => {
    const d = dir('several-gzip-streams')
    const tar = await shard('g', [0, 1, 2, 0, 1, 2])
    writeFileSync(join(d, 'x-000000.tar.gz'), Buffer.concat([gzipSync(tar.subarray(0, 3072)), gzipSync(tar.subarray(3072))]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar.gz' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => [f.code, f.severity])).toEqual([['several-gzip-streams', 'error']])
    expect(report.findings[0]!.title).toMatch(/^Training shard `.*x-000000\.tar\.gz` is several gzip streams joined: webdataset reads only the first\.$/)
    expect(report.splits[0]!.samples).toBe(6)
  })

  it('a cut inside the image of a sample leaves the samples before it counted and verified, as the inventory counts them', async () => {
    const d = dir('cut-in-image')
    // Each sample's image first, then its label (as `tar cf` of sorted names with .cls after .jpg would not, but writers do).
    const tar = await packTar([0, 1, 2, 0].flatMap((label, i) => [{ name: `a${i}.jpg`, data: jpgs[i]! }, { name: `a${i}.cls`, data: String(label) }]))
    // Into the data of a2.jpg, the first member of sample a2: a reader that wants its bytes never sees it begin.
    const header = tar.indexOf('a2.jpg')
    writeFileSync(join(d, 'x-000000.tar'), tar.subarray(0, header + 512 + 100))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar' }], classes: 3, threads: 0 })
    expect(report.splits[0]!.samples).toBe(2)
    expect(report.findings.map((f) => f.code)).toEqual(['truncated-shard'])
  })

  it('a shard written in class order shows 1 class per batch and is reported as low label diversity', async () => {
    const d = dir('ordered')
    const labels = Array.from({ length: 160 }, (_, i) => Math.floor(i / 16))
    writeFileSync(join(d, 'x.tar'), await shard('s', labels))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, batchSize: 16, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['low-label-diversity'])
    expect(report.splits[0]!.labelDiversity).toEqual({ batchSize: 16, batches: 10, min: 1, mean: 1, max: 1 })
    expect(report.findings[0]!.title).toMatch(/batches of 16 consecutive samples hold 1\.0 distinct classes on average where a shuffled split would hold ≈ 8/)
  })

  it('identical images in train and val are reported as leakage with both keys', async () => {
    const d = dir('leak')
    writeFileSync(join(d, 'train.tar'), await shard('t', [0, 1, 2, 3, 4, 5]))
    // val's sample v1 carries the same JPEG bytes as train's t3.
    writeFileSync(join(d, 'val.tar'), await shard('v', [3, 3], (i) => (i === 1 ? jpgs[3]! : jpgs[30]!)))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'train.tar' }, { name: 'val', pattern: 'val.tar' }], classes: 6, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['train-val-leakage'])
    expect(report.findings[0]!.offenders).toEqual([{ url: join(d, 'val.tar'), key: 'v1', expected: 'an image not in training', found: `identical to t3 in ${join(d, 'train.tar')}` }])
  })

  it('a copy with the same layout but other bytes names the differing shards by SHA-256', async () => {
    const d = await twoShardsAndACopyOfTheFirst('copy')
    // Same keys and counts, one image re-encoded differently.
    writeFileSync(join(d, 'remote', 'x-000001.tar'), await shard('b', [0, 1, 2], (i) => jpgs[i + 20]!))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000..000001}.tar', remotePattern: 'remote/x-{000000..000001}.tar' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['copy-differs'])
    expect(report.findings[0]!.offenders.map((o) => o.url)).toEqual([join(d, 'remote', 'x-000001.tar')])
  })

  it('a copy over http is compared byte for byte as a local one is: other bytes are named, an identical copy passes', async () => {
    const d = await twoShardsAndACopyOfTheFirst('copy-http-bytes')
    writeFileSync(join(d, 'remote', 'x-000001.tar'), await shard('b', [0, 1, 2], (i) => jpgs[i + 20]!))
    const server = await serveFolder(join(d, 'remote'))
    try {
      const splits = [{ name: 'train', pattern: 'x-{000000..000001}.tar', remotePattern: `${server.baseUrl}/x-{000000..000001}.tar` }]
      const report = await verifyDataset({ base: d, splits, classes: 3, threads: 0 })
      expect(report.findings.map((f) => f.code)).toEqual(['copy-differs'])
      expect(report.findings[0]!.offenders.map((o) => o.url)).toEqual([`${server.baseUrl}/x-000001.tar`])
      expect(report.findings[0]!.title).toMatch(/^1 shard of the training copy/)
      // The same bytes over http: nothing to report.
      writeFileSync(join(d, 'remote', 'x-000001.tar'), await shard('b', [0, 1, 2]))
      const same = await verifyDataset({ base: d, splits, classes: 3, threads: 0 })
      expect(same.findings).toEqual([])
      expect(same.checks.find((c) => c.check === 'copy-vs-copy')!.status).toBe('passed')
    } finally {
      await server.close()
    }
  })

  it('a copy in another layout is stale even when one of its shards cannot be read; a copy whose readable shards match is only unreadable', async () => {
    const d = dir('copy-stale-partly-unreadable')
    mkdirSync(join(d, 'remote'))
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2, 0, 1, 2]))
    // The old layout: three shards of two samples, and a fourth the pattern names that is gone.
    for (let n = 0; n < 3; n++) writeFileSync(join(d, 'remote', `x-00000${n}.tar`), await shard(`a${n}-`, [0, 1]))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar', remotePattern: 'remote/x-{000000..000003}.tar' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['stale-copy', 'copy-unreadable'])
    expect(report.findings[0]!.title).toBe(
      'Training copy `remote/x-{000000..000003}.tar` is stale, by the 3 shards of it that could be read: 2 shards with no local shard of the same name, 1 shard with other sample counts than the local shard of the same name, 6 keys the local copy does not have.'
    )
    expect(report.findings[1]!.title).toMatch(/^Training copy `remote\/x-\{000000\.\.000003\}\.tar`: 1 of its 4 shards could not be read \(/)
  })

  it('a copy that cannot be read is named unreadable with the reason, not stale', async () => {
    const d = await twoShardsAndACopyOfTheFirst('copy-missing')
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000..000001}.tar', remotePattern: 'remote/x-{000000..000001}.tar' }], classes: 3, threads: 0 })
    expect(report.findings.map((f) => f.code)).toEqual(['copy-unreadable'])
    const f = report.findings[0]!
    expect(f.title).toMatch(/^Training copy `remote\/x-\{000000\.\.000001\}\.tar`: 1 of its 2 shards could not be read, so it was not compared with the local copy \(.*no such file/)
    expect(f.offenders.map((o) => o.url)).toEqual([join(d, 'remote', 'x-000001.tar')])
    expect(report.checks.find((c) => c.check === 'copy-vs-copy')!.status).toBe('failed')
  })

  it('a copy behind a server that answers 404 for every shard is named unreadable with the HTTP status', async () => {
    const d = dir('copy-http')
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
    const server = createServer((_req, res) => res.writeHead(404).end('no such object'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/x-000000.tar`
      const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar', remotePattern: url }], classes: 3, threads: 0 })
      expect(report.findings.map((f) => f.code)).toEqual(['copy-unreadable'])
      expect(report.findings[0]!.title).toContain('its shard could not be read')
      expect(report.findings[0]!.title).toContain('404')
      expect(report.findings[0]!.evidence.some((e) => e.startsWith(`${url}: `))).toBe(true)
    } finally {
      server.close()
    }
  })

  it('a shard whose connection drops midway was read in part: a finding about it, not "no shard could be read"', async () => {
    const tar = await shard('h', [0, 1, 2, 0, 1, 2, 0, 1])
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(tar.length) })
      // Half the bytes, then the connection is cut.
      res.write(tar.subarray(0, tar.length >> 1), () => res.destroy())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/h.tar`
      const report = await verifyDataset({ splits: [{ name: 'train', pattern: url }], classes: 3, threads: 0 })
      expect(report.samplesVerified).toBeGreaterThan(0)
      expect(report.findings.map((f) => f.code)).toContain('unreadable-shard')
    } finally {
      server.close()
    }
  })

  it('when not one shard can be opened (every URL answers 404) the run stops with an input error naming them, not a report of passed checks', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('no such object'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const run = verifyDataset({ splits: [{ name: 'train', pattern: `${base}/t-{0..1}.tar` }, { name: 'val', pattern: `${base}/v.tar` }], classes: 3, threads: 0 })
      await expect(run).rejects.toThrow(VerifyInputError)
      await expect(run).rejects.toThrow(`no shard could be read: ${base}/t-0.tar: HTTP 404 Not Found; ${base}/t-1.tar: HTTP 404 Not Found; ${base}/v.tar: HTTP 404 Not Found`)
    } finally {
      server.close()
    }
  })

  it('over http(s) the coverage check says it could not look (a bucket has no listing), instead of passing', async () => {
    const d = dir('served')
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
    writeFileSync(join(d, 'x-000001.tar'), await shard('b', [0, 1, 2], (i) => jpgs[10 + i]!))
    const server = await serveFolder(d)
    try {
      // The pattern names one of the two shards: locally that is a finding; over http it cannot be seen.
      const report = await verifyDataset({ splits: [{ name: 'train', pattern: `${server.baseUrl}/x-000000.tar` }], classes: 3, threads: 0 })
      expect(report.samplesVerified).toBe(3)
      expect(report.checks.find((c) => c.check === 'coverage')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/cannot be listed/) })
    } finally {
      await server.close()
    }
  })

  it('patterns that match no existing file at all stop the run with an input error naming them', async () => {
    const d = dir('nothing')
    const run = verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-{000000..000001}.tar' }, { name: 'val', pattern: 'v.tar' }], classes: 3, threads: 0 })
    await expect(run).rejects.toThrow(VerifyInputError)
    await expect(run).rejects.toThrow(`no shard to verify: the train pattern \`x-{000000..000001}.tar\` matches no existing file (looked in ${d}); the val pattern \`v.tar\` matches no existing file (looked in ${d})`)
  })

  it.each([
    [['x-000000.tar', 'x-000001.tar', 'x-000002.tar'], 'train/x-{000000..000002}.tar'],
    [['x-000000.tar', 'x-000002.tar'], 'train/x-{000000,000002}.tar'],
    [['x-000007.tar'], 'train/x-000007.tar'],
    [['b.tar', 'a-1.tar.gz', 'a-2.tar.gz', 'a-03.tar'], 'train/a-03.tar::train/a-{1..2}.tar.gz::train/b.tar']
  ])('patternForFiles(%j) is %s', (names, pattern) => {
    expect(patternForFiles('train/', names)).toBe(pattern)
    expect(expandPattern(pattern).map((l) => l.url.slice(l.url.lastIndexOf('/') + 1)).sort()).toEqual([...names].sort())
  })

  it('a folder of shards without dataset.json is verified split by split, as the inventory finds them', async () => {
    const d = dir('no-manifest')
    mkdirSync(join(d, 'train'))
    writeFileSync(join(d, 'train', 'train-000000.tar'), await shard('a', [0, 1, 2]))
    writeFileSync(join(d, 'train', 'train-000001.tar'), await shard('b', [0, 1, 2]))
    writeFileSync(join(d, 'val-000000.tar'), await shard('v', [0, 1], (i) => jpgs[30 + i]!))
    const { plan } = planVerification({ datasetDir: d })
    expect(plan.splits.map((s) => [s.name, s.pattern])).toEqual([
      ['train', 'train/train-{000000..000001}.tar'],
      ['val', 'val-000000.tar']
    ])
    const report = await verifyDataset({ datasetDir: d, threads: 0 })
    expect(report.samplesVerified).toBe(8)
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([])
    // An empty folder still has nothing to verify.
    expect(() => planVerification({ datasetDir: dir('empty-folder') })).toThrow(/has no dataset\.json and no shard files/)
  })

  it('an identical copy gives no finding and the copy check passes', async () => {
    const d = dir('same')
    mkdirSync(join(d, 'remote'))
    writeFileSync(join(d, 'x-000000.tar'), await shard('a', [0, 1, 2]))
    copyFileSync(join(d, 'x-000000.tar'), join(d, 'remote', 'x-000000.tar'))
    const report = await verifyDataset({ base: d, splits: [{ name: 'train', pattern: 'x-000000.tar', remotePattern: 'remote/x-000000.tar' }], classes: 3, threads: 0 })
    expect(report.findings).toEqual([])
    expect(report.checks.find((c) => c.check === 'copy-vs-copy')!.status).toBe('passed')
  })
})
