/**
 * Simulated distributed training: (1) scaling of training throughput (samples/s of the
 * whole run, measured from the workers' step timestamps, so process start-up and
 * validation loading are excluded) from 1 to 2 and 4 async workers on demo data;
 * (2) parameter-server updates/s: the optimizer path on the small CNN's flat weights in
 * one process (SGD and Adam, async and sync-of-4), and one pull+push round trip of
 * those weights through a child process (the IPC part of every update).
 *
 * The baseline is the 1-worker run in the same process tree: on a 2-core machine, 2
 * and 4 workers share the same cores, so ideal scaling is ≈ ×cores, not ×workers.
 *
 * Last stdout line: one JSON object. SHARDSCOPE_BENCH_QUICK=1: 16×16 images, few steps.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import type { MetricPoint } from '../src/shared/contract/train'
import { generateDemo } from '../src/core/demo'
import { nodeProcessHost } from '../src/core/process'
import { resolveTrainConfig, runTraining } from '../src/core/train'
import { createModel } from '../src/core/train/model'
import { ParameterServer } from '../src/core/train/parameter-server'

const quick = process.env.SHARDSCOPE_BENCH_QUICK === '1'
const size = quick ? 16 : 64
const batchesPerWorker = quick ? 5 : 8
const batch = quick ? 16 : 32
const work = mkdtempSync(join(os.tmpdir(), 'shardscope-bench-train-'))

async function scaling(): Promise<Record<string, unknown>> {
  const dir = join(work, 'demo')
  await generateDemo(dir, { train: quick ? 512 : 3000, val: quick ? 64 : 200, classes: 10, size, shardMaxcount: quick ? 64 : 300, seed: 0 })
  const out: Record<string, unknown> = {}
  let backend = ''
  for (const workers of [1, 2, 4]) {
    const config = await resolveTrainConfig({ datasetDir: dir, workers, mode: 'async', epochs: 1, batch, maxBatchesPerEpoch: batchesPerWorker, validateEvery: 0, valSamples: 64, backend: 'auto', seed: 1 })
    const points: MetricPoint[] = []
    const summary = await runTraining({ host: nodeProcessHost, config, runsDir: join(work, 'runs'), onPoints: (p) => points.push(...p) })
    backend = summary.backend
    const steps = points.filter((p): p is Extract<MetricPoint, { kind: 'step' }> => p.kind === 'step')
    // Steady state only: from the moment every worker has finished its first step (the
    // first step compiles the backend's kernels: seconds) to the last step.
    const firstOf = (w: number) => Math.min(...steps.filter((s) => s.worker === w).map((s) => s.t))
    const windowStart = Math.max(...Array.from({ length: workers }, (_, w) => firstOf(w)))
    const steady = steps.filter((s) => s.t > windowStart)
    const seconds = (Math.max(...steady.map((s) => s.t)) - windowStart) / 1000
    const samples = steady.reduce((a, s) => a + s.samples, 0)
    out[`workers${workers}`] = { status: summary.status, steps: steps.length, samplesPerSecond: +(samples / seconds).toFixed(2), meanComputeMs: Math.round(steps.reduce((a, s) => a + s.computeMs, 0) / steps.length), meanStaleness: +summary.staleness.mean.toFixed(2) }
  }
  const sps = (w: number) => (out[`workers${w}`] as { samplesPerSecond: number }).samplesPerSecond
  return { backend, imageSize: size, batch, batchesPerWorker, ...out, speedup2: +(sps(2) / sps(1)).toFixed(2), speedup4: +(sps(4) / sps(1)).toFixed(2) }
}

function serverUpdates(): Record<string, unknown> {
  const model = createModel({ kind: 'small-cnn', inputShape: [64, 64, 3], classes: 10, seed: 1 })
  const weights = model.state.weights
  const bn = model.state.runningStats
  const grads = new Float32Array(weights.length).fill(1e-4)
  const out: Record<string, unknown> = { weights: weights.length }
  for (const [name, kind, mode] of [['asyncSgd', 'sgd', 'async'], ['asyncAdam', 'adam', 'async'], ['sync4Sgd', 'sgd', 'sync']] as const) {
    const workers = mode === 'sync' ? [0, 1, 2, 3] : [0]
    const ps = new ParameterServer({ mode, staleness: 0, lr: 0.01, stalenessAwareLr: false, kind, momentum: 0.9 }, { weights, batchNormStats: bn }, workers)
    const n = quick ? 500 : 3000
    const t0 = performance.now()
    for (let i = 0; i < n; i++) for (const w of workers) ps.push({ worker: w, version: ps.version, gradients: grads, batchNormStats: bn })
    out[name] = Math.round(n / ((performance.now() - t0) / 1000))
  }
  return out
}

async function ipcRoundTrips(weightCount: number): Promise<number> {
  const child = nodeProcessHost.spawn('echo', { name: 'bench echo' })
  const replies: unknown[] = []
  let wake: () => void = () => {}
  child.onMessage((m) => {
    replies.push(m)
    wake()
  })
  const next = () => new Promise<void>((resolve) => (replies.length > 0 ? resolve() : (wake = resolve)))
  await next()
  replies.length = 0
  const weights = new Float32Array(weightCount)
  const n = quick ? 100 : 500
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    child.send({ weights })
    await next()
    replies.length = 0
  }
  const perSecond = n / ((performance.now() - t0) / 1000)
  child.kill()
  return Math.round(perSecond)
}

try {
  const ps = serverUpdates()
  const roundTrips = await ipcRoundTrips(ps.weights as number)
  const scale = await scaling()
  console.log(
    JSON.stringify({
      quick,
      cores: os.cpus().length,
      parameterServerUpdatesPerSecond: ps,
      weightRoundTripsPerSecondThroughChildProcess: roundTrips,
      scaling: scale,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      note: 'samples/s from step timestamps after every worker finished its first (kernel-compiling) step; each worker and the server are separate processes sharing the same cores, so on 2 cores 4 workers cannot beat ≈2× one worker'
    })
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
