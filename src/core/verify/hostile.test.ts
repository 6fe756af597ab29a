/**
 * Broken and hostile shards built in the test: each gives a clear finding, nothing
 * crashes, memory stays bounded, and the source folder is left exactly as it was.
 */
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { constants, createGzip, crc32, gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packTar, type TestMember } from '../wds/testing/tar'
import { ustarHeader } from '../wds/writer'
import { verifyDataset } from './verify-dataset'
import { summarizeReport, writeReport } from './report'

const root = mkdtempSync(join(tmpdir(), 'shardscope-verify-hostile-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let jpg16: Uint8Array
let jpg8: Uint8Array
beforeAll(async () => {
  const raw = new Uint8Array(16 * 16 * 3).map((_, i) => (i * 29) % 256)
  jpg16 = new Uint8Array(await sharp(raw, { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toBuffer())
  jpg8 = new Uint8Array(await sharp(raw.subarray(0, 8 * 8 * 3), { raw: { width: 8, height: 8, channels: 3 } }).jpeg().toBuffer())
})

function samples(n: number, start = 0): TestMember[] {
  const out: TestMember[] = []
  for (let i = start; i < start + n; i++) out.push({ name: `s${i}.cls`, data: String(i % 10) }, { name: `s${i}.jpg`, data: jpg16 })
  return out
}

/** Recompute a header block's checksum after patching it. */
function fixChecksum(tar: Uint8Array, headerOffset: number): void {
  const h = tar.subarray(headerOffset, headerOffset + 512)
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  const text = sum.toString(8).padStart(6, '0') + '\0 '
  for (let i = 0; i < 8; i++) h[148 + i] = text.charCodeAt(i)
}

/** A 1×1 PNG whose IHDR claims width × height (CRC fixed, so only the pixel limit can refuse it). */
async function pngClaiming(width: number, height: number): Promise<Uint8Array> {
  const png = new Uint8Array(await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } }).png().toBuffer())
  const view = new DataView(png.buffer, png.byteOffset)
  view.setUint32(16, width)
  view.setUint32(20, height)
  view.setUint32(29, crc32(png.subarray(12, 29)))
  return png
}

function jpegClaiming(size: number): Uint8Array {
  const bomb = jpg16.slice()
  for (let i = 2; i < bomb.length - 9; i++) {
    if (bomb[i] === 0xff && bomb[i + 1] === 0xc0) {
      bomb[i + 5] = bomb[i + 7] = (size >> 8) & 0xff
      bomb[i + 6] = bomb[i + 8] = size & 0xff
      break
    }
  }
  return bomb
}

/** A gzip bomb: a tar whose one member is `bytes` of zeros, streamed so the test itself stays small. */
async function writeGzipBomb(path: string, bytes: number): Promise<void> {
  async function* tar() {
    yield Buffer.from(ustarHeader('bomb.jpg', bytes))
    const zeros = Buffer.alloc(1 << 20)
    for (let left = bytes; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left)
    yield Buffer.alloc(1024 + ((512 - (bytes % 512)) % 512))
  }
  await pipeline(Readable.from(tar()), createGzip({ level: constants.Z_BEST_SPEED }), createWriteStream(path))
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, name))
    out[name] = `${s.size}:${s.mtimeMs}`
  }
  return out
}

