/**
 * A training worker process: reads its shards (split_by_worker), and for each batch
 * pulls the weights, computes gradients with the model, and pushes them, through the
 * parent. Simulation knobs act here: its speed factor (sleeps after computing), the
 * simulated network (sleeps on each pull and push), and a planned crash (exits with a
 * non-zero code at the planned step).
 */
import { availableParallelism } from 'node:os'
import type { ParentPort } from '../process/host'
import { initBackend } from './backends'
import { readBatches, splitShardsByWorker, type ImageSpec } from './data-loader'
import { computeGradients, createModel, setBatchNormStats, setWeights } from './model'
import type { FromWorker, ToWorker } from './protocol'
import { SIMULATED_CRASH_EXIT_CODE, sleep, slowdownMs, transferMs } from './simulation'

export async function run(port: ParentPort): Promise<void> {
  const send = (m: FromWorker) => port.send(m)
  let waiting: ((m: Extract<ToWorker, { type: 'weights' }>) => void) | null = null
  let init: Extract<ToWorker, { type: 'init' }> | null = null
  let started: (() => void) | null = null
  port.onMessage((raw) => {
    const m = raw as ToWorker
    if (m.type === 'init') {
      init = m
      started?.()
    } else if (m.type === 'weights') waiting?.(m)
  })
  if (!init) await new Promise<void>((resolve) => (started = resolve))
  const msg = init as unknown as Extract<ToWorker, { type: 'init' }>
  try {
    await work(msg, send, () => new Promise((resolve) => (waiting = resolve)))
    send({ type: 'done' })
  } catch (err) {
    send({ type: 'error', message: (err as Error).message })
  }
  // Let the IPC channel drain, then leave.
  setTimeout(() => process.exit(0), 50)
}

async function work(
  msg: Extract<ToWorker, { type: 'init' }>,
  send: (m: FromWorker) => void,
  nextWeights: () => Promise<Extract<ToWorker, { type: 'weights' }>>
): Promise<void> {
  const { config } = msg.setup
  // XNNPACK threads: this worker's share of the cores (1 when workers ≥ cores, so
  // workers do not fight over them).
  const backend = await initBackend(config.backend, { wasmThreads: Math.max(1, Math.floor(availableParallelism() / config.workers)) })
  const spec: ImageSpec = {
    imageField: config.imageField,
    labelField: config.labelField,
    classes: config.classes,
    imageShape: config.imageShape,
    normalization: config.normalization
  }
  const shards = splitShardsByWorker(msg.setup.trainShards, msg.worker, config.workers)
  send({ type: 'ready', backend: backend.name, shards: shards.length })
  const model = createModel({ kind: config.model, inputShape: config.imageShape, classes: config.classes, seed: config.seed })
  const speed = config.speed[msg.worker] ?? 1
  let step = msg.step
  for (let epoch = msg.startEpoch; epoch < config.epochs; epoch++) {
    let inEpoch = epoch === msg.startEpoch ? msg.skipBatches : 0
    const batches = readBatches(spec, {
      shards,
      batchSize: config.batch,
      epoch,
      seed: config.seed,
      worker: msg.worker,
      shuffleBuffer: config.shuffleBuffer,
      skipBatches: inEpoch,
      maxBatches: config.maxBatchesPerEpoch,
      onSkip: (s) => send({ type: 'skipped', ...s })
    })
    for await (const batch of batches) {
      if (msg.crashAtStep !== null && step + 1 === msg.crashAtStep) process.exit(SIMULATED_CRASH_EXIT_CODE)
      send({ type: 'pull' })
      const weights = await nextWeights()
      await sleep(transferMs(weights.weights.byteLength, config.latencyMs, config.bandwidthMBps))
      setWeights(model, weights.weights)
      setBatchNormStats(model, weights.batchNormStats)
      const t0 = performance.now()
      const result = await computeGradients(model, batch.xs, batch.labels, { updateRunningStats: false })
      const computeMs = performance.now() - t0
      await sleep(slowdownMs(computeMs, speed) + transferMs(result.gradients.byteLength, config.latencyMs, config.bandwidthMBps))
      step++
      inEpoch++
      send({
        type: 'push',
        version: weights.version,
        step,
        gradients: result.gradients,
        batchNormStats: result.batchNormStats,
        loss: result.loss,
        samples: batch.size,
        computeMs,
        epoch
      })
    }
    send({ type: 'epoch-end', epoch, batchesInEpoch: inEpoch })
  }
}
