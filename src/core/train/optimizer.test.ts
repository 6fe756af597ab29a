import { describe, expect, it } from 'vitest'
import { applyUpdate, createOptimizerState } from './optimizer'

describe('server optimizers on flat arrays', () => {
  it('SGD with momentum accumulates velocity like PyTorch (v = μv + g; w −= lr·v)', () => {
    const w = new Float32Array([1, -1])
    const state = createOptimizerState('sgd', 2)
    const g = new Float32Array([0.5, 1])
    applyUpdate(w, g, state, { kind: 'sgd', momentum: 0.9 }, 0.1)
    expect(Array.from(w)).toEqual([1 - 0.05, -1 - 0.1].map(Math.fround))
    applyUpdate(w, g, state, { kind: 'sgd', momentum: 0.9 }, 0.1)
    // v = 0.9·0.5 + 0.5 = 0.95 → w = 0.95 − 0.095
    expect(w[0]).toBeCloseTo(0.95 - 0.095, 6)
    expect(state.steps).toBe(2)
  })

  it('Adam first step moves each weight by lr against the sign of its gradient', () => {
    const w = new Float32Array([0, 0, 0])
    const state = createOptimizerState('adam', 3)
    applyUpdate(w, new Float32Array([3, -0.001, 0]), state, { kind: 'adam', momentum: 0 }, 0.01)
    expect(w[0]).toBeCloseTo(-0.01, 5)
    expect(w[1]).toBeCloseTo(0.01, 4)
    expect(w[2]).toBe(0)
  })

  it('an update of the wrong length is refused', () => {
    expect(() => applyUpdate(new Float32Array(2), new Float32Array(3), createOptimizerState('sgd', 2), { kind: 'sgd', momentum: 0 }, 1)).toThrow(/3 gradients for 2 weights/)
  })
})
