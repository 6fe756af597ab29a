import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../index'
import { captureCliOutput } from '../testing'
import { parseBytes, parseSize } from './import'

const root = mkdtempSync(join(tmpdir(), 'shardscope-cli-import-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const output = captureCliOutput()

const src = join(root, 'animals')
beforeAll(async () => {
  for (const [i, name] of ['cat', 'dog'].entries()) {
    mkdirSync(join(src, name), { recursive: true })
    for (let j = 0; j < 10; j++) {
      const img = sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 40 + i * 150, g: j * 20, b: 90 } } })
      writeFileSync(join(src, name, `${name}${j}.JPEG`), await img.jpeg().toBuffer())
    }
  }
})

describe('shardscope import', () => {
  it('imports class folders into shards, JSON result, exit 0 when every image was good', async () => {
    const out = join(root, 'animals-wds')
    expect(await main(['import', src, out, '--shard-maxcount', '6', '--seed', '2', '--val-fraction', '0.2', '--json'])).toBe(0)
    const r = JSON.parse(output.stdout) as { imported: { train: number; val: number }; badImages: unknown[]; shards: { train: { samples: number }[] } }
    expect(r.imported).toEqual({ train: 16, val: 4 })
    expect(r.badImages).toEqual([])
    expect(r.shards.train.map((s) => s.samples)).toEqual([6, 6, 4])
    const manifest = JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'))
    expect([manifest.classIds, manifest.imageField, manifest.imageShape]).toEqual([['cat', 'dog'], 'jpg', [32, 32, 3]])
  })

  it('names a bad image, imports the rest, exit 1', async () => {
    writeFileSync(join(src, 'dog', 'broken.jpg'), Buffer.from('definitely not a jpeg'))
    try {
      expect(await main(['import', src, join(root, 'animals-wds-2')])).toBe(1)
      expect(output.stdout).toMatch(/left out dog\/broken\.jpg: not a decodable image/)
      expect(output.stdout).toMatch(/train: 18 images/)
    } finally {
      rmSync(join(src, 'dog', 'broken.jpg'))
    }
  })

  it('a PNG and an odd-sized image among JPEGs: the PNG is re-encoded as jpg, the odd size named with the option that fixes it, or resized with it', async () => {
    const png = join(src, 'cat', 'extra.png')
    const big = join(src, 'dog', 'big.jpg')
    writeFileSync(png, await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer())
    writeFileSync(big, await sharp({ create: { width: 48, height: 40, channels: 3, background: { r: 9, g: 9, b: 9 } } }).jpeg().toBuffer())
    try {
      expect(await main(['import', src, join(root, 'animals-wds-3'), '--val-fraction', '0.2'])).toBe(0)
      expect(output.stdout).toContain('  2 classes, mostly 32×32×3 jpg (height×width×channels)\n')
      expect(output.stdout).toContain('  1 png image re-encoded as jpg, so every sample has .jpg\n')
      expect(output.stdout).toContain('  1 of 22 images is not 32×32×3, e.g. dog/big.jpg: imported as they are, training skips them and verify reports them; --resize 32x32 makes them one size\n')
      expect(await main(['import', src, join(root, 'animals-wds-4'), '--val-fraction', '0.2', '--resize', '32x32'])).toBe(0)
      expect(output.stdout).toContain('  2 classes, 32×32×3 jpg (height×width×channels)\n')
      expect(output.stdout).toContain('  1 image resized to 32x32 (--resize width x height)\n')
    } finally {
      rmSync(png)
      rmSync(big)
    }
  })

  it('--val-fraction 0 is refused up front: a dataset needs a val split', async () => {
    expect(await main(['import', src, join(root, 'no-val'), '--val-fraction', '0'])).toBe(2)
    expect(output.stderr).toMatch(/--val-fraction must be above 0 and below 1 \(a dataset needs a val split\), got "0"/)
  })

  it('--resize takes WIDTHxHEIGHT or one side', () => {
    expect(parseSize('64x48')).toEqual({ width: 64, height: 48 })
    expect(parseSize('32')).toEqual({ width: 32, height: 32 })
    for (const bad of ['0x5', '64x', 'x64', 'big', '5000x5000']) expect(() => parseSize(bad)).toThrow(/--resize takes WIDTHxHEIGHT/)
  })

  it('an output path that is a file is a one-line error in words, exit 2', async () => {
    const file = join(root, 'a-file')
    writeFileSync(file, 'x')
    expect(await main(['import', src, file])).toBe(2)
    expect(output.stderr).toBe(`shardscope: ${file}: already exists (as a file where a folder is needed, or the other way round) (EEXIST in mkdir)\n`)
  })

  it('a missing source folder is a one-line error, exit 2', async () => {
    expect(await main(['import', join(root, 'nowhere'), join(root, 'out3')])).toBe(2)
    expect(output.stderr).toMatch(/^shardscope: .*nowhere is not a folder\n$/)
  })

  it.each([
    ['3e9', 3e9],
    ['500M', 5e8],
    ['64k', 64000],
    ['2048', 2048]
  ])('--shard-maxsize %s is %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes)
  })

  it('--shard-maxsize below 1024 bytes is refused', () => {
    expect(() => parseBytes('12')).toThrow(/at least 1024/)
  })

  it('Ctrl-C midway through a re-import: exit 130, the earlier dataset left as it was, nothing staged left behind', async () => {
    // Enough work (a resize per image) that the import is still writing when the interrupt comes.
    const many = join(root, 'many')
    for (const name of ['a', 'b']) {
      mkdirSync(join(many, name), { recursive: true })
      for (let j = 0; j < 150; j++) {
        const img = sharp({ create: { width: 160, height: 120, channels: 3, background: { r: j, g: name === 'a' ? 30 : 220, b: 90 } } })
        writeFileSync(join(many, name, `${j}.png`), await img.png().toBuffer())
      }
    }
    const out = join(root, 'many-wds')
    expect(await main(['import', src, out, '--val-fraction', '0.2'])).toBe(0)
    const before = readdirSync(out, { recursive: true }).sort()
    const manifest = readFileSync(join(out, 'dataset.json'), 'utf8')
    const cli = new URL('../index.ts', import.meta.url).pathname
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'import', many, out, '--resize', '96x96', '--shard-maxcount', '20'], {
      env: { ...process.env, SHARDSCOPE_CLI_MAIN: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // Interrupted once its first new shard is written.
    const staged = () => readdirSync(out).find((e) => e.startsWith('.shardscope-staging-'))
    const shardWritten = () => {
      const s = staged()
      return s !== undefined && existsSync(join(out, s, 'train', 'train-000000.tar'))
    }
    for (let i = 0; i < 600 && !shardWritten() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
    expect(shardWritten()).toBe(true)
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toContain(`${out} is as it was before`)
    expect(readdirSync(out, { recursive: true }).sort()).toEqual(before)
    expect(readFileSync(join(out, 'dataset.json'), 'utf8')).toBe(manifest)
  }, 120_000)
})
