import { describe, expect, it, vi } from 'vitest'
import type { DatasetSummary } from '@shared/contract/datasets'
import { TrainConfig, type RunSummary } from '@shared/contract/train'
import { changedSettings, configFromForm, defaultForm, runLabel, useTrain, whyNoRerun, whyNoStart, type TrainForm } from './store'

describe('configFromForm', () => {
  it('turns speed factors and crash injections into the contract config', () => {
    const r = configFromForm({ ...defaultForm, workers: 3, speed: '1, 1, 0.25', crash: '2@15, 0@40' })
    expect(r).toMatchObject({ config: { workers: 3, speed: [1, 1, 0.25], crash: [{ worker: 2, step: 15 }, { worker: 0, step: 40 }] } })
  })
  it('empty speed and crash fields mean none', () => {
    expect(configFromForm(defaultForm)).toMatchObject({ config: { speed: [], crash: [] } })
  })
  it.each([
    [{ speed: '1, fast' }, 'Speed factors must be positive numbers, one per worker; "fast" is not.'],
    [{ speed: '0' }, 'Speed factors must be positive numbers, one per worker; "0" is not.'],
    [{ crash: 'worker 1' }, 'Crash injection is "worker@step", e.g. "1@20"; "worker 1" is not.'],
    [{ workers: 2, crash: '2@5' }, 'Crash injection names worker 2, but workers are numbered 0 to 1.']
  ])('%j is refused with a message naming the knob', (patch, message) => {
    expect(configFromForm({ ...defaultForm, ...patch })).toEqual({ error: message })
  })
})

describe('runLabel', () => {
  it('names a run by the time of day it started, and its workers and mode', () => {
    const run = { id: '2026-11-29T17-42-19-572', config: { workers: 2, mode: 'async' } } as unknown as RunSummary
    expect(runLabel(run, run.id)).toBe('17:42:19 · 2×async')
    expect(runLabel(undefined, '2026-11-29T09-05-00-001')).toBe('09:05:00')
    expect(runLabel(undefined, 'some-other-run-id')).toBe('r-run-id')
  })
})


describe('changedSettings', () => {
  const config = TrainConfig.parse({ train: 't', val: 'v', classes: 3, imageShape: [8, 8, 3], normalization: { mean: [0, 0, 0], std: [1, 1, 1] }, ...configOf(defaultForm) })
  it('names each setting the form changed since the run, before → after', () => {
    expect(changedSettings({ ...defaultForm, workers: 1, lr: 0.2, crash: '0@5' }, config)).toEqual(['Workers 2 → 1', 'Learning rate 0.05 → 0.2', 'Crash injection none → 0@5'])
  })
  it('is empty for the run\'s own settings, and ignores the staleness bound outside SSP mode', () => {
    expect(changedSettings({ ...defaultForm, staleness: 7 }, config)).toEqual([])
    expect(changedSettings({ ...defaultForm, mode: 'ssp', staleness: 7 }, config)).toEqual(['Mode async → ssp', 'Staleness bound 2 → 7'])
  })
})

