/**
 * Seeded random numbers for the demo dataset. Every sample draws from its own stream
 * (seed, split, index), so the bytes do not depend on how many samples are rendered
 * at once or in what order they finish.
 */

import { createRandom } from '../random'

export { createRandom }

/** Mix several integers into one seed (a 32-bit FNV-1a over their bytes). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    let v = p >>> 0
    for (let i = 0; i < 4; i++) {
      h ^= v & 0xff
      h = Math.imul(h, 0x01000193) >>> 0
      v >>>= 8
    }
  }
  return h
}

/** Fisher–Yates shuffle of 0 … n − 1. */
export function shuffledIndices(n: number, seed: number): number[] {
  const random = createRandom(seed)
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  return order
}

/** `count` distinct indices from 0 … n − 1 not in `taken` (which they are added to), in increasing order. */
export function pickIndices(n: number, count: number, seed: number, taken: Set<number>): number[] {
  const random = createRandom(seed)
  const picked: number[] = []
  let guard = 0
  while (picked.length < Math.min(count, n - taken.size) && guard++ < 100 * n + 100) {
    const i = Math.floor(random() * n)
    if (taken.has(i)) continue
    taken.add(i)
    picked.push(i)
  }
  return picked.sort((a, b) => a - b)
}
