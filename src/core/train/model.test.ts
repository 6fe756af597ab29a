import { beforeAll, describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import {
  computeGradients,
  createModel,
  dispose,
  evaluate,
  getBatchNormStats,
  getWeights,
  setWeights,
  type Model,
  type ModelSpec
} from './model'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** A learnable batch: class k images are bright in channel k, plus noise. */
function colourBatch(n: number, size: number, classes: number, seed = 1): { xs: Float32Array; labels: Int32Array } {
  let s = seed
  const rand = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
  const xs = new Float32Array(n * size * size * 3)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes
    for (let p = 0; p < size * size; p++) {
      for (let c = 0; c < 3; c++) xs[(i * size * size + p) * 3 + c] = (c === labels[i] ? 1 : -0.5) + (rand() - 0.5)
    }
  }
  return { xs, labels }
}

async function sgd(model: Model, xs: Float32Array, labels: Int32Array, steps: number, lr: number): Promise<number[]> {
  const losses: number[] = []
  for (let i = 0; i < steps; i++) {
    const { loss, gradients } = await computeGradients(model, xs, labels)
    losses.push(loss)
    const w = getWeights(model)
    for (let j = 0; j < w.length; j++) w[j]! -= lr * gradients[j]!
    setWeights(model, w)
  }
  return losses
}

const tiny: ModelSpec = { kind: 'small-cnn', inputShape: [8, 8, 3], classes: 3, seed: 7 }

describe('model', () => {
  it('same seed gives the same initial weights, another seed different ones', () => {
    const a = createModel(tiny)
    const b = createModel(tiny)
    const c = createModel({ ...tiny, seed: 8 })
    expect(getWeights(a)).toEqual(getWeights(b))
    expect(getWeights(a)).not.toEqual(getWeights(c))
    expect(a.weightCount).toBe(a.layout.at(-1)!.offset + a.layout.at(-1)!.size)
    ;[a, b, c].forEach(dispose)
  })

  it('getWeights/setWeights round trip, and set weights change the outputs', async () => {
    const a = createModel(tiny)
    const b = createModel({ ...tiny, seed: 99 })
    const { xs, labels } = colourBatch(6, 8, 3)
    setWeights(b, getWeights(a))
    expect(getWeights(b)).toEqual(getWeights(a))
    const ga = await computeGradients(a, xs, labels)
    const gb = await computeGradients(b, xs, labels)
    expect(gb.loss).toBeCloseTo(ga.loss, 6)
    expect(Array.from(gb.gradients)).toEqual(Array.from(ga.gradients))
    expect(() => setWeights(a, new Float32Array(3))).toThrow(/expected \d+ weights/)
    ;[a, b].forEach(dispose)
  })

  it('gradients match finite differences on a tiny model', async () => {
    const model = createModel({ kind: 'small-cnn', inputShape: [4, 4, 3], classes: 3, seed: 3 })
    const { xs, labels } = colourBatch(4, 4, 3, 5)
    const w0 = getWeights(model)
    const { gradients } = await computeGradients(model, xs, labels, { updateRunningStats: false })
    const lossAt = async (w: Float32Array): Promise<number> => {
      setWeights(model, w)
      return (await computeGradients(model, xs, labels, { updateRunningStats: false })).loss
    }
    // One coordinate of every tensor (conv, gamma, beta, head), the one with the largest gradient.
    const eps = 1e-2
    for (const slot of model.layout) {
      let idx = slot.offset
      for (let j = slot.offset; j < slot.offset + slot.size; j++) if (Math.abs(gradients[j]!) > Math.abs(gradients[idx]!)) idx = j
      const plus = w0.slice()
      plus[idx]! += eps
      const minus = w0.slice()
      minus[idx]! -= eps
      const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps)
      const analytic = gradients[idx]!
      expect(Math.abs(numeric - analytic), `${slot.name}[${idx - slot.offset}]: analytic ${analytic} numeric ${numeric}`).toBeLessThan(
        2e-3 + 0.05 * Math.abs(analytic)
      )
    }
    dispose(model)
  })

  it('small CNN: loss falls over a few SGD steps on a learnable batch', async () => {
    const model = createModel(tiny)
    const { xs, labels } = colourBatch(12, 8, 3)
    const losses = await sgd(model, xs, labels, 8, 0.1)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7)
    dispose(model)
  })

  it('resnet-small: loss falls over a few SGD steps on a learnable batch', async () => {
    const model = createModel({ ...tiny, kind: 'resnet-small', inputShape: [8, 8, 3] })
    const { xs, labels } = colourBatch(12, 8, 3)
    const losses = await sgd(model, xs, labels, 8, 0.1)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7)
    dispose(model)
  })

  it('evaluate uses running statistics and reports sum/count form', async () => {
    const model = createModel({ ...tiny, classes: 7 })
    const { xs, labels } = colourBatch(14, 8, 3)
    const statsBefore = getBatchNormStats(model)
    await sgd(model, xs, labels, 6, 0.1)
    const statsAfter = getBatchNormStats(model)
    expect(statsAfter).not.toEqual(statsBefore)
    const e = await evaluate(model, xs, labels)
    expect(e.count).toBe(14)
    expect(e.loss).toBeCloseTo(e.lossSum / e.count, 5)
    expect(e.top1).toBeCloseTo(e.top1Correct / 14, 6)
    expect(e.top5Correct).toBeGreaterThanOrEqual(e.top1Correct)
    // Learnable colours: after training the model should be right on most of its training batch.
    expect(e.top1).toBeGreaterThan(0.5)
    dispose(model)
  })

  it('rejects a batch whose size does not match its labels, naming both', async () => {
    const model = createModel(tiny)
    await expect(computeGradients(model, new Float32Array(10), new Int32Array(2))).rejects.toThrow(/2 labels needs .* 384 .* found 10/)
    await expect(computeGradients(model, new Float32Array(192), new Int32Array([5]))).rejects.toThrow(/label 5 outside/)
    dispose(model)
  })
})
