/**
 * Optimizers of the parameter server, on flat Float32Arrays (the model's weight
 * layout): SGD with momentum (PyTorch's form: v = μv + g; w −= lr·v) and Adam
 * (Kingma & Ba, bias-corrected). The state is plain arrays so it can be checkpointed.
 */
export type OptimizerKind = 'sgd' | 'adam'

export interface OptimizerState {
  kind: OptimizerKind
  /** Updates applied so far (Adam's t). */
  steps: number
  /** SGD: [velocity]; Adam: [first moment, second moment]. */
  buffers: Float32Array[]
}

export interface OptimizerSettings {
  kind: OptimizerKind
  momentum: number
}

const BETA1 = 0.9
const BETA2 = 0.999
const EPSILON = 1e-8

export function createOptimizerState(kind: OptimizerKind, weightCount: number): OptimizerState {
  const buffers = kind === 'sgd' ? [new Float32Array(weightCount)] : [new Float32Array(weightCount), new Float32Array(weightCount)]
  return { kind, steps: 0, buffers }
}

/** Apply one update to `weights` in place with learning rate `lr`. */
export function applyUpdate(weights: Float32Array, gradients: Float32Array, state: OptimizerState, settings: OptimizerSettings, lr: number): void {
  if (gradients.length !== weights.length) {
    throw new Error(`update has ${gradients.length} gradients for ${weights.length} weights`)
  }
  state.steps++
  if (state.kind === 'sgd') {
    const v = state.buffers[0]!
    const mu = settings.momentum
    for (let i = 0; i < weights.length; i++) {
      const vi = mu * v[i]! + gradients[i]!
      v[i] = vi
      weights[i] = weights[i]! - lr * vi
    }
    return
  }
  const m = state.buffers[0]!
  const s = state.buffers[1]!
  const c1 = 1 - Math.pow(BETA1, state.steps)
  const c2 = 1 - Math.pow(BETA2, state.steps)
  for (let i = 0; i < weights.length; i++) {
    const g = gradients[i]!
    const mi = BETA1 * m[i]! + (1 - BETA1) * g
    const si = BETA2 * s[i]! + (1 - BETA2) * g * g
    m[i] = mi
    s[i] = si
    weights[i] = weights[i]! - (lr * (mi / c1)) / (Math.sqrt(si / c2) + EPSILON)
  }
}
