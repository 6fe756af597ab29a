import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expandPattern } from './patterns'
import { readSamples } from './read'
import { indexShard, readDecompressedSpans, readSampleAt } from './shard-index'
import { serveFolder, type TestHttpServer } from './testing/http-server'
import { packTar, type TestMember } from './testing/tar'
import type { Sample, ShardLocation } from './types'

let dir: string
let server: TestHttpServer
const members: TestMember[] = []
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wds-index-'))
  mkdirSync(join(dir, 'www'))
  for (let i = 0; i < 40; i++) {
    const key = `d.v1/s${String(i).padStart(3, '0')}`
    members.push({ name: `${key}.jpg`, data: Buffer.alloc(100 + i * 37, i) })
    members.push({ name: `${key}.cls`, data: String(i % 7) })
    if (i % 3 === 0) members.push({ name: `${key}.seg.PNG`, data: `seg ${i}` })
  }
  const tar = await packTar(members)
  writeFileSync(join(dir, 'www', 'shard.tar'), tar)
  writeFileSync(join(dir, 'www', 'shard.tar.gz'), gzipSync(tar))
  server = await serveFolder(join(dir, 'www'))
})
afterAll(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

async function sequential(location: ShardLocation): Promise<Sample[]> {
  const out: Sample[] = []
  for await (const sample of readSamples(location)) out.push(sample)
  return out
}

const plain = (s: Sample): unknown => ({ key: s.key, index: s.indexInShard, fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) })

