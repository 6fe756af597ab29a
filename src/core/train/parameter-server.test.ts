import { describe, expect, it } from 'vitest'
import { ParameterServer, type ServerSettings } from './parameter-server'

const base: ServerSettings = { mode: 'async', staleness: 1, lr: 1, stalenessAwareLr: false, kind: 'sgd', momentum: 0 }
const init = () => ({ weights: new Float32Array([0, 0]), batchNormStats: new Float32Array(0) })
const grad = (worker: number, version: number, g: number[]) => ({ worker, version, gradients: new Float32Array(g), batchNormStats: new Float32Array(0) })

describe('parameter server update rules', () => {
  it('async applies each update on arrival and records its staleness', () => {
    const ps = new ParameterServer(base, init(), [0, 1])
    expect(ps.push(grad(0, 0, [1, 0]))).toEqual([{ worker: 0, version: 1, staleness: 0, lr: 1 }])
    // Worker 1 computed on version 0; the server is at 1 when it arrives.
    expect(ps.push(grad(1, 0, [0, 1]))[0]!.staleness).toBe(1)
    expect(Array.from(ps.weights)).toEqual([-1, -1])
  })

  it('sync averages one update from every live worker, in worker order, then applies once', () => {
    const ps = new ParameterServer({ ...base, mode: 'sync' }, init(), [0, 1])
    expect(ps.push(grad(1, 0, [0, 4]))).toEqual([])
    expect(ps.canServe(1)).toBe(false)
    expect(ps.canServe(0)).toBe(true)
    const applied = ps.push(grad(0, 0, [2, 0]))
    expect(applied.map((a) => [a.worker, a.version, a.staleness])).toEqual([[0, 1, 0], [1, 1, 0]])
    expect(Array.from(ps.weights)).toEqual([-1, -2])
    expect(ps.canServe(1)).toBe(true)
  })

  it('sync does not wait for a worker that is gone', () => {
    const ps = new ParameterServer({ ...base, mode: 'sync' }, init(), [0, 1])
    ps.push(grad(0, 0, [2, 2]))
    expect(ps.version).toBe(0)
    expect(ps.removeWorker(1)).toHaveLength(1)
    expect(ps.version).toBe(1)
  })

  it('ssp holds a worker that is more than s steps ahead of the slowest', () => {
    const ps = new ParameterServer({ ...base, mode: 'ssp', staleness: 1 }, init(), [0, 1])
    ps.push(grad(0, 0, [1, 1]))
    expect(ps.canServe(0)).toBe(true) // 1 ahead
    ps.push(grad(0, 1, [1, 1]))
    expect(ps.canServe(0)).toBe(false) // 2 ahead of worker 1
    ps.push(grad(1, 0, [1, 1]))
    expect(ps.canServe(0)).toBe(true)
  })

  it('staleness-aware learning rate divides lr by 1 + staleness', () => {
    const ps = new ParameterServer({ ...base, stalenessAwareLr: true }, init(), [0, 1])
    ps.push(grad(0, 0, [1, 1]))
    ps.push(grad(0, 1, [1, 1]))
    const [applied] = ps.push(grad(1, 0, [1, 1]))
    expect(applied).toMatchObject({ staleness: 2, lr: 1 / 3 })
  })
})
