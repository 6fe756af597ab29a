import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend, listBackends } from './index'
import { computeGradients, createModel, dispose, evaluate, getBatchNormStats, getWeights, setBatchNormStats, setWeights } from '../model'

/** Class k: channel k bright; learnable in a few steps. */
function colourBatch(n: number, size: number): { xs: Float32Array; labels: Int32Array } {
  const xs = new Float32Array(n * size * size * 3)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3
    for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) xs[(i * size * size + p) * 3 + c] = (c === labels[i] ? 1 : -0.5) + Math.sin(i * 7 + p * 3 + c) * 0.3
  }
  return { xs, labels }
}

const spec = { kind: 'small-cnn' as const, inputShape: [8, 8, 3] as [number, number, number], classes: 3, seed: 11 }

interface Trained {
  losses: number[]
  evaluation: Awaited<ReturnType<typeof evaluate>>
  weights: Float32Array
  stats: Float32Array
}

async function trainSteps(steps: number): Promise<Trained> {
  const model = createModel(spec)
  const { xs, labels } = colourBatch(12, 8)
  const losses: number[] = []
  for (let i = 0; i < steps; i++) {
    const { loss, gradients } = await computeGradients(model, xs, labels)
    losses.push(loss)
    const w = getWeights(model)
    for (let j = 0; j < w.length; j++) w[j]! -= 0.1 * gradients[j]!
    setWeights(model, w)
  }
  // Evaluation uses the running batch-norm statistics (another kernel path).
  const evaluation = await evaluate(model, xs, labels)
  const trained = { losses, evaluation, weights: getWeights(model), stats: getBatchNormStats(model) }
  dispose(model)
  return trained
}

/** Evaluates the same model state on the CPU backend, the reference. */
async function evaluateOnCpu(trained: Trained): Promise<Awaited<ReturnType<typeof evaluate>>> {
  await initBackend('cpu')
  const model = createModel(spec)
  setWeights(model, trained.weights)
  setBatchNormStats(model, trained.stats)
  const { xs, labels } = colourBatch(12, 8)
  const evaluation = await evaluate(model, xs, labels)
  dispose(model)
  return evaluation
}

const statuses = await listBackends()
const webgpu = statuses.find((s) => s.name === 'webgpu')!

describe('backends', () => {
  it('lists cuda, webgpu, wasm and cpu, each with a reason; wasm and cpu always work', () => {
    expect(statuses.map((s) => s.name)).toEqual(['cuda', 'webgpu', 'wasm', 'cpu'])
    for (const s of statuses) expect(s.reason, s.name).not.toBe('')
    expect(statuses.find((s) => s.name === 'wasm')!.available).toBe(true)
    expect(statuses.find((s) => s.name === 'cpu')!.available).toBe(true)
  })

  it('a named backend that is not available is refused with its reason', async () => {
    const missing = statuses.find((s) => !s.available)
    if (!missing) {
      console.log('skipped: every backend is available on this machine, none to refuse')
      return
    }
    await expect(initBackend(missing.name)).rejects.toThrow(new RegExp(`backend '${missing.name}' is not available`))
  })

  it('auto picks an available backend and says why; a software WebGPU adapter loses to wasm', async () => {
    const chosen = await initBackend('auto')
    expect(statuses.find((s) => s.name === chosen.name)!.available).toBe(true)
    expect(chosen.reason).toMatch(/fastest available/)
    expect(tf.getBackend()).toBe(chosen.name === 'cuda' ? 'tensorflow' : chosen.name)
    if (webgpu.available && webgpu.detail?.software) {
      expect(chosen.name).toBe('wasm')
      expect(chosen.reason).toMatch(/software Vulkan/)
    }
  })

  it('wasm trains: loss falls over a few SGD steps, and evaluates as the CPU backend does', async () => {
    await initBackend('wasm')
    const trained = await trainSteps(6)
    expect(trained.losses.at(-1)!).toBeLessThan(trained.losses[0]! * 0.8)
    const reference = await evaluateOnCpu(trained)
    expect(trained.evaluation.loss).toBeCloseTo(reference.loss, 4)
    expect(trained.evaluation.top1Correct).toBe(reference.top1Correct)
  })

  it.runIf(webgpu.available)(
    "webgpu trains: loss falls over a few SGD steps (on CI: Mesa's software Vulkan)",
    async () => {
      await initBackend('webgpu')
      const trained = await trainSteps(4)
      expect(trained.losses.at(-1)!).toBeLessThan(trained.losses[0]!)
      const reference = await evaluateOnCpu(trained)
      expect(trained.evaluation.loss).toBeCloseTo(reference.loss, 3)
    },
    240_000
  )
  if (!webgpu.available) it.skip(`webgpu trains (skipped: ${webgpu.reason})`, () => {})
})
