import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { initBackend } from './index'
import { computeGradients, createModel, dispose } from '../model'

const spec = { kind: 'small-cnn' as const, inputShape: [16, 16, 3] as [number, number, number], classes: 4, seed: 5 }
const n = 8
const xs = new Float32Array(n * 16 * 16 * 3).map((_, i) => Math.sin(i * 0.37))
const labels = new Int32Array(n).map((_, i) => i % 4)

describe('WASM with XNNPACK threads (threaded SIMD build under Node)', () => {
  it('starts with 2 threads in a fresh process and computes the same gradients as the single-threaded build', async () => {
    // The WASM build is chosen once per process, so the threaded one runs in a child.
    const script = `
      import { initBackend } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))}
      import { computeGradients, createModel } from ${JSON.stringify(fileURLToPath(new URL('../model.ts', import.meta.url)))}
      const chosen = await initBackend('wasm', { wasmThreads: 2 })
      const xs = new Float32Array(${xs.length}).map((_, i) => Math.sin(i * 0.37))
      const labels = new Int32Array(${n}).map((_, i) => i % 4)
      const { loss, gradients } = await computeGradients(createModel(${JSON.stringify(spec)}), xs, labels)
      process.stdout.write(JSON.stringify({ threads: chosen.detail.threads, reason: chosen.reason, loss, gradients: Array.from(gradients) }) + '\\n', () => process.exit(0))`
    const dir = mkdtempSync(join(os.tmpdir(), 'shardscope-wasm-threads-'))
    let stdout: string
    try {
      writeFileSync(join(dir, 'threaded.mts'), script)
      stdout = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'threaded.mts')], { encoding: 'utf8', timeout: 60_000 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const threaded = JSON.parse(stdout.trim().split('\n').pop()!) as { threads: number; reason: string; loss: number; gradients: number[] }
    expect(threaded.threads, threaded.reason).toBe(2)
    expect(threaded.reason).toMatch(/2 threads/)

    await initBackend('wasm')
    const model = createModel(spec)
    const single = await computeGradients(model, xs, labels)
    dispose(model)
    expect(threaded.loss).toBeCloseTo(single.loss, 5)
    let worst = 0
    let scale = 1e-6
    single.gradients.forEach((g, i) => {
      worst = Math.max(worst, Math.abs(g - threaded.gradients[i]!))
      scale = Math.max(scale, Math.abs(g))
    })
    expect(worst / scale).toBeLessThan(1e-5)
  }, 90_000)
})
