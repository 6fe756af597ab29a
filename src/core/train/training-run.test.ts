import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricPoint, TrainConfig } from '../../shared/contract/train'
import { generateDemo } from '../demo'
import { nodeProcessHost } from '../process'
import { initBackend } from './backends'
import { latestCheckpoint, readCheckpoint } from './checkpoint'
import { resolveTrainConfig } from './config'
import { readBatches, splitShardsByWorker } from './data-loader'
import { computeGradients, createModel } from './model'
import { applyUpdate, createOptimizerState } from './optimizer'
import { readMetrics, readSummary } from './runs'
import { runTraining } from './training-run'
import { diagnoseValidation } from './health'
import { expandPattern } from '../wds/patterns'

// Tiny on purpose (CI has 2 shared cores): 8×8 images, 4 classes, a few batches.
let root: string
let healthyDir: string
let faultyDir: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-train-'))
  healthyDir = join(root, 'demo')
  faultyDir = join(root, 'faulty')
  const demo = { train: 128, val: 32, classes: 4, size: 8, shardMaxcount: 32, seed: 3 }
  await generateDemo(healthyDir, demo)
  await generateDemo(faultyDir, { ...demo, faults: ['unnormalized-val'] })
}, 300_000)

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function config(dir: string, overrides: Partial<TrainConfig> = {}): Promise<TrainConfig> {
  return resolveTrainConfig({ datasetDir: dir, backend: 'cpu', workers: 2, epochs: 2, batch: 8, lr: 0.05, validateEvery: 0, shuffleBuffer: 32, seed: 1, ...overrides })
}

const of = <K extends MetricPoint['kind']>(points: MetricPoint[], kind: K) => points.filter((p): p is Extract<MetricPoint, { kind: K }> => p.kind === kind)

