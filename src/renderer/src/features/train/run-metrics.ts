/**
 * One training run's metric points folded into the series the charts draw:
 * per-worker training loss by step, validation loss and top-1 by server version,
 * throughput per second of wall time, the staleness histogram, crashes and warnings.
 * Points arrive in batches (train.metrics events); folding is incremental and pure.
 */
import type { MetricPoint, RunSummary } from '@shared/contract/train'
import type { Series } from './series'

export interface RunMetrics {
  /** Per worker: x = the worker's step, y = its training loss. */
  workerLoss: Series[]
  /** x = server version at validation. */
  valLoss: Series
  valTop1: Series
  /** Samples trained in each whole second since the first point: x = seconds, y = samples/s. */
  throughput: Series
  staleness: Map<number, number>
  crashes: Array<{ worker: number; step: number; code: number | null; restarted: boolean }>
  warnings: string[]
  checkpoints: number
  /** The newest server version an update made, and the samples trained, so far. */
  updates: number
  samples: number
  /** Wall time (ms) of the latest training step. */
  lastStepT: number | null
  /** Every point as received, for CSV export. */
  points: MetricPoint[]
  /** Wall time (ms) of the first point; seconds on the throughput axis count from here. */
  t0: number | null
}

export function emptyRunMetrics(): RunMetrics {
  return {
    workerLoss: [],
    valLoss: { x: [], y: [] },
    valTop1: { x: [], y: [] },
    throughput: { x: [], y: [] },
    staleness: new Map(),
    crashes: [],
    warnings: [],
    checkpoints: 0,
    updates: 0,
    samples: 0,
    lastStepT: null,
    points: [],
    t0: null
  }
}

/** Folds a batch of points into the run (mutating it: series grow in place so a long run costs no copies). */
export function addPoints(run: RunMetrics, points: readonly MetricPoint[]): void {
  for (const p of points) {
    run.points.push(p)
    if (run.t0 === null) run.t0 = p.t
    switch (p.kind) {
      case 'step': {
        while (run.workerLoss.length <= p.worker) run.workerLoss.push({ x: [], y: [] })
        const s = run.workerLoss[p.worker]!
        s.x.push(p.step)
        s.y.push(p.loss)
        addThroughput(run, p.t, p.samples)
        run.samples += p.samples
        run.lastStepT = Math.max(run.lastStepT ?? p.t, p.t)
        break
      }
      case 'update':
        run.updates = Math.max(run.updates, p.version)
        run.staleness.set(p.staleness, (run.staleness.get(p.staleness) ?? 0) + 1)
        break
      case 'validation':
        pushByX(run.valLoss, p.version, p.loss)
        pushByX(run.valTop1, p.version, p.top1)
        break
      case 'crash':
        run.crashes.push({ worker: p.worker, step: p.step, code: p.code, restarted: p.restarted })
        break
      case 'checkpoint':
        run.checkpoints++
        break
      case 'warning':
        run.warnings.push(p.message)
        break
      case 'epoch':
        break
    }
  }
}

/** Validation may repeat at one version (interval and epoch end); the later value replaces the earlier so x stays strictly ascending. */
function pushByX(s: Series, x: number, y: number): void {
  const last = s.x.length - 1
  if (last >= 0 && s.x[last] === x) s.y[last] = y
  else if (last >= 0 && (s.x[last] as number) > x) {
    const i = s.x.findIndex((v) => v >= x)
    if (s.x[i] === x) s.y[i] = y
    else {
      s.x.splice(i, 0, x)
      s.y.splice(i, 0, y)
    }
  } else {
    s.x.push(x)
    s.y.push(y)
  }
}

function addThroughput(run: RunMetrics, t: number, samples: number): void {
  const second = Math.floor((t - (run.t0 ?? t)) / 1000)
  const s = run.throughput
  const last = s.x.length - 1
  if (last >= 0 && s.x[last] === second) s.y[last] = (s.y[last] as number) + samples
  else if (last < 0 || (s.x[last] as number) < second) {
    // Seconds with no step show as zero, not as a line bridging the stall.
    for (let x = last < 0 ? second : (s.x[last] as number) + 1; x < second; x++) {
      s.x.push(x)
      s.y.push(0)
    }
    s.x.push(second)
    s.y.push(samples)
  } else {
    // A point from an earlier second (workers flush out of order): add it where it belongs.
    const i = s.x.indexOf(second)
    if (i >= 0) s.y[i] = (s.y[i] as number) + samples
  }
}

export interface RunCounters {
  updates: number
  samples: number
  samplesPerSecond: number
}

/**
 * A run's counters for the header and the runs table. A run's summary has them only once
 * it ends (its running summary says 0), so while it runs they come from the points streamed
 * so far: the rate is samples over the time since the run started, as the final summary's is.
 */
export function runCounters(run: RunSummary, metrics: RunMetrics | undefined): RunCounters {
  if (run.status !== 'running' || !metrics) return { updates: run.updates, samples: run.samples, samplesPerSecond: run.samplesPerSecond }
  const seconds = metrics.lastStepT === null ? 0 : (metrics.lastStepT - Date.parse(run.startedAt)) / 1000
  return { updates: metrics.updates, samples: metrics.samples, samplesPerSecond: seconds > 0 ? metrics.samples / seconds : 0 }
}

/** Which backend a run uses: `auto` is only a request, resolved once the parameter server is up. */
export function describeBackend(run: RunSummary): string {
  if (run.status !== 'running') return `ran on ${run.backend}`
  return run.backend === 'auto' ? 'choosing a backend…' : `running on ${run.backend}`
}
