import { describe, expect, it } from 'vitest'
import { createRandom } from '../../random'
import type { WasmMemory } from '../../wasm-assembler'
import { batchNormBackward, batchNormForward, jsPasses, type BatchNormPasses } from './batch-norm'
import { simdBatchNormPasses, simdScratchFloats } from './batch-norm-simd'

const WebAssemblyMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasmMemory } }).WebAssembly.Memory

/** Float32Arrays laid out one after another in a WebAssembly memory, as the WASM backend's heap holds tensors. */
function heap(pages: number) {
  const memory = new WebAssemblyMemory({ initial: pages })
  let next = 64 // not at 0, and 8-byte aligned like malloc's blocks
  const alloc = (length: number, values?: ArrayLike<number>): Float32Array => {
    const array = new Float32Array(memory.buffer, next, length)
    if (values) array.set(values)
    next += Math.ceil((length * 4) / 16) * 16 + 8 // alignments of 8, not always of 16
    return array
  }
  return { memory, alloc }
}

function run(passes: BatchNormPasses, alloc: (n: number, v?: ArrayLike<number>) => Float32Array, x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, relu: boolean) {
  const channels = gamma.length
  const [hx, hdy, hgamma, hbeta] = [alloc(x.length, x), alloc(dy.length, dy), alloc(channels, gamma), alloc(channels, beta)]
  const forward = { y: alloc(x.length), mean: alloc(channels), variance: alloc(channels), rstd: alloc(channels) }
  batchNormForward(hx, hgamma, hbeta, relu, 1e-3, forward, passes)
  const backward = { dx: alloc(x.length), dGamma: alloc(channels), dBeta: alloc(channels) }
  batchNormBackward(hdy, hx, forward.y, forward.mean, forward.rstd, hgamma, relu, backward, passes)
  return { ...forward, ...backward }
}

function worstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)))
  return worst
}

describe('batch norm passes in WebAssembly SIMD', () => {
  // 4 channels: one group; 2,100 pixels: a second block of 2,048 pixels; 32 channels × 3,000 pixels: blocks, groups and a
  // last chunk shorter than 64 pixels; an offset mean (7) for the variance's cancellation.
  it.each([
    [4, 2100, true, 0],
    [16, 300, false, 0],
    [32, 3000, true, 7],
    [64, 130, true, -1]
  ])('%i channels × %i pixels (relu %s, mean %i) give what the JavaScript passes give', (channels, pixels, relu, offset) => {
    const random = createRandom(channels * pixels)
    const x = Float32Array.from({ length: channels * pixels }, () => offset + random() * 4 - 2)
    const dy = Float32Array.from({ length: channels * pixels }, () => random() - 0.5)
    const gamma = Float32Array.from({ length: channels }, () => 0.5 + random())
    const beta = Float32Array.from({ length: channels }, () => random() - 0.5)
    const { memory, alloc } = heap(Math.ceil((channels * pixels * 4 * 8) / 65536) + 1)
    const scratch = alloc(simdScratchFloats(channels))
    const simd = simdBatchNormPasses(memory, channels, scratch)
    expect(simd, 'SIMD passes available in this Node').not.toBeNull()
    const got = run(simd!, alloc, x, dy, gamma, beta, relu)
    const want = run(jsPasses, alloc, x, dy, gamma, beta, relu)
    expect(worstDifference(got.mean, want.mean)).toBeLessThan(1e-6)
    expect(worstDifference(got.variance, want.variance)).toBeLessThan(1e-5)
    expect(worstDifference(got.rstd, want.rstd)).toBeLessThan(1e-5)
    expect(worstDifference(got.y, want.y)).toBeLessThan(1e-5)
    expect(worstDifference(got.dBeta, want.dBeta)).toBeLessThan(1e-5)
    expect(worstDifference(got.dGamma, want.dGamma)).toBeLessThan(1e-4)
    expect(worstDifference(got.dx, want.dx)).toBeLessThan(1e-4)
    // The ReLU's zeros are where the JavaScript passes have them.
    if (relu) expect(got.y.filter((v) => v === 0).length).toBe(want.y.filter((v) => v === 0).length)
  })

  it('passes the ReLU gradient exactly where the output is > 0: not at ±0 or NaN, yes at the smallest positive float', () => {
    const { memory, alloc } = heap(1)
    const passes = simdBatchNormPasses(memory, 4, alloc(simdScratchFloats(4)))!
    const tiny = 1.4e-45
    const y = alloc(8, [0, -0, tiny, 3, Number.POSITIVE_INFINITY, Number.NaN, -2, 1])
    const dy = alloc(8, new Float32Array(8).fill(1))
    const [dBeta] = passes.channelSums(dy, y, alloc(8, [1, 2, 3, 4, 5, 6, 7, 8]), 4)
    // Channel c holds y[c] and y[c + 4]: (0, +∞), (−0, NaN), (tiny, −2), (3, 1).
    expect(Array.from(dBeta)).toEqual([1, 0, 1, 2])
  })

  it('declines what it cannot do, so the JavaScript passes run instead', () => {
    const { memory, alloc } = heap(1)
    expect(simdBatchNormPasses(memory, 6, alloc(simdScratchFloats(6)))).toBeNull()
    expect(simdBatchNormPasses(memory, 4, new Float32Array(simdScratchFloats(4)))).toBeNull()
    expect(simdBatchNormPasses(memory, 4, alloc(2))).toBeNull()
  })
})
