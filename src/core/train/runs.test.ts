import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readMetrics } from './runs'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shardscope-runs-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('readMetrics', () => {
  it('passes over a line that is not a point and leaves a half-written last line for next time', async () => {
    const step = (n: number) => JSON.stringify({ kind: 'step', t: n, worker: 0, step: n, epoch: 0, loss: 1, samples: 8, computeMs: 10 })
    await writeFile(join(dir, 'metrics.jsonl'), [step(1), '{"kind":"step","t":1,"wo{"kind":"step"}', '{"kind":"no-such-kind"}', step(2), '{"kind":"st'].join('\n'))
    const { points, next } = await readMetrics(dir)
    expect(points.map((p) => (p.kind === 'step' ? p.step : null))).toEqual([1, 2])
    expect(next).toBe(4)
  })
})
