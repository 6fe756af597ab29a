import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { splitMemberName } from './grouping'
import { expandPattern } from './patterns'
import { gzipTrailerMatches, readSamples } from './read'
import { openShard, ShardSourceError, statShard } from './sources'
import { packTar } from './testing/tar'
import { serveFolder, type TestHttpServer } from './testing/http-server'
import type { ReadProblem, Sample, ShardLocation } from './types'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wds-read-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function fileAt(name: string, bytes: Uint8Array): ShardLocation {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return expandPattern(path)[0]!
}

async function readAll(location: ShardLocation, maxMemberBytes?: number): Promise<{ samples: Sample[]; problems: ReadProblem[] }> {
  const samples: Sample[] = []
  const problems: ReadProblem[] = []
  for await (const sample of readSamples(location, { onProblem: (p) => problems.push(p), maxMemberBytes })) samples.push(sample)
  return { samples, problems }
}

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString()

describe('splitMemberName (the webdataset key rule)', () => {
  const table: [string, { key: string; field: string } | null][] = [
    ['a.jpg', { key: 'a', field: 'jpg' }],
    ['a.seg.png', { key: 'a', field: 'seg.png' }],
    ['dir/a.JPG', { key: 'dir/a', field: 'jpg' }],
    ['dir.v1/a.seg.PNG', { key: 'dir.v1/a', field: 'seg.png' }],
    ['x/y/n01443537_0.cls', { key: 'x/y/n01443537_0', field: 'cls' }],
    ['README', null],
    ['dir.v1/README', null],
    ['dir/.hidden', null]
  ]
  for (const [name, expected] of table) {
    it(`${name} → ${expected ? `key ${expected.key}, field ${expected.field}` : 'no key'}`, () => {
      expect(splitMemberName(name)).toEqual(expected)
    })
  }
})

