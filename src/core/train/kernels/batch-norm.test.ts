import { describe, expect, it } from 'vitest'
import { batchNormBackward, batchNormForward } from './batch-norm'
import { createRandom } from '../../random'

/** The same batch norm written plainly (per channel, with branches), in float64. */
function reference(x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, relu: boolean, epsilon: number) {
  const channels = gamma.length
  const count = x.length / channels
  const mean = new Float64Array(channels)
  const variance = new Float64Array(channels)
  for (let i = 0; i < x.length; i++) mean[i % channels]! += x[i]! / count
  for (let i = 0; i < x.length; i++) variance[i % channels]! += (x[i]! - mean[i % channels]!) ** 2 / count
  const rstd = Array.from(variance, (v) => 1 / Math.sqrt(v + epsilon))
  const xhat = Array.from(x, (v, i) => (v - mean[i % channels]!) * rstd[i % channels]!)
  const y = xhat.map((v, i) => {
    const out = gamma[i % channels]! * v + beta[i % channels]!
    return relu && !(out > 0) ? 0 : out
  })
  const dz = Array.from(dy, (d, i) => (relu && !(Math.fround(y[i]!) > 0) ? 0 : d))
  const dBeta = new Float64Array(channels)
  const dGamma = new Float64Array(channels)
  dz.forEach((d, i) => {
    dBeta[i % channels]! += d
    dGamma[i % channels]! += d * xhat[i]!
  })
  const dx = dz.map((d, i) => {
    const c = i % channels
    return ((gamma[c]! * rstd[c]!) / count) * (count * d - dBeta[c]! - xhat[i]! * dGamma[c]!)
  })
  return { y, mean, variance, dx, dGamma, dBeta }
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)))
  expect(worst).toBeLessThan(tolerance)
}

describe('batch norm kernels', () => {
  // 6 channels: four at a time and two alone; 2,600 pixels: more than one block of pixels.
  it.each([
    [6, 2600, true],
    [16, 300, true],
    [3, 50, false]
  ])('%i channels × %i pixels (relu %s) match a plain float64 version', (channels, pixels, relu) => {
    const random = createRandom(channels * pixels)
    const x = Float32Array.from({ length: channels * pixels }, () => random() * 4 - 2)
    const dy = Float32Array.from({ length: channels * pixels }, () => random() - 0.5)
    const gamma = Float32Array.from({ length: channels }, () => 0.5 + random())
    const beta = Float32Array.from({ length: channels }, () => random() - 0.5)
    const forward = { y: new Float32Array(x.length), mean: new Float32Array(channels), variance: new Float32Array(channels), rstd: new Float32Array(channels) }
    batchNormForward(x, gamma, beta, relu, 1e-3, forward)
    const backward = { dx: new Float32Array(x.length), dGamma: new Float32Array(channels), dBeta: new Float32Array(channels) }
    batchNormBackward(dy, x, forward.y, forward.mean, forward.rstd, gamma, relu, backward)
    const want = reference(x, dy, gamma, beta, relu, 1e-3)
    expectClose(forward.y, want.y, 1e-5)
    expectClose(forward.mean, want.mean, 1e-6)
    expectClose(forward.variance, want.variance, 1e-5)
    expectClose(backward.dx, want.dx, 1e-4)
    expectClose(backward.dGamma, want.dGamma, 1e-4)
    expectClose(backward.dBeta, want.dBeta, 1e-5)
  })

  it('the ReLU passes gradient exactly where the output is > 0: not at +0 or −0, yes at the smallest positive float', () => {
    const tiny = 1.4e-45 // the smallest float32 denormal
    const y = Float32Array.from([0, -0, tiny, 3, Number.POSITIVE_INFINITY, Number.NaN, -2, 1])
    const channels = 1
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])
    const dy = new Float32Array(8).fill(1)
    const out = { dx: new Float32Array(8), dGamma: new Float32Array(channels), dBeta: new Float32Array(channels) }
    batchNormBackward(dy, x, y, Float32Array.of(0), Float32Array.of(1), Float32Array.of(1), true, out)
    // dBeta = Σ dz: the gradient passes at tiny, 3, +∞ and 1 only.
    expect(out.dBeta[0]).toBe(4)
  })
})
