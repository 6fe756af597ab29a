import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { initBackend } from '../backends'

beforeAll(async () => {
  // Loads tfjs-backend-wasm and registers our gradient kernels on it.
  await initBackend('wasm')
})

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

/** Runs one kernel on a backend and reads its output back. */
async function runOn(backend: 'cpu' | 'wasm', kernel: string, inputs: Record<string, { data: Float32Array; shape: number[] }>, attrs: object) {
  await tf.setBackend(backend)
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape, 'float32')]))
  const out = tf.engine().runKernel(kernel, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor
  const result = { shape: out.shape, data: (await out.data()) as Float32Array }
  tf.dispose([out, ...Object.values(tensors)])
  return result
}

function expectClose(actual: { shape: number[]; data: Float32Array }, expected: { shape: number[]; data: Float32Array }): void {
  expect(actual.shape).toEqual(expected.shape)
  let worst = 0
  let scale = 1e-6
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i]! - expected.data[i]!))
    scale = Math.max(scale, Math.abs(expected.data[i]!))
  }
  expect(worst / scale, `max abs error ${worst} vs max |value| ${scale}`).toBeLessThan(1e-4)
}

// [batch, height, width, inChannels], [kh, kw, outChannels], stride, padding
const convCases: [string, number[], number[], number, 'same' | 'valid'][] = [
  ['3×3 stride 1 same', [2, 8, 8, 3], [3, 3, 4], 1, 'same'],
  ['3×3 stride 1 valid, odd sizes', [3, 7, 9, 5], [3, 3, 6], 1, 'valid'],
  ['3×3 stride 2 same, odd sizes', [2, 9, 7, 4], [3, 3, 5], 2, 'same'],
  ['3×3 stride 2 valid', [2, 10, 11, 3], [3, 3, 2], 2, 'valid'],
  ['1×1 stride 2 same (ResNet shortcut)', [2, 8, 8, 4], [1, 1, 8], 2, 'same'],
  ['5×3 stride 1 same', [1, 6, 7, 2], [5, 3, 3], 1, 'same'],
  // Output channels not in eights: the filter gradient as a conv of dy's transpose, 4 × 76 floats per pixel, in two
  // blocks of pixels (53 + 11).
  ['3×3 stride 1 same, many output channels', [4, 8, 8, 3], [3, 3, 76], 1, 'same'],
  // Output channels in eights: the filter gradient's register-tiled SIMD kernel, with tiles of 4, 3, 2 and 1 input channels.
  ['3×3 stride 1 same, 16 → 16 channels', [3, 9, 7, 16], [3, 3, 16], 1, 'same'],
  ['3×3 stride 1 valid, 6 → 8 channels', [2, 7, 9, 6], [3, 3, 8], 1, 'valid'],
  ['5×3 stride 1 same, 2 → 24 channels', [2, 6, 7, 2], [5, 3, 24], 1, 'same'],
  ['3×3 stride 1 same, 5 → 8 channels, one image', [1, 5, 4, 5], [3, 3, 8], 1, 'same'],
  // A kernel wider than the image: some taps see no column of it at all.
  ['5×5 stride 1 same on 4×2 images, 4 → 8 channels', [2, 4, 2, 4], [5, 5, 8], 1, 'same']
]

