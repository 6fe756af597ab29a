/**
 * Training runs: the form's knobs, start / stop / re-run (the form as it is now, beside
 * the last run), the runs list, the live metrics of each run (folded into chart series
 * outside React state; `rev` ticks so only the charts redraw), and which runs are
 * overlaid for comparison.
 */
import { create } from 'zustand'
import type { DatasetSummary } from '@shared/contract/datasets'
import type { CrashSpec, RunSummary, TrainConfig, TrainConfigInput } from '@shared/contract/train'
import { getClient } from '../../api/client'
import { describeError } from '../../app/errors'
import { addPoints, emptyRunMetrics, type RunMetrics } from './run-metrics'

/** The knobs the form edits; everything else comes from the dataset's dataset.json. */
export interface TrainForm {
  workers: number
  mode: 'async' | 'sync' | 'ssp'
  staleness: number
  batch: number
  lr: number
  optimizer: 'sgd' | 'adam'
  epochs: number
  backend: 'auto' | 'cuda' | 'webgpu' | 'wasm' | 'cpu'
  /** Comma-separated speed factors, one per worker ("1, 1, 0.5"). */
  speed: string
  latencyMs: number
  /** "worker@step" pairs, comma-separated ("1@20"). */
  crash: string
  validateEvery: number
  maxBatchesPerEpoch: number
  seed: number
}

export const defaultForm: TrainForm = {
  workers: 2,
  mode: 'async',
  staleness: 2,
  batch: 32,
  lr: 0.05,
  optimizer: 'sgd',
  epochs: 2,
  backend: 'auto',
  speed: '',
  latencyMs: 0,
  crash: '',
  validateEvery: 20,
  maxBatchesPerEpoch: 0,
  seed: 1
}

/** The form as a config; a knob typed wrong is an error value naming it. */
export function configFromForm(form: TrainForm): { config: Partial<TrainConfigInput> } | { error: string } {
  const speed: number[] = []
  for (const part of form.speed.split(',').map((s) => s.trim()).filter(Boolean)) {
    const v = Number(part)
    if (!(v > 0)) return { error: `Speed factors must be positive numbers, one per worker; "${part}" is not.` }
    speed.push(v)
  }
  const crash: Array<{ worker: number; step: number }> = []
  for (const part of form.crash.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*@\s*(\d+)$/.exec(part)
    if (!m || Number(m[2]) < 1) return { error: `Crash injection is "worker@step", e.g. "1@20"; "${part}" is not.` }
    if (Number(m[1]) >= form.workers) return { error: `Crash injection names worker ${m[1]}, but workers are numbered 0 to ${form.workers - 1}.` }
    crash.push({ worker: Number(m[1]), step: Number(m[2]) })
  }
  return {
    config: {
      workers: form.workers,
      mode: form.mode,
      staleness: form.staleness,
      batch: form.batch,
      lr: form.lr,
      optimizer: form.optimizer,
      epochs: form.epochs,
      backend: form.backend,
      speed,
      latencyMs: form.latencyMs,
      crash,
      validateEvery: form.validateEvery,
      maxBatchesPerEpoch: form.maxBatchesPerEpoch,
      seed: form.seed
    }
  }
}

const formLabels: Record<keyof TrainForm, string> = {
  workers: 'Workers',
  mode: 'Mode',
  staleness: 'Staleness bound',
  batch: 'Batch',
  lr: 'Learning rate',
  optimizer: 'Optimizer',
  epochs: 'Epochs',
  backend: 'Backend',
  speed: 'Speed factors',
  latencyMs: 'Latency (ms)',
  crash: 'Crash injection',
  validateEvery: 'Validate every',
  maxBatchesPerEpoch: 'Max batches/epoch',
  seed: 'Seed'
}

/** The form's settings that differ from a run's config, as "Workers 2 → 1": what a Re-run would change. */
export function changedSettings(form: TrainForm, config: TrainConfig): string[] {
  const parsed = configFromForm(form)
  if ('error' in parsed) return []
  const shown = (v: unknown): string => {
    if (!Array.isArray(v)) return String(v)
    const items = v as Array<number | CrashSpec>
    return items.length === 0 ? 'none' : items.map((x) => (typeof x === 'number' ? String(x) : `${x.worker}@${x.step}`)).join(', ')
  }
  return (Object.keys(formLabels) as Array<keyof TrainForm>).flatMap((key) => {
    // The staleness bound only counts in SSP mode (the form hides it otherwise).
    if (key === 'staleness' && form.mode !== 'ssp' && config.mode !== 'ssp') return []
    const before = shown(config[key])
    const after = shown(parsed.config[key])
    return before === after ? [] : [`${formLabels[key]} ${before} → ${after}`]
  })
}

