/**
 * A training run, orchestrated from the parent process: starts the parameter server
 * and N workers through the ProcessHost, relays their messages (protocol.ts), writes
 * the run folder (config.json, metrics.jsonl, summary.json; the server writes
 * checkpoints/), handles crashes and the restart policy, and ends with health checks.
 * No tensors here: heavy work stays in the child processes.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import type { MetricPoint, RunSummary, TrainConfig } from '../../shared/contract/train'
import type { ChildHandle, ProcessHost } from '../process/host'
import { expandPattern } from '../wds/patterns'
import { missingBackendPackage } from './backends/installed'
import { latestCheckpoint, readCheckpoint } from './checkpoint'
import { TrainConfigError } from './config'
import { splitShardsByWorker } from './data-loader'
import { checkHealth, coverageProblems } from './health'
import type { FromServer, FromWorker, ResumeState, RunSetup, ToServer, ToWorker } from './protocol'
import { CONFIG_FILE, createRunDir, METRICS_FILE, prepareResume, readRunConfig, SUMMARY_FILE, writeJsonAtomic, writeJsonAtomicSync } from './runs'
import { SIMULATED_CRASH_EXIT_CODE } from './simulation'

export interface TrainingRunOptions {
  host: ProcessHost
  /** A new run: its config and the folder runs go under. */
  config?: TrainConfig
  runsDir?: string
  /** Continue the run in this folder from its latest checkpoint. */
  resumeDir?: string
  /** With resumeDir: train up to this many epochs in all (to continue a finished run). */
  resumeEpochs?: number
  /** Every metric point as it arrives (the service batches them for the UI). */
  onPoints?: (points: MetricPoint[]) => void
  /** Called once the run folder exists. */
  onStart?: (run: { id: string; dir: string }) => void
  /**
   * The running summary: once the run folder exists, and again once the parameter server
   * is up, when `auto` has become the backend the run uses.
   */
  onRunning?: (summary: RunSummary) => void
  /** Stops the run: workers end, the server writes a checkpoint to resume from, the summary says 'stopped'. */
  signal?: AbortSignal
  /**
   * Stops it at once (a second Ctrl-C): every process is killed and the 'stopped' summary
   * written before abort() returns, so the caller may exit the next moment.
   */
  quitSignal?: AbortSignal
}

const MAX_RESTARTS_ALWAYS = 10
/** How long a stop waits for the server's checkpoint (behind a validation in progress, say) before it gives up on it. */
const STOP_CHECKPOINT_MS = 30_000
const MAX_SKIP_WARNINGS = 5

interface WorkerSlot {
  handle: ChildHandle | null
  step: number
  epoch: number
  batchesInEpoch: number
  restarts: number
  state: 'running' | 'done' | 'gone'
  /** Counted at the start line: ready (backend up, shards assigned) or exited before that. */
  atStartLine: boolean
  /** The step this life of the worker was told to crash in, if any. */
  plannedCrash: number | null
}