describe('WASM gradient kernels match the CPU backend', () => {
  for (const [name, [n, h, w, cin], [kh, kw, cout], stride, pad] of convCases) {
    const ho = pad === 'same' ? Math.ceil(h! / stride) : Math.ceil((h! - kh! + 1) / stride)
    const wo = pad === 'same' ? Math.ceil(w! / stride) : Math.ceil((w! - kw! + 1) / stride)
    const xShape = [n!, h!, w!, cin!]
    const filterShape = [kh!, kw!, cin!, cout!]
    const dyShape = [n!, ho, wo, cout!]
    const x = { data: values(n! * h! * w! * cin!, 1), shape: xShape }
    const filter = { data: values(kh! * kw! * cin! * cout!, 2), shape: filterShape }
    const dy = { data: values(n! * ho * wo * cout!, 3), shape: dyShape }
    const common = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined }

    it(`Conv2DBackpropFilter, ${name}`, async () => {
      const attrs = { ...common, filterShape }
      expectClose(await runOn('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs), await runOn('cpu', 'Conv2DBackpropFilter', { x, dy }, attrs))
    })

    it(`Conv2DBackpropInput, ${name}`, async () => {
      const attrs = { ...common, inputShape: xShape }
      expectClose(await runOn('wasm', 'Conv2DBackpropInput', { dy, filter }, attrs), await runOn('cpu', 'Conv2DBackpropInput', { dy, filter }, attrs))
    })
  }

  // After ReLU many windows are all zeros: ties, where the first maximum must win.
  const poolCases: [string, number[], number, number, 'same' | 'valid', ('relu' | undefined)?][] = [
    ['2×2 stride 2 valid', [2, 8, 8, 3], 2, 2, 'valid'],
    ['2×2 stride 2 valid, after ReLU (ties)', [2, 8, 6, 5], 2, 2, 'valid', 'relu'],
    ['2×2 stride 2 valid, odd sizes', [2, 7, 9, 3], 2, 2, 'valid'],
    // Channels in fours: the SIMD path (./simd-kernels.ts).
    ['2×2 stride 2 valid, 8 channels', [2, 8, 6, 8], 2, 2, 'valid'],
    ['2×2 stride 2 valid, 4 channels, after ReLU (ties)', [3, 4, 10, 4], 2, 2, 'valid', 'relu'],
    ['3×3 stride 2 same, odd sizes', [2, 7, 9, 4], 3, 2, 'same'],
    ['2×2 stride 1 valid', [1, 5, 6, 2], 2, 1, 'valid']
  ]
  for (const [name, xShape, filterSize, stride, pad, relu] of poolCases) {
    it(`MaxPoolGrad ${name}`, async () => {
      await tf.setBackend('cpu')
      const data = values(xShape.reduce((p, q) => p * q, 1), 7).map((v) => (relu ? Math.max(0, v) : v))
      const input = tf.tensor4d(data, xShape as [number, number, number, number], 'float32')
      const output = tf.maxPool(input, filterSize, stride, pad)
      const shapes = { input: { data: (await input.data()) as Float32Array, shape: xShape }, output: { data: (await output.data()) as Float32Array, shape: output.shape } }
      const dy = { data: values(output.size, 8), shape: output.shape }
      tf.dispose([input, output])
      const attrs = { filterSize, strides: stride, pad }
      const inputs = { dy, ...shapes }
      expectClose(await runOn('wasm', 'MaxPoolGrad', inputs, attrs), await runOn('cpu', 'MaxPoolGrad', inputs, attrs))
    })
  }

  const matMulCases: [string, number[], number[], boolean, boolean][] = [
    ['Aᵀ·B', [1, 7, 5], [1, 7, 3], true, false],
    ['A·Bᵀ', [1, 5, 7], [1, 3, 7], false, true],
    ['Aᵀ·Bᵀ batched', [2, 33, 5], [2, 3, 33], true, true],
    ['A·B (untouched path)', [1, 4, 6], [1, 6, 2], false, false]
  ]
  for (const [name, aShape, bShape, transposeA, transposeB] of matMulCases) {
    it(`BatchMatMul ${name}`, async () => {
      const a = { data: values(aShape.reduce((p, q) => p * q, 1), 4), shape: aShape }
      const b = { data: values(bShape.reduce((p, q) => p * q, 1), 5), shape: bShape }
      const attrs = { transposeA, transposeB }
      expectClose(await runOn('wasm', 'BatchMatMul', { a, b }, attrs), await runOn('cpu', 'BatchMatMul', { a, b }, attrs))
    })
  }

  // Whole steps also check our batch-norm kernels (fused on wasm, composed of tfjs ops on
  // cpu): with and without ReLU, the batch statistics, the loss and every gradient.
  const steps: [string, 'small-cnn' | 'resnet-small', number, number][] = [
    ['resnet-small (stride-2 convs, shortcuts, batch norm without ReLU)', 'resnet-small', 12, 4],
    ['small-cnn (three conv-BN-ReLU-pool blocks)', 'small-cnn', 16, 6]
  ]
  for (const [name, kind, size, n] of steps) {
    it(`a whole training step of ${name} gives the same gradients on wasm as on cpu`, async () => {
      const { createModel, computeGradients, dispose } = await import('../model')
      const spec = { kind, inputShape: [size, size, 3] as [number, number, number], classes: 5, seed: 4 }
      const xs = values(n * size * size * 3, 6)
      const labels = new Int32Array(n).map((_, i) => i % 5)
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend)
        const model = createModel(spec)
        const result = await computeGradients(model, xs, labels)
        dispose(model)
        return result
      }
      const cpu = await run('cpu')
      const wasm = await run('wasm')
      expect(wasm.loss).toBeCloseTo(cpu.loss, 4)
      expectClose({ shape: [wasm.gradients.length], data: wasm.gradients }, { shape: [cpu.gradients.length], data: cpu.gradients })
      expectClose({ shape: [wasm.batchNormStats.length], data: wasm.batchNormStats }, { shape: [cpu.batchNormStats.length], data: cpu.batchNormStats })
    })
  }
})