interface TrainState {
  form: TrainForm
  runs: RunSummary[]
  /** The run the charts follow (the one just started, or the one clicked). */
  activeRunId: string | null
  /** Runs drawn together in the validation and throughput charts. */
  overlay: string[]
  /** Ticks when any run's metrics change. */
  rev: number
  error: string | null
  busy: boolean
  /** The run a Stop was asked of, until it has stopped (it writes a checkpoint first, after a validation under way). */
  stopping: string | null
  setForm(patch: Partial<TrainForm>): void
  /** A new run of the form's settings; the charts show it alone. */
  start(dataset: DatasetSummary): Promise<void>
  stop(): Promise<void>
  /**
   * A new run of the form's settings as they are now (the user has just fixed something),
   * on the dataset as it is now; the run shown until now stays overlaid for comparison.
   */
  rerun(dataset: DatasetSummary): Promise<void>
  /** Re-run asked for from elsewhere than its button (the Electron menu): runs, or says in `error` why it cannot. */
  rerunAsked(dataset: DatasetSummary | null): Promise<void>
  loadRuns(): Promise<void>
  watch(runId: string): Promise<void>
  toggleOverlay(runId: string): void
  metricsOf(runId: string): RunMetrics | undefined
  /** Whether metricsOf holds every point of the run (seen from its start, or fetched), not only those since this page saw it. */
  hasAllPoints(runId: string): boolean
  listen(): () => void
}

export const useTrain = create<TrainState>((set, get) => {
  const metrics = new Map<string, RunMetrics>()
  /** Runs whose recorded points were fetched (or that we saw from their start). */
  const complete = new Set<string>()
  let frame = 0

  const bump = () => {
    // Many event batches within one frame cost one re-render.
    if (frame) return
    frame = requestAnimationFrame(() => {
      frame = 0
      set((s) => ({ rev: s.rev + 1 }))
    })
  }

  async function fetchRecorded(runId: string): Promise<void> {
    const m = emptyRunMetrics()
    let from = 0
    for (;;) {
      const page = await getClient().call('train.metrics', { runId, from })
      addPoints(m, page.points)
      if (page.points.length === 0 || page.next <= from) break
      from = page.next
    }
    metrics.set(runId, m)
    complete.add(runId)
    bump()
  }

  function began(runId: string, compareWith: string | null): void {
    metrics.set(runId, emptyRunMetrics())
    complete.add(runId)
    set((s) => ({ activeRunId: runId, overlay: compareWith ? [runId, compareWith, ...s.overlay.filter((r) => r !== runId && r !== compareWith)].slice(0, 4) : [runId] }))
    void get().loadRuns()
  }

  async function launch(dataset: DatasetSummary, compareWith: string | null): Promise<void> {
    const parsed = configFromForm(get().form)
    if ('error' in parsed) return set({ error: parsed.error })
    set({ busy: true, error: null })
    try {
      const input = dataset.folder
        ? { datasetDir: dataset.folder, config: parsed.config }
        : {
            config: {
              ...parsed.config,
              train: dataset.splits.find((s) => s.name === 'train')?.patterns.join('::'),
              val: dataset.splits.find((s) => s.name === 'val')?.patterns.join('::')
            }
          }
      const { runId } = await getClient().call('train.start', input)
      began(runId, compareWith)
    } catch (err) {
      set({ error: describeError(err) })
    } finally {
      set({ busy: false })
    }
  }

  return {
    form: defaultForm,
    runs: [],
    activeRunId: null,
    overlay: [],
    rev: 0,
    error: null,
    busy: false,
    stopping: null,
    setForm: (patch) => set((s) => ({ form: { ...s.form, ...patch } })),
    start: (dataset) => launch(dataset, null),
    async stop() {
      const runId = get().activeRunId
      if (!runId || get().stopping === runId) return
      set({ stopping: runId })
      try {
        await getClient().call('train.stop', { runId })
        void get().loadRuns()
      } catch (err) {
        set({ error: describeError(err) })
      } finally {
        set({ stopping: null })
      }
    },
    rerun: (dataset) => launch(dataset, get().activeRunId),
    async rerunAsked(dataset) {
      const refusal = whyNoRerun(get(), dataset)
      if (refusal || !dataset) return set({ error: refusal })
      await get().rerun(dataset)
    },
    async loadRuns() {
      try {
        const { runs } = await getClient().call('train.list', {})
        set({ runs })
      } catch (err) {
        set({ error: describeError(err) })
      }
    },
    async watch(runId) {
      set((s) => ({ activeRunId: runId, overlay: s.overlay.includes(runId) ? s.overlay : [runId, ...s.overlay].slice(0, 4) }))
      if (!complete.has(runId)) await fetchRecorded(runId).catch((err) => set({ error: describeError(err) }))
    },
    toggleOverlay(runId) {
      const on = get().overlay.includes(runId)
      set((s) => ({ overlay: on ? s.overlay.filter((r) => r !== runId) : [...s.overlay, runId] }))
      if (!on && !complete.has(runId)) void fetchRecorded(runId).catch((err) => set({ error: describeError(err) }))
    },
    metricsOf: (runId) => metrics.get(runId),
    hasAllPoints: (runId) => complete.has(runId),
    listen() {
      const client = getClient()
      const offs = [
        client.on('train.metrics', ({ runId, points }) => {
          let m = metrics.get(runId)
          if (!m) {
            // A run started elsewhere (CLI, another window): follow it from now on.
            m = emptyRunMetrics()
            metrics.set(runId, m)
          }
          addPoints(m, points)
          bump()
        }),
        client.on('train.status', ({ runId, summary }) => {
          set((s) => {
            const i = s.runs.findIndex((r) => r.id === runId)
            const runs = i >= 0 ? s.runs.map((r) => (r.id === runId ? summary : r)) : [summary, ...s.runs]
            return { runs }
          })
        })
      ]
      return () => offs.forEach((off) => off())
    }
  }
})

