/**
 * `shardscope train [DATASET_DIR] --train PATTERN --val PATTERN --workers 4 --mode
 * async|sync|ssp …`: a simulated distributed training run (parameter server + workers
 * in child processes). Live progress: one line per validation on a pipe, a progress
 * bar on a terminal; --json prints the run summary. Exit 0 healthy, 1 a health check
 * failed, 2 usage error. Without a dataset or patterns it trains on the demo dataset.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode, isInteractive, printJson, progressBar, MAX_IMAGE_SIDE } from '../output'
import { defaultStateDir } from './serve'
import { MAX_WORKERS, type CrashSpec, type MetricPoint, type RunSummary, type TrainConfig } from '../../shared/contract/train'
import { MANIFEST_FILE } from '../../shared/manifest'
import { plural } from '../../shared/words'

interface TrainFlags {
  train?: string
  val?: string
  classes?: string
  imageShape?: string
  workers?: string
  mode?: string
  staleness?: string
  epochs?: string
  batch?: string
  lr?: string
  optimizer?: string
  stalenessLr?: boolean
  backend?: string
  model?: string
  speed?: string
  latencyMs?: string
  bandwidthMbps?: string
  crash?: string
  restart?: string
  seed?: string
  validateEvery?: string
  valSamples?: string
  maxBatches?: string
  runsDir?: string
  stateDir: string
  resume?: string
  json?: boolean
}

interface NumberRange {
  integer?: boolean
  min?: number
  above?: boolean
  max?: number
}

/**
 * A number flag, checked against its range here so the message names the flag: whole
 * numbers from `min` (or above `min` when `above`) up to `max`, or the largest whole number
 * a double holds exactly.
 */
function num(option: string, value: string | undefined, { integer = true, min = 0, above = false, max }: NumberRange = {}): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  const kind = integer ? 'a whole number' : 'a number'
  const range = max !== undefined ? `from ${min} to ${max}` : above ? `> ${min}` : `≥ ${min}`
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || (above ? n <= min : n < min) || (max !== undefined && n > max)) {
    throw new CliError(`${option} must be ${kind} ${range}, got "${value}"`)
  }
  if (integer && !Number.isSafeInteger(n)) throw new CliError(`${option} must be at most ${Number.MAX_SAFE_INTEGER}, got "${value}"`)
  return n
}

