import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventName, EventPayload } from '../../shared/contract'
import { generateDemo } from '../demo'
import { nodeProcessHost } from '../process'
import { createTrainService } from './train'

let root: string
const events: { name: EventName; payload: unknown }[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-train-service-'))
  await generateDemo(join(root, 'demo'), { train: 32, val: 8, classes: 3, size: 8, shardMaxcount: 16, seed: 4 })
}, 60_000)
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function finished(runId: string): Promise<EventPayload<'train.status'>> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const e = events.find((x) => x.name === 'train.status' && (x.payload as EventPayload<'train.status'>).runId === runId && (x.payload as EventPayload<'train.status'>).summary.status !== 'running')
      if (e) {
        clearInterval(poll)
        resolve(e.payload as EventPayload<'train.status'>)
      }
    }, 100)
  })
}

describe('train service', () => {
  it('starts a run, streams batched metric events, lists it, re-runs it with a change and compares the two', async () => {
    const service = createTrainService({
      processHost: nodeProcessHost,
      emit: (name, payload) => events.push({ name, payload }),
      stateDir: join(root, 'state'),
      demoDir: join(root, 'demo'),
      host: 'serve'
    })
    const h = service.handlers
    const first = await h['train.start']({ config: { workers: 1, epochs: 1, batch: 8, maxBatchesPerEpoch: 2, backend: 'cpu', validateEvery: 0 }, datasetDir: join(root, 'demo') })
    const done = await finished(first.runId)
    expect(done.summary.status).toBe('finished')
    const batches = events.filter((e) => e.name === 'train.metrics').map((e) => (e.payload as EventPayload<'train.metrics'>).points)
    const points = batches.flat()
    // Batched: fewer events than points, and every step arrived.
    expect(batches.length).toBeLessThan(points.length)
    expect(points.filter((p) => p.kind === 'step')).toHaveLength(2)

    const second = await h['train.rerun']({ runId: first.runId, changes: { lr: 0.01, backend: 'auto' } })
    const secondDone = await finished(second.runId)
    expect(secondDone.summary.config.lr).toBe(0.01)
    // While it runs, a status names the backend 'auto' chose, not 'auto'.
    const running = events.filter((e) => e.name === 'train.status').map((e) => (e.payload as EventPayload<'train.status'>).summary).filter((s) => s.id === second.runId && s.status === 'running')
    expect(running.map((s) => s.backend)).toEqual(['auto', secondDone.summary.backend])
    const { runs } = await h['train.list']({})
    expect(runs.map((r) => r.id).sort()).toEqual([first.runId, second.runId].sort())
    const comparison = await h['train.compare']({ runIds: [first.runId, second.runId] })
    expect(comparison.configDiff).toEqual({ lr: [0.05, 0.01], backend: ['cpu', 'auto'] })
    expect(comparison.validationLoss.at(-1)!.values.every((v) => v !== null && v > 0)).toBe(true)
    const metrics = await h['train.metrics']({ runId: first.runId, from: 0 })
    expect(metrics.points.length).toBe(points.length)
    await service.dispose()
  }, 300_000)
})