/**
 * Why Start cannot start now (its button is greyed, with this as its tooltip), or null. One
 * run at a time from the form: a second Start while the run shown goes on would leave the
 * first one running with no Stop of its own on screen.
 */
export function whyNoStart(state: Pick<TrainState, 'runs' | 'activeRunId' | 'busy'>, dataset: DatasetSummary | null): string | null {
  return blockedBy(state, dataset, 'Start', 'starting another')
}

/** Why Re-run cannot start now (its button is greyed, with this as its tooltip), or null when it can. */
export function whyNoRerun(state: Pick<TrainState, 'runs' | 'activeRunId' | 'busy'>, dataset: DatasetSummary | null): string | null {
  if (dataset && !state.runs.some((r) => r.id === state.activeRunId)) return "No simulation to re-run yet: Start one first; Re-run then runs the form's settings beside it."
  return blockedBy(state, dataset, 'Re-run', 're-running')
}

/** What keeps both Start and Re-run from starting a run: no dataset, the run shown still running, a run starting. */
function blockedBy(state: Pick<TrainState, 'runs' | 'activeRunId' | 'busy'>, dataset: DatasetSummary | null, button: string, doing: string): string | null {
  if (!dataset) return `Open a dataset first: ${button} trains on the dataset open now.`
  if (state.runs.find((r) => r.id === state.activeRunId)?.status === 'running') return `The run shown is still running: Stop it, or let it finish, before ${doing}.`
  if (state.busy) return 'A run is starting.'
  return null
}

/** Run ids → short labels for legends ("run 3 · 4×async"). */
export function runLabel(run: RunSummary | undefined, runId: string): string {
  // Run ids are start times (2026-11-29T17-42-19-572): the time of day tells a session's runs apart.
  const time = /T(\d{2})-(\d{2})-(\d{2})/.exec(runId)
  const short = time ? `${time[1]}:${time[2]}:${time[3]}` : runId.slice(-8)
  return run ? `${short} · ${run.config.workers}×${run.config.mode}` : short
}
