import { MessageChannel } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import type { EventPayload } from '../shared/contract'
import type { EventMessage } from '../preload/channels'
import { createPreloadClient, type EventPortLike, type PreloadIpc } from '../preload/client'
import { createEventBatcher, type EventPort } from './event-batcher'

function point(step: number): EventPayload<'train.metrics'>['points'][number] {
  return { step } as unknown as EventPayload<'train.metrics'>['points'][number]
}

/** A port that records what it was asked to post. */
function recordingPort(): EventPort & { batches: EventMessage[][] } {
  const batches: EventMessage[][] = []
  return { batches, postMessage: (message: unknown) => void batches.push(message as EventMessage[]) }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('createEventBatcher', () => {
  it('coalesces a burst of 1,000 events into a few port messages, in order', async () => {
    const port = recordingPort()
    const batcher = createEventBatcher({ intervalMs: 20 })
    batcher.attach(port)
    for (let i = 0; i < 1000; i++) {
      batcher.emit('datasets.indexProgress', { datasetId: 'd', split: 'train', shardsDone: i, shardsTotal: 1000, samples: i, done: false })
    }
    await wait(80)
    expect(port.batches.length).toBeGreaterThanOrEqual(1)
    expect(port.batches.length).toBeLessThanOrEqual(2)
    const delivered = port.batches.flat().map((m) => (m.payload as EventPayload<'datasets.indexProgress'>).shardsDone)
    expect(delivered).toEqual([...Array(1000).keys()])
    batcher.dispose()
  })

  it("merges consecutive train.metrics of one run into one event, keeping other runs' apart", async () => {
    const port = recordingPort()
    const batcher = createEventBatcher({ intervalMs: 10 })
    batcher.attach(port)
    for (let s = 0; s < 50; s++) batcher.emit('train.metrics', { runId: 'a', points: [point(s)] })
    batcher.emit('train.metrics', { runId: 'b', points: [point(0)] })
    batcher.flush()
    expect(port.batches).toHaveLength(1)
    const [a, b] = port.batches[0]!
    expect((a!.payload as EventPayload<'train.metrics'>).points.map((p) => (p as unknown as { step: number }).step)).toEqual([...Array(50).keys()])
    expect((b!.payload as EventPayload<'train.metrics'>).runId).toBe('b')
    batcher.dispose()
  })

  it('holds events until a port is attached, dropping the oldest past the bound', () => {
    const batcher = createEventBatcher({ intervalMs: 10, maxHeld: 3 })
    for (let i = 0; i < 5; i++) batcher.emit('system.problem', { source: 'test', message: String(i) })
    expect(batcher.queued).toBe(3)
    const port = recordingPort()
    batcher.attach(port)
    batcher.flush()
    expect(port.batches[0]!.map((m) => (m.payload as { message: string }).message)).toEqual(['2', '3', '4'])
    batcher.dispose()
  })
})

describe('preload client over a real MessagePort', () => {
  it('delivers batched events to the listeners of each event, and stops after unsubscribe', async () => {
    let onPort: ((event: { ports: ReadonlyArray<EventPortLike> }) => void) | null = null
    const ipc: PreloadIpc = {
      invoke: () => Promise.resolve({ ok: true, value: null }),
      on: (_channel, listener) => (onPort = listener)
    }
    const client = createPreloadClient(ipc)
    const { port1, port2 } = new MessageChannel()
    onPort!({ ports: [port2 as unknown as EventPortLike] })
    const batcher = createEventBatcher({ intervalMs: 5 })
    batcher.attach(port1)

    const seen: string[] = []
    const off = client.on('system.problem', (p) => seen.push(p.message))
    const metrics: number[] = []
    client.on('train.metrics', (p) => metrics.push(p.points.length))
    for (let i = 0; i < 100; i++) batcher.emit('system.problem', { source: 's', message: `m${i}` })
    for (let i = 0; i < 100; i++) batcher.emit('train.metrics', { runId: 'r', points: [point(i)] })
    await wait(60)
    expect(seen).toEqual([...Array(100).keys()].map((i) => `m${i}`))
    expect(metrics).toEqual([100])
    off()
    batcher.emit('system.problem', { source: 's', message: 'after' })
    await wait(30)
    expect(seen).not.toContain('after')
    batcher.dispose()
    port1.close()
  })

  it("turns a refused call into an Error whose message carries the back end's detail", async () => {
    const channels: string[] = []
    const client = createPreloadClient({
      invoke: (channel) => {
        channels.push(channel)
        return Promise.resolve({ ok: false, error: { message: 'ENOENT: /data/x', detail: 'no such file' } })
      },
      on: () => undefined
    })
    await expect(client.call('datasets.open', { folder: '/data/x' })).rejects.toThrow('ENOENT: /data/x (no such file)')
    expect(channels).toEqual(['shardscope.call:datasets.open'])
    expect(client.mediaUrl('abc', 'train', 3, 'jpg', 'thumb')).toBe('shardscope-media://media/abc/train/3/jpg?variant=thumb')
  })
})
