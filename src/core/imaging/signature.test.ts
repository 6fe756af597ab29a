import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { imageSignature } from './signature'

describe('imageSignature', () => {
  const image = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#3a7' } })
  it.each([
    ['jpeg', () => image().jpeg().toBuffer()],
    ['png', () => image().png().toBuffer()],
    ['webp', () => image().webp().toBuffer()],
    ['gif', () => image().gif().toBuffer()],
    ['tiff', () => image().tiff().toBuffer()]
  ] as const)('bytes sharp wrote as %s are told by their signature', async (format, make) => {
    expect(imageSignature(new Uint8Array(await make()))).toBe(format)
  })
  it('text, a tar header or nothing is no image', () => {
    expect(imageSignature(new TextEncoder().encode('{"cls": 3}'))).toBeNull()
    expect(imageSignature(new Uint8Array(512))).toBeNull()
    expect(imageSignature(new Uint8Array(0))).toBeNull()
  })
})
