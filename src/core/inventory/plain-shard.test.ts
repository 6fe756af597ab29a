import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BLOCK_SUM_BUFFER_BYTES, createBlockSummer } from '../wds/block-sum'
import { parseInteger } from '../wds/integers'
import { expandPattern } from '../wds/patterns'
import { readSamples } from '../wds/read'
import { packTar, type TestMember } from '../wds/testing/tar'
import type { ReadProblem } from '../wds/types'
import { inventoryShard } from './inventory-shard'
import { tallyPlainShard, type SampleTally } from './plain-shard'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plain-shard-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function write(name: string, bytes: Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

/** The fast path on a file, read `bufferBytes` at a time. */
async function tallyFile(path: string, bufferBytes: number): Promise<SampleTally | null> {
  const fd = openSync(path, 'r')
  try {
    const summer = createBlockSummer()
    const reads = { ...summer, buffer: summer.buffer.subarray(0, bufferBytes) }
    return await tallyPlainShard(fd, reads, readSync(fd, reads.buffer, 0, reads.buffer.length, 0))
  } finally {
    closeSync(fd)
  }
}

/** What the streaming reader (tar-stream, independent of the fast path) finds in the same file. */
async function readWithStreams(path: string): Promise<SampleTally & { problems: string[] }> {
  const problems: ReadProblem[] = []
  const expected: SampleTally & { problems: string[] } = { samples: 0, fields: {}, classHistogram: [], unlabelled: 0, firstKey: null, lastKey: null, problems: [] }
  for await (const sample of readSamples(expandPattern(path)[0]!, { onProblem: (p) => problems.push(p) })) {
    expected.samples++
    expected.firstKey ??= sample.key
    expected.lastKey = sample.key
    for (const field of Object.keys(sample.fields)) expected.fields[field] = (expected.fields[field] ?? 0) + 1
    const cls = sample.fields.cls
    const label = cls && cls.length <= 64 ? parseInteger(cls) : null
    if (label === null || label < 0) expected.unlabelled++
    else expected.classHistogram[label] = (expected.classHistogram[label] ?? 0) + 1
  }
  expected.classHistogram = Array.from(expected.classHistogram, (n) => n ?? 0)
  expected.problems = problems.map((p) => p.kind)
  return expected
}

describe('tallyPlainShard (the inventory fast path)', () => {
  it('counts a plain shard as the streaming reader does, whatever the read size', async () => {
    const members: TestMember[] = []
    for (let i = 0; i < 40; i++) {
      const key = `d.v1/s${String(i).padStart(3, '0')}`
      // Sizes across block and read boundaries; one member larger than the smaller read buffers.
      members.push({ name: `${key}.jpg`, data: Buffer.alloc(i === 7 ? 5000 : 100 + i * 37, i) })
      if (i % 5 !== 0) members.push({ name: `${key}.seg.png`, data: Buffer.alloc(600, 1) })
      // Labels: plain, padded, negative, not a number, too long to be one, missing.
      const cls = i % 11 === 3 ? '-1' : i % 13 === 4 ? 'cat' : i === 9 ? '1'.repeat(80) : i % 7 === 6 ? undefined : ` ${i % 4}\n`
      if (cls !== undefined) members.push({ name: `${key}.cls`, data: cls })
    }
    const path = write('plain.tar', await packTar(members))
    const expected = await readWithStreams(path)
    expect(expected.problems).toEqual([])
    expect(expected.samples).toBe(40)
    const { problems, ...counts } = expected
    for (const bufferBytes of [600, 1000, 1536, 4096, BLOCK_SUM_BUFFER_BYTES]) {
      expect(await tallyFile(path, bufferBytes), `${bufferBytes}-byte reads`).toEqual(counts)
    }
    expect(problems).toEqual([])
  })

  const sample = (key: string): TestMember[] => [
    { name: `${key}.jpg`, data: 'jpg' },
    { name: `${key}.cls`, data: '1' }
  ]
  const notPlain: [string, () => Promise<Buffer>][] = [
    ['a directory member', () => packTar([{ name: 'd/', type: 'directory' }, ...sample('d/a')])],
    ['an upper-case field', () => packTar([...sample('a'), { name: 'b.JPG', data: 'x' }])],
    ['a symlink', () => packTar([...sample('a'), { name: 'b.jpg', type: 'symlink', linkname: '/etc/passwd' }])],
    ['a dangerous name', () => packTar([...sample('a'), { name: '../evil.cls', data: '0' }])],
    ['a non-adjacent key', () => packTar([...sample('a'), ...sample('b'), { name: 'a.txt', data: 'again' }])],
    ['a field twice in a sample', () => packTar([...sample('a'), { name: 'a.cls', data: '2' }])],
    ['a member without a field', () => packTar([...sample('a'), { name: 'README', data: 'hello' }])],
    ['archive metadata', () => packTar([{ name: '__meta__', data: '{}' }, ...sample('a')])],
    ['archive metadata with a dot in its name', () => packTar([...sample('a'), { name: '__info.x__', data: '{}' }])],
    ['an absolute name', () => packTar([...sample('a'), { name: '/b.jpg', data: 'x' }])],
    ['a backslash in a name', () => packTar([...sample('a'), { name: 'dir\\b.jpg', data: 'x' }])],
    ['a drive letter', () => packTar([...sample('a'), { name: 'C:b.jpg', data: 'x' }])],
    ['a name without a key', () => packTar([...sample('a'), { name: 'd/.jpg', data: 'x' }])],
    ['a name ending in its dot', () => packTar([...sample('a'), { name: 'b.', data: 'x' }])],
    ['a name longer than the header field', () => packTar(sample(`${'long/'.repeat(30)}a`))],
    ['a non-ASCII name', () => packTar(sample('é'))],
    ['no members', () => packTar([])],
    ['a cut inside a member', async () => (await packTar([...sample('a'), ...sample('b')])).subarray(0, 512 * 5 + 100)],
    ['a cut at a member boundary (no end marker)', async () => (await packTar([...sample('a'), ...sample('b')])).subarray(0, 512 * 4)],
    [
      'a bad header checksum',
      async () => {
        const tar = await packTar([...sample('a'), ...sample('b')])
        tar[1024 + 3] = tar[1024 + 3]! ^ 0x20
        return tar
      }
    ]
  ]
  for (const [what, make] of notPlain) {
    it(`gives way on ${what}; the inventory then finds what the streaming reader finds`, async () => {
      const path = write(`${what.replace(/\W+/g, '-')}.tar`, await make())
      expect(await tallyFile(path, 1 << 16)).toBeNull()
      const shard = await inventoryShard(expandPattern(path)[0]!, 'x')
      const { problems, ...counts } = await readWithStreams(path)
      expect({ ...shard, problems: shard.problems.map((p) => p.kind) }).toMatchObject({ ...counts, problems })
    })
  }
})