type Case = [string, string, (dir: string) => Promise<void>]
const cases: Case[] = [
  ['a tar cut in the middle of a member', 'truncated-shard', async (d) => {
    const tar = await packTar(samples(4))
    writeFileSync(join(d, 'x.tar'), tar.subarray(0, 512 * 5 + 100))
  }],
  ['a header with a bad checksum', 'bad-tar-header', async (d) => {
    const tar = await packTar(samples(3))
    tar[1024 + 148] = 0x37 // second member's header (after the first's header + its one data block)
    tar[1024 + 149] = 0x37
    writeFileSync(join(d, 'x.tar'), tar)
  }],
  ['a gzip stream with damaged bytes', 'gzip-error', async (d) => {
    const gz = gzipSync(await packTar(samples(20)))
    for (let i = 200; i < 260; i++) gz[i] = gz[i]! ^ 0x5a
    writeFileSync(join(d, 'x.tar'), gz)
  }],
  ['a gzip-compressed shard cut short', 'truncated-shard', async (d) => {
    const gz = gzipSync(await packTar(samples(20)))
    writeFileSync(join(d, 'x.tar'), gz.subarray(0, Math.floor(gz.length / 2)))
  }],
  ['a symlink member', 'non-regular-member', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 's9.jpg', type: 'symlink', linkname: '/etc/passwd' }]))],
  ['a member named ../../x', 'dangerous-member-name', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: '../../x.cls', data: '1' }]))],
  ['a member with an absolute name', 'dangerous-member-name', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([{ name: '/etc/cron.cls', data: '1' }, ...samples(2)]))],
  ['an HTML error page saved as .tar', 'not-a-tar', async (d) => writeFileSync(join(d, 'x.tar'), '<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n'.repeat(20))],
  ['an empty file', 'empty-shard', async (d) => writeFileSync(join(d, 'x.tar'), '')],
  ['a tar of only the end-of-archive blocks', 'empty-shard', async (d) => writeFileSync(join(d, 'x.tar'), Buffer.alloc(1024))],
  // tar-stream needs both end blocks: a tar cut exactly between members reads as truncated.
  ['a tar without its end-of-archive blocks', 'truncated-shard', async (d) => {
    const tar = await packTar(samples(3))
    writeFileSync(join(d, 'x.tar'), tar.subarray(0, tar.length - 1024))
  }],
  ['member names that are not UTF-8', 'non-utf8-name', async (d) => {
    const tar = await packTar([{ name: 'caf_.cls', data: '1' }, { name: 'caf_.jpg', data: jpg16 }])
    tar[3] = 0xe9 // latin-1 é in the first header's name
    fixChecksum(tar, 0)
    tar[1024 + 3] = 0xe9
    fixChecksum(tar, 1024)
    writeFileSync(join(d, 'x.tar'), tar)
  }],
  ['a .cls of -1', 'label-out-of-range', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: '-1' }, { name: 'z.jpg', data: jpg16 }]))],
  ['a .cls of 200 with 10 classes', 'label-out-of-range', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: '200' }, { name: 'z.jpg', data: jpg16 }]))],
  ['a .cls of abc', 'label-not-integer', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: 'abc' }, { name: 'z.jpg', data: jpg16 }]))],
  ['a .cls holding a megabyte of text', 'label-not-integer', async (d) =>
    writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: 'lorem ipsum '.repeat(90_000) }, { name: 'z.jpg', data: jpg16 }]))],
  ['a PNG claiming 100000×100000 pixels', 'image-too-large', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([{ name: 'z.cls', data: '1' }, { name: 'z.png', data: await pngClaiming(100000, 100000) }]))],
  ['a JPEG claiming 65535×65535 pixels', 'image-too-large', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: '1' }, { name: 'z.jpg', data: jpegClaiming(65535) }]))],
  ['a corrupt JPEG', 'corrupt-image', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: '1' }, { name: 'z.jpg', data: jpg16.subarray(0, 100) }]))],
  ['an image of the wrong size', 'wrong-image-size', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.cls', data: '1' }, { name: 'z.jpg', data: jpg8 }]))],
  ['a sample without a label', 'missing-label', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), { name: 'z.jpg', data: jpg16 }]))],
  ['a key used twice', 'duplicate-keys', async (d) => writeFileSync(join(d, 'x.tar'), await packTar([...samples(2), ...samples(1)]))],
  ['members of one key that are not adjacent', 'non-adjacent-key', async (d) =>
    writeFileSync(join(d, 'x.tar'), await packTar([{ name: 'a.jpg', data: jpg16 }, { name: 'b.jpg', data: jpg16 }, { name: 'a.cls', data: '1' }, { name: 'b.cls', data: '2' }]))]
]