describe('readSamples', () => {
  it('groups adjacent members into samples with key, url and index, lower-casing fields', async () => {
    const tar = await packTar([
      { name: 'dir.v1/', type: 'directory' },
      { name: 'dir.v1/a.JPG', data: 'A-jpg' },
      { name: 'dir.v1/a.seg.png', data: 'A-seg' },
      { name: 'dir.v1/a.cls', data: '3' },
      { name: 'dir.v1/b.jpg', data: 'B-jpg' },
      { name: 'dir.v1/b.cls', data: '4' }
    ])
    const shard = fileAt('grouping.tar', tar)
    const { samples, problems } = await readAll(shard)
    expect(problems).toEqual([])
    expect(samples.map((s) => [s.key, s.indexInShard, Object.keys(s.fields).sort()])).toEqual([
      ['dir.v1/a', 0, ['cls', 'jpg', 'seg.png']],
      ['dir.v1/b', 1, ['cls', 'jpg']]
    ])
    expect(samples[0]!.url).toBe(shard.url)
    expect(text(samples[0]!.fields['seg.png'])).toBe('A-seg')
  })

  it('skips and reports symlinks, names without a field, dangerous names and non-adjacent keys', async () => {
    const tar = await packTar([
      { name: 'a.jpg', data: '1' },
      { name: 'link.jpg', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'README', data: 'hello' },
      { name: '._a.jpg.hidden', data: 'x' },
      { name: 'b.jpg', data: '2' },
      { name: '../evil.cls', data: '0' },
      { name: 'a.cls', data: '5' }
    ])
    const { samples, problems } = await readAll(fileAt('problems.tar', tar))
    expect(samples.map((s) => s.key)).toEqual(['a', 'b', '../evil', 'a'])
    expect(problems.find((p) => p.member === '._a.jpg.hidden')?.message).toBe('member "._a.jpg.hidden" is not named key.field (its file name starts with "." (a hidden file), so it has no key): skipped')
    expect(problems.map((p) => [p.kind, p.member])).toEqual([
      ['not-regular-file', 'link.jpg'],
      ['no-field', 'README'],
      ['no-field', '._a.jpg.hidden'],
      ['dangerous-name', '../evil.cls'],
      ['non-adjacent-key', 'a.cls']
    ])
  })

  it('reads GNU tar output with long names and dotted folders', async () => {
    const src = join(dir, 'gnu-src')
    const longDir = 'd.v2/' + 'x'.repeat(120)
    mkdirSync(join(src, longDir), { recursive: true })
    writeFileSync(join(src, longDir, 's1.txt'), 'one')
    writeFileSync(join(src, longDir, 's1.json'), '{"a":1}')
    const out = join(dir, 'gnu.tar')
    execFileSync('tar', ['--format=gnu', '-cf', out, '-C', src, 'd.v2'])
    const { samples, problems } = await readAll(expandPattern(out)[0]!)
    expect(problems).toEqual([])
    expect(samples).toHaveLength(1)
    expect(samples[0]!.key).toBe(`${longDir}/s1`)
    expect(text(samples[0]!.fields.json)).toBe('{"a":1}')
  })

  it('reads PAX headers as written by Python tarfile', async () => {
    const out = join(dir, 'pax.tar')
    const script = `import tarfile, io
with tarfile.open(${JSON.stringify(out)}, 'w', format=tarfile.PAX_FORMAT) as t:
    for name, data in [('é/${'k'.repeat(110)}.txt', b'unicode'), ('é/${'k'.repeat(110)}.cls', b'7')]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))`
    execFileSync('/usr/bin/python3', ['-c', script])
    const { samples, problems } = await readAll(expandPattern(out)[0]!)
    expect(problems).toEqual([])
    expect(samples.map((s) => [s.key, text(s.fields.cls)])).toEqual([[`é/${'k'.repeat(110)}`, '7']])
  })

  it('detects gzip by its magic bytes, whatever the extension', async () => {
    const tar = await packTar([{ name: 'a.txt', data: 'zipped' }])
    for (const name of ['g.tar.gz', 'g.tgz', 'misnamed.tar']) {
      const { samples, problems } = await readAll(fileAt(name, gzipSync(tar)))
      expect(problems).toEqual([])
      expect(text(samples[0]!.fields.txt)).toBe('zipped')
    }
  })

  it('reads a gzip shard made of several gzip streams whole, and reports it: Python tarfile in stream mode, as webdataset reads, stops after the first', async () => {
    const members = []
    for (let i = 0; i < 4; i++) members.push({ name: `s${i}.txt`, data: 'x'.repeat(1000) }, { name: `s${i}.cls`, data: String(i) })
    const tar = await packTar(members)
    // As bgzip writes: the tar cut into blocks, each its own gzip stream (here in the middle of sample s1).
    const blocks = fileAt('bgzip.tar.gz', Buffer.concat([gzipSync(tar.subarray(0, 4096)), gzipSync(tar.subarray(4096))]))
    const { samples, problems } = await readAll(blocks)
    expect(samples.map((s) => s.key)).toEqual(['s0', 's1', 's2', 's3'])
    expect(problems.map((p) => p.kind)).toEqual(['several-gzip-streams'])
    expect(problems[0]!.message).toMatch(/bgzip\.tar\.gz: the file is several gzip streams one after another .*stops at the end of the first stream/)
    // The reference reader, as webdataset's tar_file_iterator opens a shard: the first stream
    // ends at a member boundary, and it stops there without a word, after 3 of the 8 members.
    const python = "import sys, tarfile\nn = 0\ntry:\n    for m in tarfile.open(sys.argv[1], mode='r|*'): n += 1\n    print(n)\nexcept tarfile.ReadError as e: print(n, e)"
    const pythonReads = (path: string): string => execFileSync('/usr/bin/python3', ['-c', python, path]).toString().trim()
    expect(pythonReads(blocks.path!)).toBe('3')
    // Cut inside the data of a member (s1.txt), it fails there.
    const inMember = fileAt('bgzip-in-member.tar.gz', Buffer.concat([gzipSync(tar.subarray(0, 3500)), gzipSync(tar.subarray(3500))]))
    expect(pythonReads(inMember.path!)).toBe('3 unexpected end of data')
    expect((await readAll(inMember)).problems.map((p) => p.kind)).toEqual(['several-gzip-streams'])
    // Two whole .tar.gz files joined by `cat`: the first tar's end marker ends every reader there.
    const joined = Buffer.concat([gzipSync(await packTar(members.slice(0, 4))), gzipSync(await packTar(members.slice(4)))])
    const cat = await readAll(fileAt('cat.tar.gz', joined))
    expect(cat.problems.map((p) => p.kind)).toContain('several-gzip-streams')
    // One stream, also with zero bytes after it (padding, which gzip readers accept): no problem.
    for (const padding of [0, 3, 700]) expect((await readAll(fileAt(`padded-${padding}.tar.gz`, Buffer.concat([gzipSync(tar), Buffer.alloc(padding)])))).problems).toEqual([])
  })

  it('gzipTrailerMatches reads the trailer length, passing over zero padding, also when the length ends in zero bytes', () => {
    const trailer = (isize: number, padding = 0): Buffer => {
      const b = Buffer.alloc(16 + padding, 0xaa)
      b.writeUInt32LE(isize, 12)
      b.fill(0, 16)
      return b
    }
    expect(gzipTrailerMatches(trailer(0x123), 0x123)).toBe(true)
    expect(gzipTrailerMatches(trailer(0x123, 10), 0x123)).toBe(true)
    expect(gzipTrailerMatches(trailer(2 ** 32 - 1), 2 ** 33 - 1)).toBe(true)
    expect(gzipTrailerMatches(trailer(0x123), 0x124)).toBe(false)
    expect(gzipTrailerMatches(trailer(0x123, 10), 0x10)).toBe(false)
  })

  it('yields the samples before the cut of a truncated shard, then a truncated problem', async () => {
    const members = []
    for (let i = 0; i < 5; i++) members.push({ name: `s${i}.txt`, data: 'x'.repeat(1000) }, { name: `s${i}.cls`, data: String(i) })
    const tar = await packTar(members)
    // Cut inside sample s3's txt member: s0..s2 are complete.
    const cut = (512 + 1024 + 512 + 512) * 3 + 512 + 300
    const { samples, problems } = await readAll(fileAt('truncated.tar', tar.subarray(0, cut)))
    expect(samples.map((s) => s.key)).toEqual(['s0', 's1', 's2'])
    expect(problems.map((p) => p.kind)).toEqual(['truncated'])
    expect(problems[0]!.message).toMatch(/truncated\.tar: the tar ends in the middle of member "s3\.txt" \(sample s3\) after 6 complete members \(truncated shard\)$/)
    expect([problems[0]!.key, problems[0]!.member]).toEqual(['s3', 's3.txt'])
    const gzipped = gzipSync(tar)
    const gz = await readAll(fileAt('truncated.tar.gz', gzipped.subarray(0, gzipped.length - 20)))
    expect(gz.problems.map((p) => p.kind)).toEqual(['truncated'])
  })

  it('reports an HTML page saved as .tar as not-a-tar, and an empty shard as empty', async () => {
    const html = await readAll(fileAt('page.tar', Buffer.from('<!DOCTYPE html><html><body>403 Forbidden</body></html>')))
    expect(html.samples).toEqual([])
    expect(html.problems.map((p) => p.kind)).toEqual(['not-a-tar'])
    expect(html.problems[0]!.message).toMatch(/HTML/)
    const garbage = await readAll(fileAt('garbage.tar', Buffer.alloc(4096, 7)))
    expect(garbage.problems.map((p) => p.kind)).toEqual(['not-a-tar'])
    for (const [name, bytes] of [['zero.tar', Buffer.alloc(0)], ['blocks.tar', Buffer.alloc(1024)]] as const) {
      const empty = await readAll(fileAt(name, bytes))
      expect(empty.problems.map((p) => p.kind)).toEqual(['empty-shard'])
    }
  })

  it('skips and reports a member over the size cap without buffering it', async () => {
    const tar = await packTar([
      { name: 'a.bin', data: Buffer.alloc(100_000) },
      { name: 'a.cls', data: '1' }
    ])
    const { samples, problems } = await readAll(fileAt('big.tar', tar), 10_000)
    expect(samples.map((s) => Object.keys(s.fields))).toEqual([['cls']])
    expect(problems.map((p) => [p.kind, p.member])).toEqual([['member-too-large', 'a.bin']])
  })

  it('names the file when a shard cannot be opened', async () => {
    const missing = expandPattern(join(dir, 'nope.tar'))[0]!
    await expect(readAll(missing)).rejects.toThrow(/nope\.tar: cannot open \(no such file\)/)
  })

  it('says so when a missing file was a pattern whose braces do not pair up (read as one name, as a file may hold a brace)', async () => {
    const [literal] = expandPattern(join(dir, 'x-{000000..000005.tar'))
    expect(literal!.path).toBe(join(dir, 'x-{000000..000005.tar'))
    await expect(readAll(literal!)).rejects.toThrow('x-{000000..000005.tar: cannot open (no such file; its braces do not pair up, so the pattern was read as this one file name)')
    // Balanced braces in an existing-looking name get the plain message.
    await expect(readAll(expandPattern(join(dir, 'y-{0,1}.tar'))[0]!)).rejects.toThrow(/y-0\.tar: cannot open \(no such file\)$/)
  })
})

