import { describe, expect, it } from 'vitest'
import { decodeMediaBatch, encodeMediaBatch, maxBatchItems, mediaBatchUrlPath, parseMediaBatchItems } from './media-batch'

describe('media batch', () => {
  it('a batch URL names its items in order and parses back to the same items', () => {
    const items = [
      { split: 'train', index: 0, field: 'jpg' },
      { split: 'val', index: 9999, field: 'input.png' }
    ]
    const path = mediaBatchUrlPath('abc123', items, 'full')
    const url = new URL(path, 'http://127.0.0.1')
    expect(url.pathname).toBe('/media-batch/abc123')
    expect(url.searchParams.get('variant')).toBe('full')
    expect(parseMediaBatchItems(url.searchParams.get('items')!)).toEqual(items)
  })

  it.each([
    ['train/one/jpg', 'Bad sample index "one"'],
    ['train/1', 'Bad batch item "train/1": expected <split>/<index>/<field>'],
    ['train/1/jpg/x', 'Bad batch item "train/1/jpg/x": expected <split>/<index>/<field>'],
    ['%E0%A4%A/1/jpg', 'Badly escaped batch item']
  ])('refuses the item list %j: %s', (text, message) => {
    expect(parseMediaBatchItems(text)).toBe(message)
  })

  it(`refuses more than ${maxBatchItems} items`, () => {
    const text = Array.from({ length: maxBatchItems + 1 }, (_, i) => `train/${i}/jpg`).join(',')
    expect(parseMediaBatchItems(text)).toBe(`At most ${maxBatchItems} images per batch (asked for ${maxBatchItems + 1})`)
  })

  it('cuts an answer back into the bytes of each item, refusals included', () => {
    const a = Uint8Array.from([0xff, 0xd8, 1, 2, 3])
    const b = Uint8Array.from([0x89, 0x50])
    const encoded = encodeMediaBatch([
      { entry: { status: 200, contentType: 'image/jpeg', bytes: a.length }, body: a },
      { entry: { status: 404, contentType: 'text/plain', bytes: 0, message: 'no such sample' }, body: null },
      { entry: { status: 200, contentType: 'image/png', bytes: b.length }, body: b }
    ])
    const decoded = decodeMediaBatch(encoded.buffer as ArrayBuffer)
    expect(decoded.map((d) => [d.entry.status, d.entry.contentType, [...d.body]])).toEqual([
      [200, 'image/jpeg', [...a]],
      [404, 'text/plain', []],
      [200, 'image/png', [...b]]
    ])
    expect(decoded[1]!.entry.message).toBe('no such sample')
    expect(() => decodeMediaBatch(encoded.buffer.slice(0, encoded.length - 1) as ArrayBuffer)).toThrow('runs past the answer')
  })
})