describe('indexShard + readSampleAt', () => {
  for (const name of ['shard.tar', 'shard.tar.gz']) {
    it(`random access equals the sequential read, for a file and over HTTP (${name})`, async () => {
      const file = expandPattern(join(dir, 'www', name))[0]!
      const remote = expandPattern(`${server.baseUrl}/${name}`)[0]!
      const expected = (await sequential(file)).map(plain)
      expect(expected).toHaveLength(40)
      for (const location of [file, remote]) {
        const index = await indexShard(location)
        expect(index.problems).toEqual([])
        expect(index.compressed).toBe(name.endsWith('.gz'))
        expect(index.samples.map((s) => s.key)).toEqual(expected.map((s) => (s as { key: string }).key))
        for (const i of [39, 0, 17, 3]) {
          const sample = await readSampleAt(location, index, i)
          expect(plain(sample)).toEqual(expected[i])
          expect(sample.url).toBe(location.url)
        }
      }
    })
  }

  it('many spans of a gzip shard in one pass, in the order asked, equal the same fields read one by one; a span past the end fails naming the shard', async () => {
    for (const location of [expandPattern(join(dir, 'www', 'shard.tar.gz'))[0]!, expandPattern(`${server.baseUrl}/shard.tar.gz`)[0]!]) {
      const index = await indexShard(location)
      expect(index.problems).toEqual([])
      const picks = [31, 2, 17, 2, 39, 0] // out of order, one twice
      const spans = picks.map((i) => index.samples[i]!.members.jpg!)
      const before = server.requests.length
      const got = await readDecompressedSpans(location, spans)
      if (location.url.startsWith('http')) expect(server.requests.length - before).toBe(1)
      for (const [k, i] of picks.entries()) expect(Buffer.from(got[k]!).equals(Buffer.from((await readSampleAt(location, index, i)).fields.jpg!))).toBe(true)
      await expect(readDecompressedSpans(location, [[1e9, 4]])).rejects.toThrow(`${location.url}: expected 4 bytes at offset`)
    }
  })

  it('a gzip shard of several gzip streams is indexed whole, with the problem, over HTTP too', async () => {
    const tar = readFileSync(join(dir, 'www', 'shard.tar'))
    writeFileSync(join(dir, 'www', 'streams.tar.gz'), Buffer.concat([gzipSync(tar.subarray(0, 10240)), gzipSync(tar.subarray(10240))]))
    for (const location of [expandPattern(join(dir, 'www', 'streams.tar.gz'))[0]!, expandPattern(`${server.baseUrl}/streams.tar.gz`)[0]!]) {
      const index = await indexShard(location)
      expect(index.samples.length).toBe((await indexShard(expandPattern(join(dir, 'www', 'shard.tar'))[0]!)).samples.length)
      expect(index.problems.map((p) => p.kind)).toEqual(['several-gzip-streams'])
    }
  })

  it('reads from a gzipped shard stop early without an uncaught "premature close" (it would take the serve host down)', async () => {
    const location = expandPattern(join(dir, 'www', 'shard.tar.gz'))[0]!
    const index = await indexShard(location)
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown): number => uncaught.push(err)
    process.on('uncaughtException', onUncaught)
    try {
      // Many reads at once, each stopping at its sample: the stream is ended while it is being read.
      for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 40 }, (_, i) => readSampleAt(location, index, i)))
      await new Promise((resume) => setTimeout(resume, 100))
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(uncaught).toEqual([])
  })

  it('uses one Range request per sample over HTTP for an uncompressed shard', async () => {
    const remote = expandPattern(`${server.baseUrl}/shard.tar`)[0]!
    const index = await indexShard(remote)
    server.requests.length = 0
    await readSampleAt(remote, index, 25)
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]).toMatch(/^GET \/shard\.tar bytes=\d+-\d+$/)
  })

  it('caches the index atomically and rebuilds it when the shard changes', async () => {
    const cacheDir = join(dir, 'cache')
    const path = join(dir, 'cached.tar')
    writeFileSync(path, await packTar(members.slice(0, 4)))
    const location = expandPattern(path)[0]!
    const first = await indexShard(location, { cacheDir })
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(1)
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(await indexShard(location, { cacheDir })).toEqual(first)
    writeFileSync(path, await packTar(members.slice(0, 10)))
    utimesSync(path, new Date(), new Date(Date.now() + 5000))
    const second = await indexShard(location, { cacheDir })
    expect(second.samples.length).toBeGreaterThan(first.samples.length)
    expect(second.validator).not.toBe(first.validator)
  })

  it('indexes a GNU tar archive and a truncated shard like the sequential reader does', async () => {
    const src = join(dir, 'gnu-src')
    mkdirSync(join(src, 'a.b'), { recursive: true })
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(src, 'a.b', `k${i}.txt`), `text ${i}`.repeat(200))
      writeFileSync(join(src, 'a.b', `k${i}.cls`), `${i}`)
    }
    const gnu = join(dir, 'gnu.tar')
    execFileSync('tar', ['--format=gnu', '--sort=name', '-cf', gnu, '-C', src, 'a.b'])
    const location = expandPattern(gnu)[0]!
    const index = await indexShard(location)
    expect(index.samples.map((s) => [s.key, Object.keys(s.members).sort()])).toEqual([
      ['a.b/k0', ['cls', 'txt']],
      ['a.b/k1', ['cls', 'txt']],
      ['a.b/k2', ['cls', 'txt']]
    ])
    expect(plain(await readSampleAt(location, index, 1))).toEqual((await sequential(location)).map(plain)[1])

    const cut = join(dir, 'cut.tar')
    const full = await indexShard(expandPattern(join(dir, 'www', 'shard.tar'))[0]!)
    const s20 = full.samples[20]!.members.jpg!
    // Cut inside sample 20's jpg (20 whole samples before), and exactly after sample 20's last member.
    const s20End = Math.max(...Object.values(full.samples[20]!.members).map(([at, size]) => Math.ceil((at + size) / 512) * 512))
    for (const [bytes, whole] of [[s20[0] + 10, 20], [s20End, 21]] as const) {
      writeFileSync(cut, (await packTar(members)).subarray(0, bytes))
      const cutLocation = expandPattern(cut)[0]!
      const problems: string[] = []
      const seq: string[] = []
      for await (const s of readSamples(cutLocation, { onProblem: (p) => problems.push(p.kind) })) seq.push(s.key)
      const cutIndex = await indexShard(cutLocation)
      expect(seq).toHaveLength(whole)
      expect(cutIndex.samples.map((s) => s.key)).toEqual(seq)
      expect(cutIndex.problems.map((p) => p.kind)).toEqual(problems)
      expect(problems).toEqual(['truncated'])
    }
  })

  it('closes the shard file when the scan stops at the end marker with record padding left unread', async () => {
    const path = join(dir, 'www', 'padded.tar')
    // GNU tar pads archives to 10 KiB records; the scan stops at the end marker before it.
    writeFileSync(path, Buffer.concat([await packTar(members), Buffer.alloc(10240)]))
    const shardFds = (): string[] =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(join('/proc/self/fd', fd)) === path
        } catch {
          return false // closed meanwhile (e.g. the directory listing's own descriptor)
        }
      })
    for (let i = 0; i < 5; i++) expect((await indexShard(expandPattern(path)[0]!)).samples).toHaveLength(40)
    // Closing a file stream finishes on a later turn of the event loop.
    for (let i = 0; i < 20 && shardFds().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(shardFds()).toEqual([])
  })

  it('says which sample is out of range', async () => {
    const location = expandPattern(join(dir, 'www', 'shard.tar'))[0]!
    const index = await indexShard(location)
    await expect(readSampleAt(location, index, 40)).rejects.toThrow(/sample 40 is out of range \(the shard has 40\)/)
  })
})
