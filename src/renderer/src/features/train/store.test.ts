import { describe, expect, it } from 'vitest'
import type { RunSummary } from '@shared/contract/train'
import { configFromForm, defaultForm, runLabel } from './store'

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

