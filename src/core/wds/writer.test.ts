import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { expandPattern } from './patterns'
import { readSamples } from './read'
import type { ReadProblem } from './types'
import { ShardWriter, checkKey, formatShardName, type SampleToWrite } from './writer'

const root = mkdtempSync(join(tmpdir(), 'shardscope-writer-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
function freshDir(): string {
  const d = join(root, String(n++))
  execFileSync('mkdir', ['-p', d])
  return d
}

function bytesOf(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len)
  for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7) & 0xff
  return b
}

function samples(count: number): SampleToWrite[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `s${String(i).padStart(4, '0')}`,
    // Given out of order on purpose: the writer sorts fields.
    fields: { txt: `caption ${i}`, cls: String(i % 7), jpg: bytesOf(i, 300 + i * 13) }
  }))
}

async function writeAll(dir: string, items: SampleToWrite[], opts: { maxcount?: number; maxsize?: number } = {}) {
  const w = new ShardWriter({ dir, pattern: 'train-%06d.tar', ...opts })
  for (const s of items) await w.write(s)
  return w.close()
}

const python = '/usr/bin/python3'

describe('ShardWriter', () => {
  it('splits samples into shards of at most maxcount, named by the %06d pattern', async () => {
    const dir = freshDir()
    const shards = await writeAll(dir, samples(25), { maxcount: 10 })
    expect(shards.map((s) => [s.name, s.samples])).toEqual([
      ['train-000000.tar', 10],
      ['train-000001.tar', 10],
      ['train-000002.tar', 5]
    ])
    for (const s of shards) expect(statSync(s.path).size).toBe(s.bytes)
    // No temporary files left behind.
    expect(readdirSync(dir).sort()).toEqual(['train-000000.tar', 'train-000001.tar', 'train-000002.tar'])
  })

  it('keeps every shard under maxsize bytes, one oversize sample gets a shard of its own', async () => {
    const dir = freshDir()
    const items = samples(12)
    items.splice(5, 0, { key: 'big', fields: { bin: new Uint8Array(20_000) } })
    const shards = await writeAll(dir, items, { maxsize: 8192 })
    const big = shards.find((s) => s.keys.includes('big'))!
    expect(big.keys).toEqual(['big'])
    for (const s of shards) if (s !== big) expect(s.bytes).toBeLessThanOrEqual(8192)
    expect(shards.reduce((a, s) => a + s.samples, 0)).toBe(13)
  })

  it('round-trips through GNU tar: listing shows sorted members with fixed owner, mode and mtime, extracted bytes equal', async () => {
    const dir = freshDir()
    const items = samples(4)
    const [shard] = await writeAll(dir, items)
    const listing = execFileSync('tar', ['--utc', '-tvf', shard!.path], { encoding: 'utf8' }).trim().split('\n')
    expect(listing).toHaveLength(12)
    expect(listing[0]).toMatch(/^-rw-r--r-- shardscope\/shardscope\s+1 2020-01-01 00:00 s0000\.cls$/)
    expect(listing.slice(0, 3).map((l) => l.split(/\s+/).pop())).toEqual(['s0000.cls', 's0000.jpg', 's0000.txt'])
    const out = freshDir()
    execFileSync('tar', ['-xf', shard!.path, '-C', out])
    for (const s of items) {
      expect(new Uint8Array(readFileSync(join(out, `${s.key}.jpg`)))).toEqual(s.fields.jpg)
      expect(readFileSync(join(out, `${s.key}.cls`), 'utf8')).toBe(s.fields.cls)
      expect(readFileSync(join(out, `${s.key}.txt`), 'utf8')).toBe(s.fields.txt)
    }
  })

  it('reads in Python tarfile and groups into the same samples by the webdataset key rule', async () => {
    const dir = freshDir()
    const items: SampleToWrite[] = [
      ...samples(3),
      { key: 'folder.v2/img', fields: { 'seg.png': bytesOf(9, 50), jpg: bytesOf(8, 70) } },
      { key: `${'d'.repeat(90)}/${'e'.repeat(40)}/long`, fields: { cls: '3' } }
    ]
    const [shard] = await writeAll(dir, items)
    // webdataset's tariterators.base_plus_ext: key = path up to the first dot of the basename.
    const script = `
import tarfile, json, re, sys, hashlib
out = []
with tarfile.open(sys.argv[1]) as tf:
    for m in tf:
        assert m.isfile() and m.mtime == 1577836800 and m.uid == 0 and m.mode == 0o644, m.name
        mm = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name)
        key, ext = mm.group(1), mm.group(2)
        data = tf.extractfile(m).read()
        if not out or out[-1]["__key__"] != key:
            out.append({"__key__": key})
        out[-1][ext.lower()] = hashlib.sha256(data).hexdigest()
print(json.dumps(out))
`
    const got = JSON.parse(execFileSync(python, ['-c', script, shard!.path], { encoding: 'utf8' })) as Record<string, string>[]
    const { createHash } = await import('node:crypto')
    const sha = (v: Uint8Array | string) => createHash('sha256').update(v).digest('hex')
    expect(got).toEqual(items.map((s) => ({ __key__: s.key, ...Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, sha(v)])) })))
  })

  const hexFields = (fields: Record<string, Uint8Array | string>) =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(typeof v === 'string' ? new TextEncoder().encode(v) : v).toString('hex')]))

  it("reads back through ShardScope's own readSamples: same keys, same fields, same bytes, no problems", async () => {
    const dir = freshDir()
    const items: SampleToWrite[] = [...samples(5), { key: 'sub.dir/x', fields: { 'seg.png': bytesOf(1, 700) } }]
    const shards = await writeAll(dir, items, { maxcount: 4 })
    const problems: ReadProblem[] = []
    const got: { key: string; fields: Record<string, string> }[] = []
    for (const location of expandPattern(`train-{000000..00000${shards.length - 1}}.tar`, { baseDir: dir })) {
      for await (const s of readSamples(location, { onProblem: (p) => problems.push(p) })) got.push({ key: s.key, fields: hexFields(s.fields) })
    }
    expect(problems).toEqual([])
    expect(got).toEqual(items.map((s) => ({ key: s.key, fields: hexFields(s.fields) })))
  })

  it('a name too long for ustar gets a PAX path header that GNU tar, Python tarfile and readSamples all honour', async () => {
    const dir = freshDir()
    const key = `deep/${'k'.repeat(150)}`
    const [shard] = await writeAll(dir, [{ key, fields: { cls: '4', jpg: bytesOf(3, 600) } }, ...samples(1)])
    expect(execFileSync('tar', ['-tf', shard!.path], { encoding: 'utf8' }).trim().split('\n')).toEqual([`${key}.cls`, `${key}.jpg`, 's0000.cls', 's0000.jpg', 's0000.txt'])
    const names = execFileSync(python, ['-c', 'import tarfile,sys,json; print(json.dumps(tarfile.open(sys.argv[1]).getnames()))', shard!.path], { encoding: 'utf8' })
    expect(JSON.parse(names)).toEqual([`${key}.cls`, `${key}.jpg`, 's0000.cls', 's0000.jpg', 's0000.txt'])
    const problems: ReadProblem[] = []
    const got: string[] = []
    for await (const s of readSamples(expandPattern('train-000000.tar', { baseDir: dir })[0]!, { onProblem: (p) => problems.push(p) })) got.push(`${s.key}:${Object.keys(s.fields).sort().join(',')}`)
    expect(problems).toEqual([])
    expect(got).toEqual([`${key}:cls,jpg`, 's0000:cls,jpg,txt'])
  })

  it('writes identical bytes for the same samples twice', async () => {
    const a = await writeAll(freshDir(), samples(30), { maxcount: 7 })
    const b = await writeAll(freshDir(), samples(30), { maxcount: 7 })
    expect(a.length).toBe(5)
    for (let i = 0; i < a.length; i++) expect(readFileSync(a[i]!.path).equals(readFileSync(b[i]!.path))).toBe(true)
  })

  it.each([
    ['a.b', /basename/],
    ['dir/x.y', /basename/],
    ['../escape', /"\.\."/],
    ['/abs/key', /absolute/],
    ['a//b', /empty/],
    ['', /empty/]
  ])('refuses key %j', async (key, why) => {
    expect(checkKey(key)).toMatch(why)
    const w = new ShardWriter({ dir: freshDir(), pattern: 'x-%06d.tar' })
    await expect(w.write({ key, fields: { cls: '1' } })).rejects.toThrow(why)
    await w.abort()
  })

  it.each([
    ['a', undefined],
    ['dir.v1/a_b-c', undefined],
    ['n01443537_12', undefined]
  ])('accepts key %j', (key, why) => {
    expect(checkKey(key)).toBe(why)
  })

  it('formats shard names like printf %06d', () => {
    expect(formatShardName('val-%06d.tar', 12)).toBe('val-000012.tar')
    expect(formatShardName('shard-%d.tar', 3)).toBe('shard-3.tar')
    expect(() => formatShardName('nopattern.tar', 1)).toThrow(/%d/)
  })
})