function oneOf<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${option} must be one of ${allowed.join(', ')}, got "${value}"`)
  return value as T
}

/** `2@30,0@100` → crash worker 2 at step 30 and worker 0 at step 100. */
export function parseCrashes(value: string | undefined): CrashSpec[] | undefined {
  if (value === undefined) return undefined
  return value.split(',').map((part) => {
    const m = /^(\d+)@(\d+)$/.exec(part.trim())
    if (!m) throw new CliError(`--crash takes WORKER@STEP (e.g. 2@30), got "${part}"`)
    const [worker, step] = [Number(m[1]), Number(m[2])]
    // Workers count from 0 (split_by_worker's numbering) and steps from 1 (a worker's first step is step 1).
    if (step < 1) throw new CliError(`--crash ${part.trim()}: the step must be 1 or more (steps count from 1: ${worker}@1 crashes worker ${worker} in its first step)`)
    if (!Number.isSafeInteger(step)) throw new CliError(`--crash ${part.trim()}: the step must be at most ${Number.MAX_SAFE_INTEGER}`)
    return { worker, step }
  })
}

/** `64x64x3` → [64, 64, 3]: height × width × channels, as dataset.json's imageShape. */
export function parseImageShape(value: string | undefined): [number, number, number] | undefined {
  if (value === undefined) return undefined
  const m = /^(\d+)[x×](\d+)[x×](\d+)$/.exec(value.trim())
  if (!m) throw new CliError(`--image-shape takes HEIGHTxWIDTHxCHANNELS (e.g. 64x64x3), got "${value}"`)
  const [h, w, c] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (!(h >= 1 && w >= 1 && h <= MAX_IMAGE_SIDE && w <= MAX_IMAGE_SIDE)) throw new CliError(`--image-shape ${value}: height and width must be 1 to ${MAX_IMAGE_SIDE} pixels`)
  // The data loader decodes to grey or RGB (alpha is dropped).
  if (c !== 1 && c !== 3) throw new CliError(`--image-shape ${value}: channels must be 1 (grey) or 3 (RGB), got ${c}`)
  return [h, w, c]
}

export function parseSpeeds(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined
  return value.split(',').map((s) => {
    const n = Number(s)
    if (!(n > 0)) throw new CliError(`--speed takes positive factors, one per worker (e.g. 1,1,0.5,1), got "${s}"`)
    return n
  })
}

export const registerTrain: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('train')
    .description('Simulated distributed training (parameter server + workers in their own processes) with live metrics and health checks.')
    .argument('[dataset]', 'dataset folder, with dataset.json or with --train, --val, --classes and --image-shape (default: the demo dataset)')
    .option('--train <pattern>', 'training shard pattern, relative to the dataset folder (default: from dataset.json)')
    .option('--val <pattern>', 'validation shard pattern, relative to the dataset folder (default: from dataset.json)')
    .option('--classes <n>', 'number of classes; labels are 0 … n − 1 (default: from dataset.json)')
    .option('--image-shape <HxWxC>', 'height x width x channels of every image, e.g. 64x64x3 (default: from dataset.json)')
    .option('--workers <n>', 'worker processes (default 4)')
    .option('--mode <mode>', 'async | sync | ssp (default async)')
    .option('--staleness <s>', 'SSP bound: most steps a worker may run ahead of the slowest (default 2)')
    .option('--epochs <n>', 'epochs (default 3)')
    .option('--batch <n>', 'batch size per worker (default 32)')
    .option('--lr <rate>', 'learning rate (default 0.05)')
    .option('--optimizer <name>', 'sgd (with momentum 0.9) | adam (default sgd)')
    .option('--staleness-lr', 'scale each update\'s learning rate by 1/(1+staleness)')
    .option('--backend <name>', 'auto | cuda | webgpu | wasm | cpu (default auto)')
    .option('--model <name>', 'small-cnn | resnet-small (default small-cnn)')
    .option('--speed <factors>', 'per-worker speed factors, e.g. 1,1,0.5,1')
    .option('--latency-ms <ms>', 'simulated network latency per pull and push')
    .option('--bandwidth-mbps <MBps>', 'simulated network bandwidth in MB/s (0 = unlimited)')
    .option('--crash <k@t>', 'crash worker k at step t (comma-separated for several)')
    .option('--restart <policy>', 'restart crashed workers: never | once | always (default never)')
    .option('--seed <n>', 'seed for weights, shuffling and shard order (default 1)')
    .option('--validate-every <k>', 'validate every k server updates (0 = at epoch ends only; default 50)')
    .option('--val-samples <n>', 'validate on at most n samples (default all)')
    .option('--max-batches <n>', 'at most n batches per worker per epoch (quick runs)')
    .option('--runs-dir <dir>', 'where run folders go (default <state-dir>/runs)')
    .option('--state-dir <dir>', 'ShardScope state folder (demo dataset, runs)', defaultStateDir())
    .option('--resume <runDir>', 'continue the run in this folder from its latest checkpoint')
    .option('--json', 'print the run summary as JSON')
    .action(async (dataset: string | undefined, flags: TrainFlags) => {
      const { resolveTrainConfig, runTraining } = await import('../../core/train')
      const { TrainConfigError } = await import('../../core/train/config')
      const stateDir = resolve(flags.stateDir)
      let config: TrainConfig | undefined
      if (!flags.resume) {
        let datasetDir = dataset ? resolve(dataset) : undefined
        if (!datasetDir && !flags.train) {
          // The demo run must finish in a few minutes on 2 cores: 2 epochs (enough to see
          // the loss fall epoch over epoch), validation every 100 updates on 300 samples.
          flags.epochs ??= '2'
          flags.validateEvery ??= '100'
          flags.valSamples ??= '300'
          datasetDir = join(stateDir, 'demo')
          if (!flags.json) process.stderr.write(`training on the demo dataset in ${datasetDir}\n`)
          const { ensureDemoDataset } = await import('../../core/demo/ensure')
          await ensureDemoDataset(datasetDir)
        }
        try {
          config = await resolveTrainConfig({
            datasetDir,
            base: datasetDir ? undefined : process.cwd(),
            train: flags.train,
            val: flags.val,
            classes: num('--classes', flags.classes, { min: 1 }),
            imageShape: parseImageShape(flags.imageShape),
            workers: num('--workers', flags.workers, { min: 1, max: MAX_WORKERS }),
            mode: oneOf('--mode', flags.mode, ['async', 'sync', 'ssp'] as const),
            staleness: num('--staleness', flags.staleness),
            epochs: num('--epochs', flags.epochs, { min: 1 }),
            batch: num('--batch', flags.batch, { min: 1 }),
            lr: num('--lr', flags.lr, { integer: false, above: true }),
            optimizer: oneOf('--optimizer', flags.optimizer, ['sgd', 'adam'] as const),
            stalenessAwareLr: flags.stalenessLr,
            backend: oneOf('--backend', flags.backend, ['auto', 'cuda', 'webgpu', 'wasm', 'cpu'] as const),
            model: oneOf('--model', flags.model, ['small-cnn', 'resnet-small'] as const),
            speed: parseSpeeds(flags.speed),
            latencyMs: num('--latency-ms', flags.latencyMs, { integer: false }),
            bandwidthMBps: num('--bandwidth-mbps', flags.bandwidthMbps, { integer: false }),
            crash: parseCrashes(flags.crash),
            restart: oneOf('--restart', flags.restart, ['never', 'once', 'always'] as const),
            seed: num('--seed', flags.seed),
            validateEvery: num('--validate-every', flags.validateEvery),
            valSamples: num('--val-samples', flags.valSamples),
            maxBatchesPerEpoch: num('--max-batches', flags.maxBatches)
          })
        } catch (err) {
          if (err instanceof TrainConfigError) throw new CliError(err.message)
          throw err
        }
        if (!flags.json && !(datasetDir && existsSync(join(datasetDir, MANIFEST_FILE)))) {
          const where = datasetDir ? `${datasetDir} has no ${MANIFEST_FILE}` : `no dataset folder given`
          process.stderr.write(`${where}: images are scaled to [0, 1], with no per-channel normalisation\n`)
        }
      }
      const interactive = isInteractive(flags.json)
      const bar = await progressBar(interactive, 'train [{bar}] {value}/{total} steps | loss {loss} | val {val} | {sps} samples/s')
      let steps = 0
      let lastLoss = NaN
      let lastVal = '–'
      const t0 = performance.now()
      let samples = 0
      const onPoints = (points: MetricPoint[]) => {
        for (const p of points) {
          if (p.kind === 'step') {
            steps++
            samples += p.samples
            lastLoss = p.loss
          } else if (p.kind === 'validation') {
            lastVal = `${p.loss.toFixed(3)} / ${(p.top1 * 100).toFixed(1)}%`
            if (!interactive && !flags.json) {
              process.stderr.write(`validation (${p.reason}, epoch ${p.epoch + 1}, update ${p.version}): loss ${p.loss.toFixed(4)} top-1 ${(p.top1 * 100).toFixed(1)}% top-5 ${(p.top5 * 100).toFixed(1)}%\n`)
            }
          } else if (p.kind === 'crash' && !flags.json) {
            bar?.stop()
            process.stderr.write(`worker ${p.worker} crashed in step ${p.step} (exit code ${p.code})${p.restarted ? ', restarted' : ''}\n`)
          } else if (p.kind === 'warning' && !flags.json) {
            process.stderr.write(`warning: ${p.message}\n`)
          }
        }
        const sps = samples / ((performance.now() - t0) / 1000)
        bar?.update(steps, { loss: Number.isFinite(lastLoss) ? lastLoss.toFixed(3) : '–', val: lastVal, sps: sps.toFixed(1) })
      }
      const { nodeProcessHost } = await import('../../core/process/node-host')
      // Ctrl-C (or SIGTERM) stops the run cleanly: workers end, the server writes a checkpoint to
      // resume from, and summary.json says 'stopped' with what was done. A second one quits at once:
      // processes killed, the summary written before quit.abort() returns; a third ends by the signal.
      const stop = new AbortController()
      const quit = new AbortController()
      const onSignal = (): void => {
        bar?.stop()
        if (!stop.signal.aborted) {
          process.stderr.write('stopping the run: saving a checkpoint to resume from (Ctrl-C again to quit at once, without it)…\n')
          stop.abort()
          return
        }
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        process.stderr.write('quitting at once…\n')
        quit.abort()
        // The summary is on disk by now; should anything still hold the process, it ends anyway.
        setTimeout(() => process.exit(ExitCode.Interrupted), QUIT_GRACE_MS).unref()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      let summary: RunSummary
      try {
        summary = await runTraining({
          signal: stop.signal,
          quitSignal: quit.signal,
          host: nodeProcessHost,
          config,
          runsDir: flags.runsDir ? resolve(flags.runsDir) : join(stateDir, 'runs'),
          resumeDir: flags.resume ? resolve(flags.resume) : undefined,
          resumeEpochs: flags.resume ? num('--epochs', flags.epochs, { min: 1 }) : undefined,
          onPoints,
          onStart: (run) => {
            if (!flags.json) process.stderr.write(`run ${run.id} in ${run.dir}\n`)
            if (bar) bar.start(estimateSteps(config), 0, { loss: '–', val: '–', sps: '0' })
          }
        })
      } catch (err) {
        if (err instanceof TrainConfigError) throw new CliError(err.message)
        throw err
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        // A run stopped fast may have returned before the second Ctrl-C comes: that one ends the
        // command with 130 as well, not the process by the signal.
        if (stop.signal.aborted) {
          const exitStopped = () => process.exit(ExitCode.Interrupted)
          process.once('SIGINT', exitStopped)
          process.once('SIGTERM', exitStopped)
        }
        bar?.stop()
      }
      if (flags.json) printJson(summary)
      else printSummary(summary)
      if (summary.status === 'failed') throw new CliError(summary.error ?? 'the run failed', ExitCode.Usage)
      if (summary.status === 'stopped') return setExitCode(ExitCode.Interrupted)
      setExitCode(summary.healthy ? ExitCode.Clean : ExitCode.Problems)
    })
}

/** After a second Ctrl-C: how long the run may take to return its summary before the process exits regardless. */
const QUIT_GRACE_MS = 1000

function estimateSteps(config: TrainConfig | undefined): number {
  if (!config) return 0
  return config.maxBatchesPerEpoch > 0 ? config.maxBatchesPerEpoch * config.workers * config.epochs : 0
}

function printSummary(s: RunSummary): void {
  const out = (line: string) => process.stdout.write(line + '\n')
  const workers = plural(s.config.workers, 'worker')
  if (s.status === 'failed' && s.updates === 0) {
    // Nothing trained (e.g. the backend could not start): no empty curves, the reason follows on stderr.
    out(`run ${s.id}: failed before its first update on ${s.backend}, ${workers} (${s.config.mode})`)
    out(`run folder: ${s.dir}`)
    return
  }
  out(`run ${s.id}: ${s.status} on ${s.backend}, ${workers} (${s.config.mode}), ${s.updates} updates, ${s.samples} samples in ${s.seconds.toFixed(1)} s (${s.samplesPerSecond.toFixed(1)} samples/s)`)
  if (s.finalValidation) out(`validation: loss ${s.finalValidation.loss.toFixed(4)}, top-1 ${(s.finalValidation.top1 * 100).toFixed(1)}%, top-5 ${(s.finalValidation.top5 * 100).toFixed(1)}%`)
  out(`training loss by epoch: ${s.epochTrainLoss.map((l) => l.toFixed(3)).join(' → ')}`)
  out(`staleness: mean ${s.staleness.mean.toFixed(2)}, max ${s.staleness.max}`)
  for (const c of s.crashes) out(`crash: worker ${c.worker} in step ${c.step} (exit code ${c.code})`)
  for (const h of s.health) {
    out(`${h.passed ? 'ok  ' : 'FAIL'} ${h.name}: ${h.detail}`)
    for (const cause of h.causes) out(`       likely cause: ${cause}`)
  }
  if (s.status === 'stopped') {
    out('stopped before its end: health not judged')
    out(s.resumable ? `it can be resumed: shardscope train --resume ${s.dir}` : 'it cannot be resumed: it was stopped before a checkpoint was written')
  } else out(s.healthy ? 'healthy' : 'NOT healthy')
  out(`run folder: ${s.dir}`)
}
