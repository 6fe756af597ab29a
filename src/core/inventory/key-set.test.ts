import { describe, expect, it } from 'vitest'
import { KeySet } from './key-set'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('KeySet', () => {
  it('answers as a Set of the same keys would, through growth of its table, entries and arena', () => {
    // A 2-slot table and 20,000 keys of 1–40 bytes: many rehashes, entry and arena growths, probe chains.
    const set = new KeySet(2)
    const reference = new Set<string>()
    let seed = 7
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
    for (let i = 0; i < 20_000; i++) {
      // Keys repeat often (a small alphabet and lengths), so both answers are tested many times.
      const key = Array.from({ length: 1 + (next() % 4) }, () => 'ab/.c'[next() % 5]).join('') + (next() % 3 === 0 ? `-${next() % 5000}` : '')
      const padded = bytes(`xx${key}yy`)
      expect(set.add(padded, 2, padded.length - 4), key).toBe(!reference.has(key))
      reference.add(key)
    }
    expect(set.size).toBe(reference.size)
  })

  it('tells apart keys with the same bytes at different lengths, and the empty key', () => {
    const set = new KeySet()
    const text = bytes('aaaa')
    expect(set.add(text, 0, 2)).toBe(true)
    expect(set.add(text, 0, 3)).toBe(true)
    expect(set.add(text, 1, 2)).toBe(false)
    expect(set.add(text, 0, 0)).toBe(true)
    expect(set.add(text, 3, 0)).toBe(false)
    expect(set.size).toBe(3)
  })
})
