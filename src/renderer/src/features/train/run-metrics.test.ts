import { describe, expect, it } from 'vitest'
import type { MetricPoint, RunSummary } from '@shared/contract/train'
import { addPoints, describeBackend, emptyRunMetrics, runCounters } from './run-metrics'

const step = (worker: number, s: number, loss: number, t: number, samples = 32): MetricPoint => ({ kind: 'step', t, worker, step: s, epoch: 0, loss, samples, computeMs: 10 })

describe('addPoints', () => {
  it('splits training loss by worker, in step order', () => {
    const run = emptyRunMetrics()
    addPoints(run, [step(0, 1, 2.3, 1000), step(1, 1, 2.2, 1010), step(0, 2, 2.1, 1100)])
    addPoints(run, [step(1, 2, 2.0, 1200)])
    expect(run.workerLoss).toEqual([
      { x: [1, 2], y: [2.3, 2.1] },
      { x: [1, 2], y: [2.2, 2.0] }
    ])
  })
  it('counts samples per second of wall time, with idle seconds as zero', () => {
    const run = emptyRunMetrics()
    addPoints(run, [step(0, 1, 1, 10_000, 32), step(1, 1, 1, 10_400, 32), step(0, 2, 1, 12_100, 16)])
    addPoints(run, [step(1, 2, 1, 10_900, 8)])
    expect(run.throughput).toEqual({ x: [0, 1, 2], y: [72, 0, 16] })
  })
  it('builds the staleness histogram from updates', () => {
    const run = emptyRunMetrics()
    const upd = (st: number): MetricPoint => ({ kind: 'update', t: 1, worker: 0, version: 1, staleness: st, lr: 0.1 })
    addPoints(run, [upd(0), upd(2), upd(0), upd(1)])
    expect([...run.staleness.entries()].sort()).toEqual([
      [0, 2],
      [1, 1],
      [2, 1]
    ])
  })
  it('keeps one validation point per server version, the latest winning, x ascending', () => {
    const run = emptyRunMetrics()
    const val = (version: number, loss: number, top1: number): MetricPoint => ({ kind: 'validation', t: 1, version, epoch: 0, reason: 'interval', loss, top1, top5: 1, samples: 100 })
    addPoints(run, [val(50, 2.0, 0.2), val(100, 1.5, 0.4), val(100, 1.4, 0.45), val(75, 1.8, 0.3)])
    expect(run.valLoss).toEqual({ x: [50, 75, 100], y: [2.0, 1.8, 1.4] })
    expect(run.valTop1.y).toEqual([0.2, 0.3, 0.45])
  })
  it('records crashes, checkpoints and warnings, and keeps every point for export', () => {
    const run = emptyRunMetrics()
    addPoints(run, [
      { kind: 'crash', t: 1, worker: 1, step: 5, code: 1, restarted: false },
      { kind: 'checkpoint', t: 2, version: 10, path: '/runs/x/checkpoints/10' },
      { kind: 'warning', t: 3, message: 'worker 3 got no shard' }
    ])
    expect(run.crashes).toEqual([{ worker: 1, step: 5, code: 1, restarted: false }])
    expect(run.checkpoints).toBe(1)
    expect(run.warnings).toEqual(['worker 3 got no shard'])
    expect(run.points).toHaveLength(3)
  })
})

describe('runCounters', () => {
  const startedAt = new Date(8_000).toISOString()
  const summary = (patch: Partial<RunSummary>) => ({ status: 'running', startedAt, backend: 'auto', updates: 0, samples: 0, samplesPerSecond: 0, ...patch }) as RunSummary
  const update = (version: number): MetricPoint => ({ kind: 'update', t: 1, worker: 0, version, staleness: 0, lr: 0.1 })

  it('counts a running run from its streamed points: its summary says 0 until the end', () => {
    const run = emptyRunMetrics()
    addPoints(run, [step(0, 1, 2, 9_000, 32), update(1), step(1, 1, 2, 10_000, 32), update(2)])
    addPoints(run, [step(0, 2, 2, 12_000, 16), update(3)])
    // 80 samples in the 4 s from the start to the latest step.
    expect(runCounters(summary({}), run)).toEqual({ updates: 3, samples: 80, samplesPerSecond: 20 })
  })
  it('takes an ended run\'s counters from its summary', () => {
    const run = emptyRunMetrics()
    addPoints(run, [step(0, 1, 2, 9_000, 32), update(1)])
    expect(runCounters(summary({ status: 'finished', updates: 40, samples: 1280, samplesPerSecond: 55 }), run)).toEqual({ updates: 40, samples: 1280, samplesPerSecond: 55 })
  })
})

describe('describeBackend', () => {
  it.each([
    [{ status: 'running', backend: 'auto' }, 'choosing a backend…'],
    [{ status: 'running', backend: 'wasm' }, 'running on wasm'],
    [{ status: 'finished', backend: 'wasm' }, 'ran on wasm']
  ] as const)('%j: %s', (run, text) => {
    expect(describeBackend(run as unknown as RunSummary)).toBe(text)
  })
})
