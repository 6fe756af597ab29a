/**
 * mulberry32: a small, fast, seedable 32-bit generator, identical on every platform.
 * Good enough for pictures, shuffles and weight initialisation; not for secrets.
 * Shared so the demo generator, the data loader and model init draw the same way.
 */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