export async function runTraining(o: TrainingRunOptions): Promise<RunSummary> {
  let config: TrainConfig
  let run: { id: string; dir: string }
  let resume: ResumeState | undefined
  let earlier: MetricPoint[] = []
  /** A resumed run's summary before this session: its start and time spent carry on. */
  let previous: RunSummary | null = null
  if (o.resumeDir) {
    config = await readRunConfig(o.resumeDir)
    if (o.resumeEpochs !== undefined && o.resumeEpochs > config.epochs) {
      config = { ...config, epochs: o.resumeEpochs }
      await writeJsonAtomic(join(o.resumeDir, CONFIG_FILE), config)
    }
    run = { id: o.resumeDir.split('/').filter(Boolean).pop()!, dir: o.resumeDir }
    const ckpt = await latestCheckpoint(o.resumeDir)
    if (!ckpt) throw new TrainConfigError(`${o.resumeDir} has no checkpoint to resume from: the run ended before it wrote one (start it again as a new run)`)
    resume = await readCheckpoint(ckpt)
    const prepared = await prepareResume(o.resumeDir, resume.version)
    earlier = prepared.kept
    previous = prepared.previous
  } else {
    if (!o.config || !o.runsDir) throw new Error('runTraining needs a config and a runs folder, or a run folder to resume')
    config = o.config
    // A backend that cannot start here fails before a run folder is made for it.
    const missing = missingBackendPackage(config.backend)
    if (missing) throw new TrainConfigError(`backend '${config.backend}' is not available: ${missing}`)
    run = await createRunDir(o.runsDir)
    await writeJsonAtomic(join(run.dir, CONFIG_FILE), config)
  }
  o.onStart?.(run)
  const base = config.base ?? config.datasetDir ?? process.cwd()
  const setup: RunSetup = {
    config,
    runDir: run.dir,
    trainShards: expandPattern(config.train, { baseDir: base }),
    valShards: expandPattern(config.val, { baseDir: base })
  }
  const metrics: WriteStream = createWriteStream(join(run.dir, METRICS_FILE), { flags: 'a' })
  const startedAt = previous?.startedAt ?? new Date().toISOString()
  const t0 = performance.now()
  const all: MetricPoint[] = [...earlier]
  const warnings: string[] = []
  const crashes: RunSummary['crashes'] = []
  let backend = config.backend as string
  let weightCount = 0
  let skippedSamples = 0
  let samplesThisSession = 0
  /** A checkpoint exists in the run folder (a resumed run started from one). */
  let hasCheckpoint = resume !== undefined
  const record = (points: MetricPoint[]) => {
    if (points.length === 0) return
    for (const p of points) {
      metrics.write(JSON.stringify(p) + '\n')
      all.push(p)
      if (p.kind === 'warning') warnings.push(p.message)
      if (p.kind === 'checkpoint') hasCheckpoint = true
    }
    o.onPoints?.(points)
  }
  const warn = (message: string) => record([{ kind: 'warning', t: Date.now(), message }])

  // Said before the first step, not only if validation goes wrong: a run on half its data can look healthy.
  for (const problem of coverageProblems(setup.trainShards, setup.valShards)) warn(problem)
  for (let w = 0; w < config.workers; w++) {
    if (splitShardsByWorker(setup.trainShards, w, config.workers).length === 0) {
      warn(`worker ${w} gets no shards: ${setup.trainShards.length} training shards for ${config.workers} workers (split_by_worker gives shard i to worker i mod N); it does nothing`)
    }
  }

  /** Once set (the run was quit at once), the summary on disk is final: later calls return it unchanged. */
  let final: RunSummary | null = null
  // Written synchronously: each write lands whole and in order, even when the process is ended right after.
  const summarise = (status: RunSummary['status'], extra: Partial<RunSummary> = {}): RunSummary => {
    if (final) return final
    const updates = all.filter((p): p is Extract<MetricPoint, { kind: 'update' }> => p.kind === 'update')
    const steps = all.filter((p): p is Extract<MetricPoint, { kind: 'step' }> => p.kind === 'step')
    const histogram: Record<string, number> = {}
    for (const u of updates) histogram[u.staleness] = (histogram[u.staleness] ?? 0) + 1
    const vals = all.filter((p): p is Extract<MetricPoint, { kind: 'validation' }> => p.kind === 'validation')
    const last = vals.at(-1)
    const seconds = (performance.now() - t0) / 1000
    const summary: RunSummary = {
      id: run.id,
      dir: run.dir,
      status,
      startedAt,
      config,
      backend,
      updates: updates.length > 0 ? Math.max(...updates.map((u) => u.version)) : 0,
      samples: steps.reduce((a, s) => a + s.samples, 0),
      // Wall time of the run's sessions (one killed before it could write its summary is not counted); the rate is this session's.
      seconds: (previous?.seconds ?? 0) + seconds,
      samplesPerSecond: seconds > 0 ? samplesThisSession / seconds : 0,
      finalValidation: last ? { loss: last.loss, top1: last.top1, top5: last.top5 } : undefined,
      epochTrainLoss: epochLosses(steps, config.epochs),
      staleness: {
        mean: updates.length > 0 ? updates.reduce((a, u) => a + u.staleness, 0) / updates.length : 0,
        max: updates.reduce((a, u) => Math.max(a, u.staleness), 0),
        histogram
      },
      crashes,
      warnings: skippedSamples > 0 ? [...warnings, `${skippedSamples} training samples were skipped (could not be used)`] : warnings,
      health: [],
      healthy: false,
      resumable: hasCheckpoint,
      ...extra
    }
    writeJsonAtomicSync(join(run.dir, SUMMARY_FILE), summary)
    return summary
  }
  const running = (): void => o.onRunning?.(summarise('running'))
  running()

  const server = o.host.spawn('parameter-server', { name: `parameter server (${run.id})` })
  const workers: WorkerSlot[] = Array.from({ length: config.workers }, (_, w) => ({
    handle: null,
    step: resume?.workerSteps[w] ?? 0,
    epoch: resume?.workerEpochs[w]?.epoch ?? 0,
    batchesInEpoch: resume?.workerEpochs[w]?.batchesInEpoch ?? 0,
    restarts: 0,
    state: 'running',
    atStartLine: false,
    plannedCrash: null
  }))
  const toServer = (m: ToServer) => server.send(m)
  // Workers start together: first pulls are held until every worker is ready (or gone), so
  // process start-up and backend loading — seconds apart on a loaded machine — do not
  // decide who runs ahead. Staleness then comes from the simulated speeds and the compute.
  const heldPulls: number[] = []
  const allAtStartLine = () => workers.every((slot) => slot.atStartLine)
  const reachStartLine = (slot: WorkerSlot) => {
    if (slot.atStartLine) return
    slot.atStartLine = true
    if (allAtStartLine()) for (const w of heldPulls.splice(0)) toServer({ type: 'pull', worker: w })
  }
  let fail: (err: Error) => void = () => {}
  let finishServer: (m: Extract<FromServer, { type: 'finished' }>) => void = () => {}
  const failed = new Promise<never>((_, reject) => (fail = reject))
  failed.catch(() => undefined)
  const finished = new Promise<Extract<FromServer, { type: 'finished' }>>((resolve) => (finishServer = resolve))
  let serverCheckpointed: (path: string) => void = () => {}
  const checkpointed = new Promise<string>((resolve) => (serverCheckpointed = resolve))
  let serverExited: () => void = () => {}
  const serverGone = new Promise<null>((resolve) => (serverExited = () => resolve(null)))
  let isReady = false
  let serverReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (serverReady = resolve))
  let ending = false

  server.onMessage((raw) => {
    const m = raw as FromServer
    if (m.type === 'ready') {
      backend = m.backend
      weightCount = m.weightCount
      for (const w of m.warnings) warn(w)
      isReady = true
      serverReady()
    } else if (m.type === 'weights') {
      workers[m.worker]?.handle?.send({ type: 'weights', version: m.version, weights: m.weights, batchNormStats: m.batchNormStats } satisfies ToWorker)
    } else if (m.type === 'points') {
      record(m.points)
      for (const p of m.points) if (p.kind === 'validation' && p.reason === 'epoch') record([epochPoint(p.epoch)])
    } else if (m.type === 'finished') finishServer(m)
    else if (m.type === 'checkpointed') serverCheckpointed(m.path)
    else if (m.type === 'error') fail(new Error(`parameter server: ${m.message}`))
  })
  server.onExit((code) => {
    serverExited()
    if (!ending) fail(new Error(`the parameter server process ended unexpectedly (exit code ${code})`))
  })

  const epochPoint = (epoch: number): MetricPoint => {
    const steps = all.filter((p): p is Extract<MetricPoint, { kind: 'step' }> => p.kind === 'step' && p.epoch === epoch)
    const loss = steps.length > 0 ? steps.reduce((a, s) => a + s.loss, 0) / steps.length : NaN
    const seconds = (performance.now() - t0) / 1000
    return { kind: 'epoch', t: Date.now(), epoch, trainLoss: loss, samplesPerSecond: seconds > 0 ? samplesThisSession / seconds : 0 }
  }

  let allDone: () => void = () => {}
  const workersDone = new Promise<void>((resolve) => (allDone = resolve))
  const checkAllDone = () => {
    if (workers.every((w) => w.state !== 'running')) allDone()
  }

  // Planned crashes already carried out, as `worker@step`: a restarted worker redoes the step it
  // died in, and must not die there again; its later planned crashes still happen, earliest first.
  const crashesDone = new Set<string>()
  const crashStep = (w: number): number | null => {
    const next = config.crash
      .filter((c) => c.worker === w && c.step > workers[w]!.step && !crashesDone.has(`${w}@${c.step}`))
      .sort((a, b) => a.step - b.step)[0]
    return next ? next.step : null
  }

  const startWorker = (w: number) => {
    const slot = workers[w]!
    const handle = o.host.spawn('worker', { name: `worker ${w} (${run.id})` })
    slot.handle = handle
    slot.state = 'running'
    handle.onMessage((raw) => {
      // A killed worker's last messages may still arrive: once the run ends, nothing more goes to the server.
      if (ending) return
      const m = raw as FromWorker
      switch (m.type) {
        case 'pull':
          if (!allAtStartLine()) heldPulls.push(w)
          else toServer({ type: 'pull', worker: w })
          break
        case 'push':
          slot.step = m.step
          slot.batchesInEpoch++
          samplesThisSession += m.samples
          toServer({ type: 'push', worker: w, version: m.version, step: m.step, gradients: m.gradients, batchNormStats: m.batchNormStats })
          record([{ kind: 'step', t: Date.now(), worker: w, step: m.step, epoch: m.epoch, loss: m.loss, samples: m.samples, computeMs: m.computeMs }])
          break
        case 'epoch-end':
          slot.epoch = m.epoch + 1
          slot.batchesInEpoch = 0
          toServer({ type: 'epoch-end', worker: w, epoch: m.epoch, batchesInEpoch: m.batchesInEpoch })
          break
        case 'skipped':
          skippedSamples++
          if (skippedSamples <= MAX_SKIP_WARNINGS) warn(`worker ${w} skipped sample ${m.key || '(unknown)'} of ${m.url}: ${m.reason}`)
          break
        case 'done':
          slot.state = 'done'
          toServer({ type: 'worker-gone', worker: w, finished: true })
          checkAllDone()
          break
        case 'error':
          warn(`worker ${w} stopped: ${m.message}`)
          break
        case 'ready':
          reachStartLine(slot)
          break
      }
    })
    handle.onExit((code) => {
      if (slot.handle !== handle || slot.state === 'done' || ending) return
      reachStartLine(slot)
      if (code === SIMULATED_CRASH_EXIT_CODE && slot.plannedCrash !== null) crashesDone.add(`${w}@${slot.plannedCrash}`)
      const canRestart = config.restart === 'always' ? slot.restarts < MAX_RESTARTS_ALWAYS : config.restart === 'once' ? slot.restarts < 1 : false
      // The step it was working on when it died (a planned crash at step t dies in step t, after t − 1 complete).
      crashes.push({ worker: w, step: slot.step + 1, code })
      record([{ kind: 'crash', t: Date.now(), worker: w, step: slot.step + 1, code, restarted: canRestart }])
      toServer({ type: 'worker-gone', worker: w, finished: false })
      if (canRestart) {
        slot.restarts++
        toServer({ type: 'worker-back', worker: w })
        startWorker(w)
      } else {
        slot.state = 'gone'
        checkAllDone()
      }
    })
    handle.send({
      type: 'init',
      // The server has already resolved 'auto'; workers take its answer instead of each
      // probing every backend again (a Dawn start-up per process, seconds under load).
      setup: { ...setup, config: { ...setup.config, backend: backend as typeof setup.config.backend } },
      worker: w,
      startEpoch: slot.epoch,
      skipBatches: slot.batchesInEpoch,
      step: slot.step,
      crashAtStep: (slot.plannedCrash = crashStep(w))
    } satisfies ToWorker)
  }

  /** No more pushes: every worker ends. */
  const stopWorkers = () => {
    ending = true
    for (const w of workers) w.handle?.kill()
  }
  const stopAll = () => {
    stopWorkers()
    server.kill()
  }
  const aborted = new Promise<'stopped'>((resolve) => {
    if (o.signal?.aborted) resolve('stopped')
    o.signal?.addEventListener('abort', () => resolve('stopped'), { once: true })
    o.quitSignal?.addEventListener('abort', () => resolve('stopped'), { once: true })
  })
  const quit = new Promise<null>((resolve) => {
    const quitNow = () => {
      stopAll()
      final = summarise('stopped', { endedAt: new Date().toISOString() })
      resolve(null)
    }
    if (o.quitSignal?.aborted) quitNow()
    else o.quitSignal?.addEventListener('abort', quitNow, { once: true })
  })

  /**
   * The stop path: workers end first (no more pushes), then the server checkpoints the
   * weights as they are, behind any message it is still handling, so the run can be
   * resumed. Null when that cannot be had: the server not started yet, gone, too slow.
   */
  const checkpointOnStop = async (): Promise<string | null> => {
    if (o.quitSignal?.aborted) return null
    stopWorkers()
    if (!isReady) return null
    toServer({ type: 'checkpoint' })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STOP_CHECKPOINT_MS)))
    try {
      return await Promise.race([checkpointed, serverGone, quit, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  try {
    toServer({ type: 'init', setup, resume })
    if ((await Promise.race([ready, failed, aborted])) === 'stopped') throw new StopRequest()
    running()
    for (let w = 0; w < config.workers; w++) startWorker(w)
    if ((await Promise.race([workersDone, failed, aborted])) === 'stopped') throw new StopRequest()
    toServer({ type: 'finish' })
    const end = await Promise.race([finished, failed, aborted])
    if (end === 'stopped') throw new StopRequest()
    ending = true
    server.kill()
    const epochs = all.filter((p): p is Extract<MetricPoint, { kind: 'step' }> => p.kind === 'step')
    const last = all.filter((p): p is Extract<MetricPoint, { kind: 'validation' }> => p.kind === 'validation').at(-1)
    const health = await checkHealth({
      config,
      finalValidation: last ? { loss: last.loss, top1: last.top1, top5: last.top5 } : undefined,
      epochTrainLoss: epochLosses(epochs, config.epochs),
      stepLosses: epochs.map((s) => s.loss),
      checkpoint: end.checkpoint,
      weightCount,
      trainShards: setup.trainShards,
      valShards: setup.valShards
    })
    if (crashes.length > 0) warn(`${crashes.length} worker crash(es): ${crashes.map((c) => `worker ${c.worker} in step ${c.step} (exit code ${c.code}${c.code === SIMULATED_CRASH_EXIT_CODE ? ', planned' : ''})`).join('; ')}`)
    return summarise('finished', { endedAt: new Date().toISOString(), health, healthy: health.every((h) => h.passed) })
  } catch (err) {
    if (err instanceof StopRequest) {
      await checkpointOnStop()
      stopAll()
      return summarise('stopped', { endedAt: new Date().toISOString() })
    }
    stopAll()
    return summarise('failed', { endedAt: new Date().toISOString(), error: (err as Error).message })
  } finally {
    stopAll()
    await new Promise<void>((resolve) => metrics.end(resolve))
  }
}

class StopRequest extends Error {}

/** Mean training loss of each epoch that has steps. */
function epochLosses(steps: Extract<MetricPoint, { kind: 'step' }>[], epochs: number): number[] {
  const out: number[] = []
  for (let e = 0; e < epochs; e++) {
    const s = steps.filter((p) => p.epoch === e)
    if (s.length > 0) out.push(s.reduce((a, p) => a + p.loss, 0) / s.length)
  }
  return out
}
