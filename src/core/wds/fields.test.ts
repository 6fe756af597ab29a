import { execFileSync } from 'node:child_process'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { decodeField, parseInteger } from './fields'

const bytes = (s: string): Uint8Array => Buffer.from(s)

/** A real .npy file written by numpy (Debian python3). */
function npy(expression: string): Uint8Array {
  const script = `import numpy as np, io, sys\nb = io.BytesIO(); np.save(b, ${expression}); sys.stdout.write(b.getvalue().hex())`
  return Buffer.from(execFileSync('/usr/bin/python3', ['-c', script]).toString(), 'hex')
}

describe('parseInteger (cls, index) reads what Python int() reads', () => {
  const table: [string, number | null][] = [
    ['3', 3],
    [' 42\n', 42],
    ['-1', -1],
    ['+7', 7],
    ['007', 7],
    ['abc', null],
    ['1.5', null],
    ['', null],
    ['99999999999999999999', null],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', null],
    ['\t5\r\n', 5],
    ['1 2', null],
    ['-', null],
    [' ', null],
    ['٣', null]
  ]
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${expected}`, () => expect(parseInteger(bytes(text))).toBe(expected))
  }
})

describe('decodeField', () => {
  it('decodes cls, txt and json, and reports what it expected for bad values', async () => {
    expect(await decodeField('cls', bytes('12'))).toEqual({ kind: 'integer', value: 12 })
    expect(await decodeField('index', bytes('-1'))).toEqual({ kind: 'integer', value: -1 })
    expect(await decodeField('cls', bytes('abc'))).toMatchObject({ kind: 'problem', expected: 'an integer', found: '"abc"' })
    expect(await decodeField('txt', bytes('a cat'))).toEqual({ kind: 'text', value: 'a cat' })
    expect(await decodeField('json', bytes('{"a":[1,2]}'))).toEqual({ kind: 'json', value: { a: [1, 2] } })
    expect(await decodeField('json', bytes('{oops'))).toMatchObject({ kind: 'problem', expected: 'JSON' })
  })

  it('reads uint8 and float32 npy files written by numpy, with their shape', async () => {
    const u8 = await decodeField('npy', npy('np.arange(24, dtype=np.uint8).reshape(2, 3, 4)'))
    expect(u8).toMatchObject({ kind: 'array', dtype: 'uint8', shape: [2, 3, 4] })
    expect(Array.from((u8 as { data: Uint8Array }).data.slice(0, 3))).toEqual([0, 1, 2])
    const f32 = await decodeField('npy', npy('np.array([0.5, -2.0, 3.25], dtype=np.float32)'))
    expect(f32).toMatchObject({ kind: 'array', dtype: 'float32', shape: [3] })
    expect(Array.from((f32 as { data: Float32Array }).data)).toEqual([0.5, -2, 3.25])
  })

  it('refuses npy dtypes, orders and sizes it does not support, saying which', async () => {
    expect(await decodeField('npy', npy('np.zeros(3, dtype=np.float64)'))).toMatchObject({ kind: 'problem', found: '<f8' })
    expect(await decodeField('npy', npy('np.zeros(3, dtype=">f4")'))).toMatchObject({ kind: 'problem', found: '>f4' })
    expect(await decodeField('npy', npy('np.asfortranarray(np.zeros((2, 3), dtype=np.uint8))'))).toMatchObject({ kind: 'problem', found: 'Fortran order' })
    const cut = npy('np.zeros((4, 4), dtype=np.uint8)')
    expect(await decodeField('npy', cut.subarray(0, cut.length - 3))).toMatchObject({ kind: 'problem', found: '13 bytes' })
    expect(await decodeField('npy', bytes('not numpy'))).toMatchObject({ kind: 'problem' })
  })

  it('decodes images by their last extension and keeps unknown fields as bytes', async () => {
    const png = await sharp({ create: { width: 4, height: 2, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer()
    const seg = await decodeField('seg.png', png)
    expect(seg.kind).toBe('image')
    expect(seg.kind === 'image' && [seg.image.width, seg.image.height]).toEqual([4, 2])
    expect(await decodeField('jpg', bytes('not a jpeg'))).toMatchObject({ kind: 'problem', expected: 'a jpg image' })
    expect(await decodeField('weights.bin', bytes('xyz'))).toEqual({ kind: 'bytes', size: 3, bytes: bytes('xyz') })
  })
})