describe('verifier on broken and hostile shards', () => {
  it.each(cases)('%s gives a %s finding', async (_what, code, build) => {
    const dir = join(root, code + '-' + cases.findIndex((c) => c[2] === build))
    mkdirSync(dir)
    await build(dir)
    const before = snapshot(dir)
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, imageShape: [16, 16, 3], threads: 0 })
    const finding = report.findings.find((f) => f.code === code)
    expect(finding, `codes found: ${report.findings.map((f) => f.code).join(', ')}`).toBeDefined()
    expect(finding!.severity).not.toBe('info')
    expect(finding!.offenderCount).toBeGreaterThan(0)
    expect(finding!.title.length).toBeGreaterThan(20)
    expect(snapshot(dir)).toEqual(before)
  })

  it('a PNG, a TIFF or an empty file stored as .jpg is named for what it is, not as a damaged JPEG', async () => {
    const dir = join(root, 'misnamed')
    mkdirSync(dir)
    const image = () => sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    const [png, tiff] = await Promise.all([image().png().toBuffer(), image().tiff().toBuffer()])
    writeFileSync(
      join(dir, 'x.tar'),
      await packTar([...samples(2), { name: 'p.cls', data: '1' }, { name: 'p.jpg', data: png }, { name: 't.cls', data: '1' }, { name: 't.jpg', data: tiff }, { name: 'z.cls', data: '1' }, { name: 'z.jpg', data: '' }])
    )
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, imageShape: [16, 16, 3], threads: 0 })
    const found = report.findings.find((f) => f.code === 'corrupt-image')!.offenders.map((o) => [o.key, o.found])
    expect(found).toEqual([
      ['p', 'holds PNG bytes under .jpg, not a JPEG: PIL reads it by content, a JPEG decoder does not; re-encode it as JPEG'],
      ['t', 'holds TIFF bytes under .jpg, not a JPEG: PIL reads it by content, a JPEG decoder does not; re-encode it as JPEG'],
      ['z', 'empty (0 bytes)']
    ])
  })

  it('a pattern naming a shard that does not exist beside one that does gives a shard-missing finding naming it', async () => {
    const dir = join(root, 'shard-missing')
    mkdirSync(dir)
    writeFileSync(join(dir, 'x-0.tar'), await packTar(samples(1)))
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x-{0..1}.tar' }], classes: 10, imageShape: [16, 16, 3], threads: 0 })
    const finding = report.findings.find((f) => f.code === 'shard-missing')
    expect(finding, `codes found: ${report.findings.map((f) => f.code).join(', ')}`).toBeDefined()
    expect(finding!.title).toBe(`Training pattern \`x-{0..1}.tar\` names 1 shard that does not exist in ${dir}.`)
    expect(finding!.offenders.map((o) => o.url)).toEqual([join(dir, 'x-1.tar')])
  })

  it('a pattern whose braces do not pair up is read as one file name, and the missing-shard finding and the input error say so', async () => {
    const dir = join(root, 'unpaired-braces')
    mkdirSync(join(dir, 'val'), { recursive: true })
    writeFileSync(join(dir, 'x.tar'), await packTar(samples(1)))
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }, { name: 'val', pattern: 'file:val/val-{000000..000001.tar' }], classes: 10, threads: 0 })
    const finding = report.findings.find((f) => f.code === 'shard-missing')!
    expect(finding.offenders.map((o) => [o.url, o.found])).toEqual([[join(dir, 'val', 'val-{000000..000001.tar'), 'no such file; its braces do not pair up, so the pattern was read as this one file name']])
    await expect(verifyDataset({ base: dir, splits: [{ name: 'val', pattern: 'val/val-{000000..000001.tar' }], threads: 0 })).rejects.toThrow(
      `no shard to verify: the val pattern \`val/val-{000000..000001.tar\` matches no existing file (looked in ${join(dir, 'val')}; its braces do not pair up, so it was read as one file name)`
    )
  })

  it('several empty shards are one finding whose title and fix speak of them in the plural', async () => {
    const dir = join(root, 'empty-shards')
    mkdirSync(dir)
    writeFileSync(join(dir, 'x-0.tar'), await packTar(samples(2)))
    writeFileSync(join(dir, 'x-1.tar'), await packTar([]))
    writeFileSync(join(dir, 'x-2.tar'), await packTar([]))
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x-{0..2}.tar' }], classes: 10, threads: 0 })
    const finding = report.findings.find((f) => f.code === 'empty-shard')!
    expect(finding.title).toBe('2 training shards hold no samples.')
    expect(finding.fix).toBe('Remove the empty shards from the pattern or write them again.')
  })

  it('the summary counts only valid class ids as classes, and the samples with an invalid label apart', async () => {
    const dir = join(root, 'invalid-labels')
    mkdirSync(dir)
    const labels = ['-1', '0', '1', '2', '2', '12']
    writeFileSync(join(dir, 'x.tar'), await packTar(labels.flatMap((label, i) => [{ name: `s${i}.cls`, data: label }, { name: `s${i}.jpg`, data: jpg16 }])))
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, threads: 0 })
    expect(summarizeReport(report)).toContain('; labels 0…2 (3 classes); 2 samples with invalid labels (-1, 12)\n')
  })

  it('a shard path that is a folder is an unreadable shard saying so, in folder mode and in pattern mode, with 0 bytes', async () => {
    const dir = join(root, 'folder-as-shard')
    mkdirSync(join(dir, 'train', 'train-000001.tar'), { recursive: true })
    writeFileSync(join(dir, 'train', 'train-000000.tar'), await packTar(samples(2)))
    const asFolder = await verifyDataset({ datasetDir: dir, classes: 10, threads: 0 })
    const asPattern = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'train/train-{000000..000001}.tar' }], classes: 10, threads: 0 })
    for (const report of [asFolder, asPattern]) {
      expect(report.findings.map((f) => f.code)).toEqual(['unreadable-shard'])
      expect(report.findings[0]!.offenders.map((o) => [o.url, o.found])).toEqual([[join(dir, 'train', 'train-000001.tar'), 'is a folder, not a shard file']])
      expect(report.splits[0]!.shards.map((sh) => [sh.samples, sh.bytes])).toEqual([[2, statSync(join(dir, 'train', 'train-000000.tar')).size], [0, 0]])
    }
  })

  it('a truncated shard: the report names the member and sample the cut fell in, the shard path once per line', async () => {
    const dir = join(root, 'cut-named')
    mkdirSync(dir)
    const tar = await packTar(samples(4))
    // Cut 10 bytes into s2.jpg's data: s0 and s1 are whole (8 blocks at least), s2.cls is whole too.
    const s2jpg = tar.indexOf(Buffer.from('s2.jpg\0'))
    writeFileSync(join(dir, 'x.tar'), tar.subarray(0, s2jpg + 512 + 10))
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, imageShape: [16, 16, 3], threads: 0 })
    const text = summarizeReport(report)
    const path = join(dir, 'x.tar')
    expect(text).toContain(`   · ${path}: the tar ends in the middle of member "s2.jpg" (sample s2) after 5 complete members (truncated shard)\n`)
    expect(text).not.toContain(`   - ${path}: the tar ends`)
    // A skipped check says why, as the app does.
    expect(text).toContain('\n  copy-vs-copy skipped: no second copy (remote pattern) given\n')
  })

  it('a gzip bomb (128 MiB of zeros in one member) is refused member by member, with bounded memory', async () => {
    const dir = join(root, 'bomb')
    mkdirSync(dir)
    await writeGzipBomb(join(dir, 'x.tar'), 128 * 1024 * 1024)
    expect(statSync(join(dir, 'x.tar')).size).toBeLessThan(2 * 1024 * 1024)
    const before = process.memoryUsage().rss
    let peak = before
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5)
    const report = await verifyDataset({ base: dir, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, threads: 0 })
    clearInterval(timer)
    expect(report.findings.map((f) => f.code)).toContain('member-too-large')
    expect(peak - before).toBeLessThan(100 * 1024 * 1024)
  })

  it('a report is written only into the output folder, atomically, and the source folder is untouched', async () => {
    const src = join(root, 'source')
    const out = join(root, 'out')
    mkdirSync(src)
    writeFileSync(join(src, 'x.tar'), await packTar([...samples(3), { name: '../../evil.cls', data: '1' }]))
    const before = snapshot(src)
    const report = await verifyDataset({ base: src, splits: [{ name: 'train', pattern: 'x.tar' }], classes: 10, threads: 0 })
    await writeReport(report, out)
    expect(snapshot(src)).toEqual(before)
    expect(readdirSync(out).sort()).toEqual(['report.json', 'summary.txt'])
    expect(readdirSync(root)).not.toContain('evil.cls')
  })
})
