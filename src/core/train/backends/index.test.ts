import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend, listBackends } from './index'
import { computeGradients, createModel, dispose, getWeights, setWeights } from '../model'

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

async function trainSteps(steps: number): Promise<number[]> {
  const model = createModel({ kind: 'small-cnn', inputShape: [8, 8, 3], classes: 3, seed: 11 })
  const { xs, labels } = colourBatch(12, 8)
  const losses: number[] = []
  for (let i = 0; i < steps; i++) {
    const { loss, gradients } = await computeGradients(model, xs, labels)
    losses.push(loss)
    const w = getWeights(model)
    for (let j = 0; j < w.length; j++) w[j]! -= 0.1 * gradients[j]!
    setWeights(model, w)
  }
  dispose(model)
  return losses
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

  it('wasm trains: loss falls over a few SGD steps', async () => {
    await initBackend('wasm')
    const losses = await trainSteps(6)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8)
  })

  it.runIf(webgpu.available)(
    "webgpu trains: loss falls over a few SGD steps (on CI: Mesa's software Vulkan)",
    async () => {
      await initBackend('webgpu')
      const losses = await trainSteps(4)
      expect(losses.at(-1)!).toBeLessThan(losses[0]!)
    },
    240_000
  )
  if (!webgpu.available) it.skip(`webgpu trains (skipped: ${webgpu.reason})`, () => {})
})