describe('re-run', () => {
  const calls: Array<{ method: string; input: unknown }> = []
  let releaseStop = () => {}
  const client = {
    call: async (method: string, input: unknown) => {
      calls.push({ method, input })
      if (method === 'train.start') return { runId: `run-${calls.filter((c) => c.method === 'train.start').length}`, dir: '/runs/x' }
      if (method === 'train.stop') return new Promise((resolve) => (releaseStop = () => resolve({ stopped: true })))
      if (method === 'train.list') return { runs: [] }
      throw new Error(`unexpected ${method}`)
    },
    on: () => () => {}
  }
  const dataset = { datasetId: 'd1', name: 'demo', folder: '/data/demo', splits: [], classNames: [], manifest: null } as unknown as DatasetSummary
  const started = () => calls.filter((c) => c.method === 'train.start').map((c) => (c.input as { config: Partial<TrainForm> }).config)

  it('runs what the form shows now, and keeps the run shown until now overlaid beside it', async () => {
    vi.stubGlobal('window', { shardscope: client })
    const train = useTrain.getState()
    train.setForm({ workers: 2, lr: 0.05 })
    await train.start(dataset)
    expect(useTrain.getState()).toMatchObject({ activeRunId: 'run-1', overlay: ['run-1'] })
    // The user fixes the settings, then re-runs.
    useTrain.getState().setForm({ workers: 1, lr: 0.2 })
    await useTrain.getState().rerun(dataset)
    expect(started().map((c) => [c.workers, c.lr])).toEqual([
      [2, 0.05],
      [1, 0.2]
    ])
    expect(calls.filter((c) => c.method === 'train.start').at(-1)!.input).toMatchObject({ datasetDir: '/data/demo' })
    expect(useTrain.getState()).toMatchObject({ activeRunId: 'run-2', overlay: ['run-2', 'run-1'], form: { workers: 1, lr: 0.2 } })
    // Start begins afresh: the charts show the new run alone.
    await useTrain.getState().start(dataset)
    expect(useTrain.getState()).toMatchObject({ activeRunId: 'run-3', overlay: ['run-3'] })
  })

  it('asked from the menu, it says why it cannot run (no dataset, no run shown, the run still running), and otherwise runs as the button does', async () => {
    vi.stubGlobal('window', { shardscope: client })
    const run = (status: RunSummary['status']) => [{ id: 'run-3', status } as RunSummary]
    const before = started().length
    useTrain.setState({ activeRunId: 'run-3', runs: run('running'), error: null })
    await useTrain.getState().rerunAsked(dataset)
    expect(useTrain.getState().error).toBe('The run shown is still running: Stop it, or let it finish, before re-running.')
    await useTrain.getState().rerunAsked(null)
    expect(useTrain.getState().error).toBe('Open a dataset first: Re-run trains on the dataset open now.')
    expect(started()).toHaveLength(before)
    useTrain.setState({ runs: run('finished') })
    useTrain.getState().setForm({ workers: 3 })
    await useTrain.getState().rerunAsked(dataset)
    expect(started()).toHaveLength(before + 1)
    expect(started().at(-1)!.workers).toBe(3)
    expect(useTrain.getState()).toMatchObject({ error: null, overlay: [`run-${before + 1}`, 'run-3'] })
  })

  it('Stop marks the run as stopping until the back end has stopped it (a checkpoint is written first), and asks only once', async () => {
    vi.stubGlobal('window', { shardscope: client })
    useTrain.setState({ activeRunId: 'run-9', stopping: null })
    const stopped = useTrain.getState().stop()
    expect(useTrain.getState().stopping).toBe('run-9')
    await useTrain.getState().stop()
    expect(calls.filter((c) => c.method === 'train.stop').map((c) => c.input)).toEqual([{ runId: 'run-9' }])
    releaseStop()
    await stopped
    expect(useTrain.getState().stopping).toBeNull()
  })
})

describe('whyNoStart', () => {
  const dataset = { datasetId: 'd1' } as unknown as DatasetSummary
  it('refuses a second run while the one shown is running, and without a dataset', () => {
    const runs = (status: RunSummary['status']) => [{ id: 'a', status } as RunSummary]
    expect(whyNoStart({ runs: runs('running'), activeRunId: 'a', busy: false }, dataset)).toBe('The run shown is still running: Stop it, or let it finish, before starting another.')
    expect(whyNoStart({ runs: runs('finished'), activeRunId: 'a', busy: false }, dataset)).toBeNull()
    expect(whyNoStart({ runs: [], activeRunId: null, busy: false }, dataset)).toBeNull()
    expect(whyNoStart({ runs: [], activeRunId: null, busy: false }, null)).toBe('Open a dataset first: Start trains on the dataset open now.')
  })
})

describe('whyNoRerun', () => {
  const dataset = { datasetId: 'd1' } as unknown as DatasetSummary
  it('is null only with a dataset open and a finished run shown, no run starting', () => {
    const runs = [{ id: 'a', status: 'finished' } as RunSummary]
    expect(whyNoRerun({ runs, activeRunId: 'a', busy: false }, dataset)).toBeNull()
    expect(whyNoRerun({ runs, activeRunId: 'a', busy: true }, dataset)).toBe('A run is starting.')
    expect(whyNoRerun({ runs, activeRunId: null, busy: false }, dataset)).toBe("No simulation to re-run yet: Start one first; Re-run then runs the form's settings beside it.")
  })
})

function configOf(form: TrainForm) {
  const parsed = configFromForm(form)
  if ('error' in parsed) throw new Error(parsed.error)
  return parsed.config
}