describe('HTTP source', () => {
  let server: TestHttpServer
  let noRanges: TestHttpServer
  let tar: Buffer
  beforeAll(async () => {
    mkdirSync(join(dir, 'www'), { recursive: true })
    tar = await packTar([
      { name: 'a.txt', data: 'over http' },
      { name: 'a.cls', data: '1' },
      { name: 'b.txt', data: 'second' }
    ])
    writeFileSync(join(dir, 'www', 'shard.tar'), tar)
    server = await serveFolder(join(dir, 'www'))
    noRanges = await serveFolder(join(dir, 'www'), { ranges: false })
  })
  afterAll(async () => {
    await server.close()
    await noRanges.close()
  })

  it('streams samples over HTTP', async () => {
    const { samples, problems } = await readAll(expandPattern(`${server.baseUrl}/shard.tar`)[0]!)
    expect(problems).toEqual([])
    expect(samples.map((s) => [s.key, text(s.fields.txt)])).toEqual([
      ['a', 'over http'],
      ['b', 'second']
    ])
  })

  it('reads byte ranges, also from a server that ignores Range', async () => {
    for (const base of [server.baseUrl, noRanges.baseUrl]) {
      const stream = await openShard(expandPattern(`${base}/shard.tar`)[0]!, { start: 512, length: 9 })
      const chunks: Buffer[] = []
      for await (const chunk of stream) chunks.push(chunk as Buffer)
      expect(Buffer.concat(chunks).toString()).toBe('over http')
    }
    expect(server.requests).toContain('GET /shard.tar bytes=512-520')
  })

  it('gets size and ETag by HEAD, and names URL and status on 404', async () => {
    const info = await statShard(expandPattern(`${server.baseUrl}/shard.tar`)[0]!)
    expect(info.bytes).toBe(tar.length)
    expect(info.validator).toMatch(/^"/)
    const missing = expandPattern(`${server.baseUrl}/missing.tar`)[0]!
    await expect(readAll(missing)).rejects.toThrow(ShardSourceError)
    await expect(readAll(missing)).rejects.toThrow(`${server.baseUrl}/missing.tar: HTTP 404`)
  })

  it('a server that goes quiet fails the read after the idle timeout, naming the URL: before its answer, and midway through the body', async () => {
    const sockets = new Set<import('node:net').Socket>()
    const quiet = createServer((req, res) => {
      // /silent never answers; /stalls sends the headers and half the shard, then nothing.
      if (req.url === '/stalls.tar') {
        res.writeHead(200, { 'content-length': String(tar.length) })
        res.write(tar.subarray(0, tar.length >> 1))
      }
    })
    quiet.on('connection', (socket) => sockets.add(socket))
    await new Promise<void>((r) => quiet.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(quiet.address() as AddressInfo).port}`
    process.env.SHARDSCOPE_HTTP_TIMEOUT_S = '0.5'
    try {
      const started = performance.now()
      await expect(readAll(expandPattern(`${base}/silent.tar`)[0]!)).rejects.toThrow(`${base}/silent.tar: no data for 0.5 s (the server stopped answering)`)
      const { problems } = await readAll(expandPattern(`${base}/stalls.tar`)[0]!)
      expect(problems.map((p) => p.message).join('\n')).toContain('no data for 0.5 s')
      expect(performance.now() - started).toBeLessThan(10_000)
    } finally {
      delete process.env.SHARDSCOPE_HTTP_TIMEOUT_S
      for (const socket of sockets) socket.destroy()
      quiet.close()
    }
  })
})
