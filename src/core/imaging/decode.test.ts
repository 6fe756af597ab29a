import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { decodeImage, ImageDecodeError, makeThumbnail, measurePixels } from './decode'

/** A PNG whose header claims width × height pixels but holds almost no data. */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))])
}

async function solid(width: number, height: number, rgb: [number, number, number], format: 'png' | 'jpeg' | 'webp', channels: 3 | 4 = 3): Promise<Buffer> {
  const background = channels === 4 ? { r: rgb[0], g: rgb[1], b: rgb[2], alpha: 0.5 } : { r: rgb[0], g: rgb[1], b: rgb[2] }
  const image = sharp({ create: { width, height, channels, background } })
  return format === 'png' ? image.png().toBuffer() : format === 'jpeg' ? image.jpeg({ quality: 100 }).toBuffer() : image.webp({ lossless: true }).toBuffer()
}

describe('decodeImage', () => {
  it('decodes PNG, JPEG and WebP to RGB HWC pixels of the right size', async () => {
    for (const format of ['png', 'jpeg', 'webp'] as const) {
      const image = await decodeImage(await solid(5, 3, [200, 100, 50], format))
      expect([image.width, image.height, image.channels, image.data.length]).toEqual([5, 3, 3, 45])
      expect(Math.abs(image.data[0]! - 200)).toBeLessThanOrEqual(3)
      expect(Math.abs(image.data[1]! - 100)).toBeLessThanOrEqual(3)
    }
  })

  it('drops alpha and expands greyscale to three channels', async () => {
    const rgba = await decodeImage(await solid(2, 2, [10, 20, 30], 'png', 4))
    expect(rgba.data.length).toBe(12)
    const grey = await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 90, g: 90, b: 90 } } }).greyscale().png().toBuffer()
    const decoded = await decodeImage(grey)
    expect(Array.from(decoded.data.subarray(0, 3))).toEqual([90, 90, 90])
  })

  it('refuses a PNG claiming 100000×100000 pixels without allocating them', async () => {
    const before = process.memoryUsage().rss
    await expect(decodeImage(pngClaiming(100_000, 100_000))).rejects.toThrow(/pixel limit/)
    expect(process.memoryUsage().rss - before).toBeLessThan(500 * 1024 * 1024)
  })

  it('reports corrupt and non-image bytes as ImageDecodeError', async () => {
    const jpeg = await solid(32, 32, [1, 2, 3], 'jpeg')
    await expect(decodeImage(jpeg.subarray(0, jpeg.length / 2))).rejects.toBeInstanceOf(ImageDecodeError)
    await expect(decodeImage(Buffer.from('<html>not an image</html>'))).rejects.toThrow(/not an image/)
  })
})

describe('makeThumbnail and measurePixels', () => {
  it('fits a thumbnail inside the size, keeping the aspect ratio', async () => {
    const thumb = await makeThumbnail(await solid(200, 100, [0, 255, 0], 'png'), 64)
    expect(thumb.contentType).toBe('image/webp')
    const meta = await sharp(thumb.body).metadata()
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 64, 32])
    const jpeg = await makeThumbnail(await solid(20, 10, [0, 255, 0], 'png'), 64, 'jpeg')
    expect((await sharp(jpeg.body).metadata()).width).toBe(20)
  })

  it('measures per-channel mean, std, min and max', () => {
    const data = new Uint8Array([0, 10, 255, 100, 10, 255])
    const stats = measurePixels({ width: 2, height: 1, channels: 3, data })
    expect(stats.mean).toEqual([50, 10, 255])
    expect(stats.std).toEqual([50, 0, 0])
    expect(stats.min).toEqual([0, 10, 255])
    expect(stats.max).toEqual([100, 10, 255])
  })
})
