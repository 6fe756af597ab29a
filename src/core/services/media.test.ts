import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { fitsThumbnail, thumbnailEdge } from './media'

async function image(format: 'jpeg' | 'png' | 'webp', width: number, height: number): Promise<Uint8Array> {
  const raw = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 90 } } })
  return new Uint8Array(await raw.toFormat(format).toBuffer())
}

describe('fitsThumbnail', () => {
  it.each([
    ['jpg', 'jpeg', 64, 64, true],
    ['jpeg', 'jpeg', thumbnailEdge, 40, true],
    ['jpg', 'jpeg', thumbnailEdge + 1, 40, false],
    ['png', 'png', 16, 100, true],
    ['png', 'png', 300, 200, false],
    // Only JPEG and PNG headers are read; anything else is made into a thumbnail.
    ['webp', 'webp', 64, 64, false]
  ] as const)('a %s of %s format, %i×%i: %s', async (ext, format, width, height, expected) => {
    expect(fitsThumbnail(await image(format, width, height), ext)).toBe(expected)
  })

  it('bytes that are not the image their extension says do not fit', async () => {
    expect(fitsThumbnail(await image('png', 10, 10), 'jpg')).toBe(false)
    expect(fitsThumbnail(new Uint8Array([1, 2, 3]), 'png')).toBe(false)
  })
})