describe('simulated distributed training', () => {
  it('two async workers: training loss falls, validation beats chance, run folder complete and loadable', async () => {
    // Async updates are not deterministic (arrival order), so train long enough that
    // beating chance does not hinge on scheduling: 3 epochs × 8 batches per worker.
    const c = await config(healthyDir, { epochs: 3, lr: 0.02, maxBatchesPerEpoch: 8 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.error).toBeUndefined()
    expect(summary.status).toBe('finished')
    expect(summary.epochTrainLoss).toHaveLength(3)
    // Per-epoch means of 16 tiny async steps are noisy once the model has learned, so
    // compare with where training starts: chance-level loss, ln(4) for 4 classes.
    expect(summary.epochTrainLoss[2]!).toBeLessThan(Math.log(4))
    expect(summary.finalValidation!.top1).toBeGreaterThan(1 / 4)
    expect(summary.health.find((h) => h.name === 'validation-loss')!.passed).toBe(true)
    expect(summary.health.find((h) => h.name === 'checkpoints')!.passed).toBe(true)
    const { points } = await readMetrics(summary.dir)
    expect(new Set(of(points, 'step').map((p) => p.worker))).toEqual(new Set([0, 1]))
    const firstSteps = of(points, 'step').slice(0, 2)
    expect(firstSteps.reduce((a, p) => a + p.loss, 0) / 2).toBeGreaterThan(summary.epochTrainLoss[2]!)
    expect(of(points, 'validation').filter((p) => p.reason === 'epoch')).toHaveLength(3)
    expect((await readSummary(summary.dir))!.id).toBe(summary.id)
    expect(JSON.parse(await readFile(join(summary.dir, 'config.json'), 'utf8')).workers).toBe(2)
    const ckpt = await readCheckpoint((await latestCheckpoint(summary.dir))!)
    expect(ckpt.version).toBe(summary.updates)
    expect(ckpt.optimizer.buffers[0]!.length).toBe(ckpt.weights.length)
  }, 300_000)

  it('a pattern that leaves out a shard of its folder is a warning from the start, though the run itself is healthy', async () => {
    const c = await config(healthyDir, { train: 'train/train-{000000..000002}.tar', workers: 1, epochs: 1, maxBatchesPerEpoch: 1 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.status).toBe('finished')
    expect(summary.warnings).toEqual([
      `the training pattern covers 3 of 4 shards in ${join(healthyDir, 'train')}; not read: train-000003.tar; use train/train-{000000..000003}.tar`
    ])
    const { points } = await readMetrics(summary.dir)
    expect(points[0]).toMatchObject({ kind: 'warning', message: summary.warnings[0] })
  }, 300_000)

  it('sync with one worker equals plain sequential SGD for the same seed', async () => {
    const c = await config(healthyDir, { workers: 1, mode: 'sync', epochs: 1, maxBatchesPerEpoch: 3, momentum: 0.9 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.status).toBe('finished')
    const served = await readCheckpoint((await latestCheckpoint(summary.dir))!)

    await initBackend('cpu')
    const model = createModel({ kind: c.model, inputShape: c.imageShape, classes: c.classes, seed: c.seed })
    const weights = model.state.weights.slice()
    const state = createOptimizerState('sgd', weights.length)
    const shards = splitShardsByWorker(expandPattern(c.train, { baseDir: c.datasetDir }), 0, 1)
    const losses: number[] = []
    for await (const batch of readBatches(
      { imageField: c.imageField, labelField: c.labelField, classes: c.classes, imageShape: c.imageShape, normalization: c.normalization },
      { shards, batchSize: c.batch, epoch: 0, seed: c.seed, worker: 0, shuffleBuffer: c.shuffleBuffer, maxBatches: 3 }
    )) {
      const { setWeights } = await import('./model')
      setWeights(model, weights)
      const r = await computeGradients(model, batch.xs, batch.labels, { updateRunningStats: false })
      losses.push(r.loss)
      applyUpdate(weights, r.gradients, state, { kind: 'sgd', momentum: 0.9 }, c.lr)
    }
    const { points } = await readMetrics(summary.dir)
    expect(of(points, 'step').map((p) => p.loss)).toEqual(losses.map((l) => expect.closeTo(l, 5)))
    let maxDiff = 0
    for (let i = 0; i < weights.length; i++) maxDiff = Math.max(maxDiff, Math.abs(weights[i]! - served.weights[i]!))
    expect(maxDiff).toBeLessThan(1e-5)
  }, 300_000)

  it('a slow worker in async mode pushes updates with staleness of at least the fast workers’ extra steps', async () => {
    const c = await config(healthyDir, { workers: 2, epochs: 1, speed: [1, 0.25], maxBatchesPerEpoch: 3 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    const { points } = await readMetrics(summary.dir)
    const slow = of(points, 'update').filter((u) => u.worker === 1)
    // Worker 0 (5× faster) gets several updates in while worker 1 computes one.
    expect(Math.max(...slow.map((u) => u.staleness))).toBeGreaterThanOrEqual(2)
    expect(summary.staleness.max).toBeGreaterThanOrEqual(2)
  }, 300_000)

  it('a crashed worker is reported and the run goes on with the others', async () => {
    const c = await config(healthyDir, { workers: 2, epochs: 1, crash: [{ worker: 1, step: 2 }], maxBatchesPerEpoch: 2 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.status).toBe('finished')
    expect(summary.crashes).toEqual([{ worker: 1, step: 2, code: 3 }])
    const { points } = await readMetrics(summary.dir)
    expect(of(points, 'step').filter((p) => p.worker === 0)).toHaveLength(2)
    expect(of(points, 'step').filter((p) => p.worker === 1)).toHaveLength(1)
    expect(summary.warnings.join('\n')).toMatch(/worker 1 in step 2 \(exit code 3, planned\)/)
  }, 300_000)

  it('with restarts, every planned crash of a worker happens, earliest first, and the restarted worker finishes its batches', async () => {
    const c = await config(healthyDir, { workers: 2, epochs: 1, crash: [{ worker: 1, step: 4 }, { worker: 1, step: 2 }], restart: 'always', maxBatchesPerEpoch: 5 })
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.status).toBe('finished')
    expect(summary.crashes).toEqual([
      { worker: 1, step: 2, code: 3 },
      { worker: 1, step: 4, code: 3 }
    ])
    const { points } = await readMetrics(summary.dir)
    expect(of(points, 'step').filter((p) => p.worker === 1).map((p) => p.step)).toEqual([1, 2, 3, 4, 5])
  }, 300_000)

  it('1-based validation labels are named as the cause of bad validation (they are skipped as out of range), not stale updates', async () => {
    const dir = join(root, 'label-offset')
    await generateDemo(dir, { train: 64, val: 32, classes: 4, size: 8, shardMaxcount: 32, seed: 3, faults: ['label-offset'] })
    const c = await config(dir)
    const shards = (cfg: TrainConfig, pattern: string) => expandPattern(pattern, { baseDir: cfg.datasetDir })
    const causes = await diagnoseValidation({ config: c, trainShards: shards(c, c.train), valShards: shards(c, c.val) })
    expect(causes.join('\n')).toMatch(/^8 of 32 validation labels read are outside 0…3 \(found 1…4\): they look 1-based; subtract 1/m)
    expect(causes.join('\n')).not.toMatch(/no data problem found/)
    // The healthy demo's labels raise nothing.
    const healthy = await config(healthyDir)
    expect((await diagnoseValidation({ config: healthy, trainShards: shards(healthy, healthy.train), valShards: shards(healthy, healthy.val) })).join('\n')).not.toMatch(/validation labels/)
  }, 120_000)

  it('unnormalized-val data: the validation-loss health check fails and names normalisation', async () => {
    const c = await config(faultyDir, { workers: 1, epochs: 1, maxBatchesPerEpoch: 2 })
    expect(c.valImageField).toBe('npy')
    const summary = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(summary.healthy).toBe(false)
    const check = summary.health.find((h) => h.name === 'validation-loss')!
    expect(check.passed).toBe(false)
    expect(check.causes.join(' ')).toMatch(/not normalised like training inputs \(val mean \d/)
  }, 300_000)

  it('resume continues the curve: step numbers go on and the loss picks up where it stopped', async () => {
    const c = await config(healthyDir, { workers: 1, mode: 'sync', epochs: 1, maxBatchesPerEpoch: 3 })
    const first = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    const before = of((await readMetrics(first.dir)).points, 'step')
    const resumed = await runTraining({ host: nodeProcessHost, resumeDir: first.dir, resumeEpochs: 2 })
    expect(resumed.status).toBe('finished')
    const after = of((await readMetrics(first.dir)).points, 'step').slice(before.length)
    expect(after.map((p) => p.step)).toEqual([4, 5, 6])
    expect(after.every((p) => p.epoch === 1)).toBe(true)
    // Picks up near the end of the first run, not at the untrained start.
    const lastBefore = before.at(-1)!.loss
    expect(Math.abs(after[0]!.loss - lastBefore)).toBeLessThan(Math.abs(after[0]!.loss - before[0]!.loss) + 0.5)
    expect(resumed.updates).toBe(6)
  }, 300_000)

  it('resume after a kill: the points after the checkpoint are replaced, not repeated, and leftovers are cleared', async () => {
    const c = await config(healthyDir, { workers: 1, mode: 'sync', epochs: 2, maxBatchesPerEpoch: 3 })
    const run = await runTraining({ host: nodeProcessHost, config: c, runsDir: join(root, 'runs') })
    expect(of((await readMetrics(run.dir)).points, 'step').map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6])
    // As if killed after update 6 but before its checkpoint was written, mid-way through a
    // metric line and through rewriting the summary: the latest checkpoint is the epoch-0 one (version 3).
    const checkpoints = join(run.dir, 'checkpoints')
    const ckpts = (await readdir(checkpoints)).sort()
    for (const name of ckpts.slice(1)) await rm(join(checkpoints, name))
    expect((await readCheckpoint((await latestCheckpoint(run.dir))!)).version).toBe(3)
    await appendFile(join(run.dir, 'metrics.jsonl'), '{"kind":"step","t":1,"wor')
    await writeFile(join(run.dir, 'summary.json.4242.tmp'), '{"id":')
    await writeFile(join(checkpoints, 'step-000009.ckpt.4242.tmp'), 'partial')
    const before = (await readSummary(run.dir))!

    const resumed = await runTraining({ host: nodeProcessHost, resumeDir: run.dir })
    expect(resumed.status).toBe('finished')
    const text = await readFile(join(run.dir, 'metrics.jsonl'), 'utf8')
    // Every line whole and valid: the half-written one did not swallow the next point.
    expect(text.split('\n').slice(0, -1).every((line) => !!JSON.parse(line))).toBe(true)
    const { points } = await readMetrics(run.dir)
    expect(of(points, 'step').map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(of(points, 'update').map((p) => p.version)).toEqual([1, 2, 3, 4, 5, 6])
    expect(of(points, 'epoch').map((p) => p.epoch)).toEqual([0, 1])
    expect(resumed.updates).toBe(6)
    expect(resumed.samples).toBe(6 * 8)
    expect(await readdir(run.dir)).not.toContain('summary.json.4242.tmp')
    expect(await readdir(checkpoints)).not.toContain('step-000009.ckpt.4242.tmp')
    // One run, started once: its start stays, and its time adds up over both sessions.
    expect(resumed.startedAt).toBe(before.startedAt)
    expect(resumed.seconds).toBeGreaterThan(before.seconds)
  }, 300_000)
})
