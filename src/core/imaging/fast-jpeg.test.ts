import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { decodeJpeg, decodeJpegSync, JpegError, loadJpegDecoder, readJpegHeader } from './fast-jpeg'

async function makeJpeg(width: number, height: number, channels: 1 | 3 = 3): Promise<{ jpg: Uint8Array; raw: Uint8Array }> {
  const raw = new Uint8Array(width * height * channels)
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + (i >> 5) * 11) % 256
  const image = sharp(raw, { raw: { width, height, channels } })
  const buf = await (channels === 1 ? image.toColourspace('b-w') : image).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer()
  return { jpg: new Uint8Array(buf), raw }
}

function expectJpegError(p: Promise<unknown>, kind: JpegError['kind']) {
  return expect(p).rejects.toSatisfy((e: unknown) => e instanceof JpegError && e.kind === kind)
}

describe('fast JPEG decoding', () => {
  it('reads width, height and components from the frame header without decoding', async () => {
    const { jpg } = await makeJpeg(48, 32)
    expect(readJpegHeader(jpg)).toEqual({ width: 48, height: 32, components: 3, complete: true })
    const grey = await makeJpeg(16, 8, 1)
    expect(readJpegHeader(grey.jpg)?.components).toBe(1)
  })

  it('decodes to the same pixels as sharp (libjpeg) within rounding', async () => {
    const { jpg } = await makeJpeg(64, 64)
    const mine = await decodeJpeg(jpg)
    const theirs = await sharp(jpg).raw().toBuffer()
    expect([mine.width, mine.height]).toEqual([64, 64])
    let maxDiff = 0
    for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(mine.rgba[p * 4 + c]! - theirs[p * 3 + c]!))
    expect(maxDiff).toBeLessThanOrEqual(3)
  })

  it('reports a JPEG cut short as truncated instead of decoding grey', async () => {
    const { jpg } = await makeJpeg(64, 64)
    await expectJpegError(decodeJpeg(jpg.slice(0, Math.floor(jpg.length * 0.4))), 'truncated')
  })

  it('decodes a whole JPEG followed by bytes after its end marker (as some cameras append), as PIL does', async () => {
    const { jpg } = await makeJpeg(64, 64)
    const trailed = new Uint8Array([...jpg, ...new TextEncoder().encode('GARBAGE'.repeat(40))])
    expect(readJpegHeader(trailed)?.complete).toBe(true)
    expect((await decodeJpeg(trailed)).width).toBe(64)
  })

  it('reports damaged entropy data as corrupt', async () => {
    const { jpg } = await makeJpeg(64, 64)
    const bad = jpg.slice()
    let x = 12345
    for (let i = Math.floor(bad.length / 3); i < Math.floor(bad.length / 3) + 400; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      bad[i] = x >> 23 === 0xff ? 0 : x >> 23 // garbage, but no stray markers
    }
    await expectJpegError(decodeJpeg(bad), 'corrupt')
  })

  it('refuses a header claiming 100000×100000 pixels before allocating anything', async () => {
    const { jpg } = await makeJpeg(16, 16)
    const bomb = jpg.slice()
    const header = readJpegHeader(bomb)!
    expect(header.width).toBe(16)
    // Patch the SOF0 dimensions in place.
    for (let i = 2; i < bomb.length - 9; i++) {
      if (bomb[i] === 0xff && bomb[i + 1] === 0xc0) {
        bomb[i + 5] = 100000 >> 8
        bomb[i + 6] = 100000 & 0xff
        bomb[i + 7] = 100000 >> 8
        bomb[i + 8] = 100000 & 0xff
        break
      }
    }
    expect(readJpegHeader(bomb)).toMatchObject({ width: 100000 & 0xffff, height: 100000 & 0xffff })
    const before = process.memoryUsage().rss
    await expectJpegError(decodeJpeg(bomb, { maxPixels: 1_000_000 }), 'too-large')
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024)
  })

  it('decodes synchronously once the decoder is loaded, to the same pixels, with the same refusals', async () => {
    const { jpg } = await makeJpeg(32, 24)
    await loadJpegDecoder()
    const sync = decodeJpegSync(jpg)
    expect([sync.width, sync.height]).toEqual([32, 24])
    expect(sync.rgba).toEqual((await decodeJpeg(jpg)).rgba)
    expect(() => decodeJpegSync(jpg.slice(0, 200))).toThrow(JpegError)
    expect(() => decodeJpegSync(jpg, { maxPixels: 100 })).toThrow(/over the limit of 100/)
  })

  it('says bytes that are not a JPEG at all are not a JPEG', async () => {
    await expectJpegError(decodeJpeg(new TextEncoder().encode('<html>Not Found</html>')), 'not-jpeg')
  })

  it('says what is missing when the start-of-image marker is there and no frame header follows', async () => {
    const garbage = new Uint8Array([0xff, 0xd8, 0xff, 0x12, 0x00, 0x04, 0xab, 0xcd, 0x42, 0x42, 0x42, 0x42])
    await expect(decodeJpeg(garbage)).rejects.toThrow('no frame header after the start-of-image marker (byte 8 is 0x42 where a marker should start)')
    await expectJpegError(decodeJpeg(garbage), 'corrupt')
    await expect(decodeJpeg(new Uint8Array([0xff, 0xd8, 0xff]))).rejects.toThrow('no frame header after the start-of-image marker (the bytes end at 3)')
    await expect(decodeJpeg(new TextEncoder().encode('<html>Not Found</html>'))).rejects.toThrow('not a JPEG (no start-of-image marker)')
  })
})
