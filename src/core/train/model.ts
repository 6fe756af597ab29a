/**
 * The image classifiers the simulated training runs: a small CNN (conv-BN-ReLU-pool
 * blocks, global average pool, dense) and a small ResNet-style variant.
 *
 * One model code for every backend: only @tensorflow/tfjs-core ops, run on whichever
 * backend `initBackend` (./backends) made active. The model's trainable weights are ONE
 * flat Float32Array with a stable layout (`model.layout`), so the parameter server and
 * the workers exchange plain buffers. Batch-norm running statistics (mean, variance per
 * channel) are model state but not trainable: they live in a second flat array
 * (`model.batchNormLayout`) and travel separately.
 *
 * It does not optimise: gradients come out, weights go in; SGD/Adam live at the server.
 */
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core's Node bundle registers no gradient functions; the @tensorflow/tfjs bundle
// registers all of them into the same global registry (it also brings layers, converter
// and a WebGL backend that never initialises in Node: ≈0.3 s of import, nothing else).
import '@tensorflow/tfjs'
import { createRandom } from '../random'
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels'

export type ModelKind = 'small-cnn' | 'resnet-small'

export interface ModelSpec {
  kind: ModelKind
  /** Height, width, channels of one input image (NHWC). */
  inputShape: [number, number, number]
  classes: number
  /** Same seed → same initial weights, on every backend. */
  seed: number
}

/** Where one named tensor sits inside a flat array. */
export interface WeightSlot {
  name: string
  shape: number[]
  offset: number
  size: number
}

export interface Model {
  readonly spec: ModelSpec
  /** Trainable weights, in flat-array order. */
  readonly layout: readonly WeightSlot[]
  readonly weightCount: number
  /** Batch-norm running mean and variance of each BN layer, in flat-array order. */
  readonly batchNormLayout: readonly WeightSlot[]
  readonly batchNormStatsCount: number
  /** Internal state; use the functions below. */
  readonly state: ModelState
}

interface ModelState {
  /** Host copy of the weights: getWeights needs no device read-back. */
  weights: Float32Array
  runningStats: Float32Array
  tensors: tf.Tensor[]
  /** Running stats as tensors for evaluation; rebuilt lazily when the stats change. */
  statTensors: tf.Tensor[] | null
  disposed: boolean
}

export interface GradientResult {
  /** Mean softmax cross-entropy over the batch, computed with the weights the gradients belong to. */
  loss: number
  /** d loss / d weights, same layout as getWeights. */
  gradients: Float32Array
  /** This batch's per-channel mean and (biased) variance, laid out like batchNormLayout. */
  batchNormStats: Float32Array
}

export interface Evaluation {
  /** Mean loss and accuracies over this batch. */
  loss: number
  top1: number
  top5: number
  /** Sum/count form, so batches can be aggregated: totals over many batches / count. */
  lossSum: number
  top1Correct: number
  top5Correct: number
  count: number
}

/** Momentum of the running statistics (PyTorch's 0.1 for the new batch). */
export const BATCH_NORM_MOMENTUM = 0.9
const BATCH_NORM_EPSILON = 1e-5

/** The named tensors of a model, in order, with how to initialise each. */
interface WeightPlan {
  name: string
  shape: number[]
  init: 'he' | 'ones' | 'zeros' | 'glorot'
  /** Fan-in for He initialisation. */
  fanIn: number
}

function planWeights(spec: ModelSpec): { weights: WeightPlan[]; batchNorms: string[] } {
  const weights: WeightPlan[] = []
  const batchNorms: string[] = []
  const conv = (name: string, k: number, cin: number, cout: number): void => {
    weights.push({ name: `${name}.w`, shape: [k, k, cin, cout], init: 'he', fanIn: k * k * cin })
  }
  const bn = (name: string, channels: number): void => {
    weights.push({ name: `${name}.gamma`, shape: [channels], init: 'ones', fanIn: 0 })
    weights.push({ name: `${name}.beta`, shape: [channels], init: 'zeros', fanIn: 0 })
    batchNorms.push(name)
  }
  const [, , inChannels] = spec.inputShape
  let channels = inChannels
  const widths = [16, 32, 64]
  if (spec.kind === 'small-cnn') {
    widths.forEach((width, i) => {
      conv(`block${i + 1}.conv`, 3, channels, width)
      bn(`block${i + 1}.bn`, width)
      channels = width
    })
  } else {
    const stemWidth = 16
    conv('stem.conv', 3, channels, stemWidth)
    bn('stem.bn', stemWidth)
    channels = stemWidth
    widths.forEach((width, i) => {
      const name = `res${i + 1}`
      conv(`${name}.conv1`, 3, channels, width)
      bn(`${name}.bn1`, width)
      conv(`${name}.conv2`, 3, width, width)
      bn(`${name}.bn2`, width)
      if (width !== channels || i > 0) conv(`${name}.shortcut`, 1, channels, width)
      channels = width
    })
  }
  weights.push({ name: 'head.w', shape: [channels, spec.classes], init: 'glorot', fanIn: channels + spec.classes })
  weights.push({ name: 'head.b', shape: [spec.classes], init: 'zeros', fanIn: 0 })
  return { weights, batchNorms }
}

function toSlots(items: { name: string; shape: number[] }[]): { slots: WeightSlot[]; count: number } {
  let offset = 0
  const slots = items.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1)
    const slot = { name, shape, offset, size }
    offset += size
    return slot
  })
  return { slots, count: offset }
}

function seededNormal(seed: number): () => number {
  const uniform = createRandom(seed)
  return () => {
    const u = Math.max(uniform(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform())
  }
}

export function createModel(spec: ModelSpec): Model {
  const [h, w, c] = spec.inputShape
  if (![h, w, c, spec.classes].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`invalid model spec: inputShape ${JSON.stringify(spec.inputShape)}, classes ${spec.classes}`)
  }
  const plan = planWeights(spec)
  const { slots: layout, count: weightCount } = toSlots(plan.weights)
  const bnItems = plan.batchNorms.flatMap((name) => {
    const channels = layout.find((s) => s.name === `${name}.gamma`)!.shape[0]!
    return [
      { name: `${name}.mean`, shape: [channels] },
      { name: `${name}.var`, shape: [channels] }
    ]
  })
  const { slots: batchNormLayout, count: batchNormStatsCount } = toSlots(bnItems)

  const weights = new Float32Array(weightCount)
  const normal = seededNormal(spec.seed)
  plan.weights.forEach((p, i) => {
    const slot = layout[i]!
    const view = weights.subarray(slot.offset, slot.offset + slot.size)
    if (p.init === 'ones') view.fill(1)
    else if (p.init === 'zeros') view.fill(0)
    else {
      // He for convs (fan-in), Glorot for the head (fanIn holds fan-in + fan-out there).
      const std = Math.sqrt(2 / p.fanIn)
      for (let j = 0; j < view.length; j++) view[j] = normal() * std
    }
  })
  const runningStats = new Float32Array(batchNormStatsCount)
  for (const slot of batchNormLayout) {
    if (slot.name.endsWith('.var')) runningStats.fill(1, slot.offset, slot.offset + slot.size)
  }
  const model: Model = {
    spec: { ...spec, inputShape: [h, w, c] },
    layout,
    weightCount,
    batchNormLayout,
    batchNormStatsCount,
    state: { weights, runningStats, tensors: [], statTensors: null, disposed: false }
  }
  uploadWeights(model)
  return model
}

export function weightCount(model: Model): number {
  return model.weightCount
}

/** A copy of the current weights (flat, `model.layout` order). */
export function getWeights(model: Model): Float32Array {
  return model.state.weights.slice()
}

export function setWeights(model: Model, weights: Float32Array): void {
  if (weights.length !== model.weightCount) {
    throw new Error(`setWeights: expected ${model.weightCount} weights for ${model.spec.kind}, found ${weights.length}`)
  }
  model.state.weights.set(weights)
  uploadWeights(model)
}

/** A copy of the batch-norm running statistics (`model.batchNormLayout` order). */
export function getBatchNormStats(model: Model): Float32Array {
  return model.state.runningStats.slice()
}

export function setBatchNormStats(model: Model, stats: Float32Array): void {
  if (stats.length !== model.batchNormStatsCount) {
    throw new Error(`setBatchNormStats: expected ${model.batchNormStatsCount} values, found ${stats.length}`)
  }
  model.state.runningStats.set(stats)
  disposeStatTensors(model)
}

/**
 * Folds one batch's statistics into running statistics, in place:
 * running = momentum · running + (1 − momentum) · batch. Pure arrays, so the parameter
 * server can do it without a model.
 */
export function mergeBatchNormStats(running: Float32Array, batch: Float32Array, momentum = BATCH_NORM_MOMENTUM): void {
  if (running.length !== batch.length) throw new Error(`mergeBatchNormStats: ${running.length} running vs ${batch.length} batch values`)
  for (let i = 0; i < running.length; i++) running[i] = momentum * running[i]! + (1 - momentum) * batch[i]!
}

function uploadWeights(model: Model): void {
  const { state } = model
  if (state.disposed) throw new Error('model is disposed')
  const old = state.tensors
  state.tensors = model.layout.map((slot) => tf.tensor(state.weights.subarray(slot.offset, slot.offset + slot.size), slot.shape, 'float32'))
  tf.dispose(old)
}

function disposeStatTensors(model: Model): void {
  if (model.state.statTensors) tf.dispose(model.state.statTensors)
  model.state.statTensors = null
}

function statTensors(model: Model): tf.Tensor[] {
  const { state } = model
  if (!state.statTensors) {
    state.statTensors = model.batchNormLayout.map((slot) =>
      tf.tensor(state.runningStats.subarray(slot.offset, slot.offset + slot.size), slot.shape, 'float32')
    )
  }
  return state.statTensors
}

/**
 * Training-mode batch norm (batch statistics) followed by ReLU when `relu`, as one op
 * with its closed-form gradient. Autodiff through moments, normalisation and ReLU takes
 * about twice as many full passes over the activations, and on the CPU backends those
 * elementwise passes, not the convolutions, were most of a step. Pushes the batch mean
 * and (biased) variance onto `collected`, kept past the tape's tidy.
 */
function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, relu: boolean, collected: tf.Tensor[]): tf.Tensor4D {
  // The WASM backend has both passes as kernels of ours (./kernels/batch-norm.ts).
  const fused = tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc]
    if (fused) {
      const attrs = { relu, epsilon: BATCH_NORM_EPSILON } as unknown as tf.NamedAttrMap
      const [value, mean, variance, rstd] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x: input, gamma: g, beta: b }, attrs) as tf.Tensor[]
      collected.push(tf.keep(tf.clone(mean!)), tf.keep(tf.clone(variance!)))
      save([input, value!, mean!, rstd!, g])
      return {
        value: value as tf.Tensor4D,
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [xs, out, mu, invStd, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
          const inputs = { dy, x: xs, y: out, mean: mu, rstd: invStd, gamma: scale }
          return tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, inputs, { relu } as unknown as tf.NamedAttrMap) as tf.Tensor[]
        }
      }
    }
    const { mean, variance } = tf.moments(input, [0, 1, 2])
    collected.push(tf.keep(tf.clone(mean)), tf.keep(tf.clone(variance)))
    const normed = tf.batchNorm4d(input, mean as tf.Tensor1D, variance as tf.Tensor1D, b, g, BATCH_NORM_EPSILON)
    const value = relu ? tf.relu(normed) : normed
    const rstd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON))
    save([input, value, mean, rstd, g])
    return {
      value,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, out, mu, invStd, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
        const count = xs.size / xs.shape[3]!
        const dz = relu ? tf.mul(dy, tf.step(out)) : dy
        const xhat = tf.mul(tf.sub(xs, mu), invStd)
        const dBeta = tf.sum(dz, [0, 1, 2])
        const dGamma = tf.sum(tf.mul(dz, xhat), [0, 1, 2])
        // dx = γ·rstd · (dz − mean(dz) − x̂ · mean(dz·x̂))
        const centred = tf.sub(tf.sub(dz, tf.div(dBeta, count)), tf.mul(xhat, tf.div(dGamma, count)))
        const dx = tf.mul(centred, tf.mul(scale, invStd))
        return [dx, dGamma, dBeta]
      }
    }
  })
  return op(x, gamma, beta) as tf.Tensor4D
}

/** How batch norm normalises in one forward pass. */
type BatchNormMode = { training: true; collected: tf.Tensor[] } | { training: false; running: Map<string, tf.Tensor> }

function forward(model: Model, weights: tf.Tensor[], x: tf.Tensor4D, mode: BatchNormMode): tf.Tensor2D {
  const byName = new Map<string, tf.Tensor>()
  model.layout.forEach((slot, i) => byName.set(slot.name, weights[i]!))
  const p = (name: string): tf.Tensor => byName.get(name)!
  const conv = (name: string, input: tf.Tensor4D, stride: 1 | 2): tf.Tensor4D =>
    tf.conv2d(input, p(`${name}.w`) as tf.Tensor4D, stride, 'same')
  /** Batch norm, then ReLU when `relu`: one fused op in training (see batchNormTraining). */
  const batchNorm = (name: string, input: tf.Tensor4D, relu: boolean): tf.Tensor4D => {
    const gamma = p(`${name}.gamma`) as tf.Tensor1D
    const beta = p(`${name}.beta`) as tf.Tensor1D
    if (mode.training) return batchNormTraining(input, gamma, beta, relu, mode.collected)
    const mean = mode.running.get(`${name}.mean`)! as tf.Tensor1D
    const variance = mode.running.get(`${name}.var`)! as tf.Tensor1D
    const y = tf.batchNorm4d(input, mean, variance, beta, gamma, BATCH_NORM_EPSILON)
    return relu ? tf.relu(y) : y
  }
  const pool = (input: tf.Tensor4D): tf.Tensor4D => tf.maxPool(input, 2, 2, 'valid')

  let y = x
  if (model.spec.kind === 'small-cnn') {
    for (let i = 1; i <= 3; i++) y = pool(batchNorm(`block${i}.bn`, conv(`block${i}.conv`, y, 1), true))
  } else {
    y = pool(batchNorm('stem.bn', conv('stem.conv', y, 1), true))
    for (let i = 1; i <= 3; i++) {
      const stride = i === 1 ? 1 : 2
      const name = `res${i}`
      let branch = batchNorm(`${name}.bn1`, conv(`${name}.conv1`, y, stride), true)
      branch = batchNorm(`${name}.bn2`, conv(`${name}.conv2`, branch, 1), false)
      const shortcut = byName.has(`${name}.shortcut.w`) ? conv(`${name}.shortcut`, y, stride) : y
      y = tf.relu(tf.add(branch, shortcut))
    }
  }
  const pooled = tf.mean(y, [1, 2]) as tf.Tensor2D
  return tf.add(tf.matMul(pooled, p('head.w') as tf.Tensor2D), p('head.b')) as tf.Tensor2D
}

function inputTensor(model: Model, xs: Float32Array, labels: Int32Array): tf.Tensor4D {
  const [h, w, c] = model.spec.inputShape
  const n = labels.length
  if (n === 0) throw new Error('empty batch: no labels')
  if (xs.length !== n * h * w * c) {
    throw new Error(`batch of ${n} labels needs ${n}×${h}×${w}×${c} = ${n * h * w * c} pixel values, found ${xs.length}`)
  }
  for (const label of labels) {
    if (label < 0 || label >= model.spec.classes) throw new Error(`label ${label} outside [0, ${model.spec.classes - 1}]`)
  }
  return tf.tensor4d(xs, [n, h, w, c], 'float32')
}

/** Per-sample softmax cross-entropy: logSumExp(logits) − logit of the true class. */
function perSampleLoss(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, oneHot), 1)) as tf.Tensor1D
}

/**
 * Loss and gradients of one batch, with batch-norm using the batch's statistics.
 * xs: NHWC, normalised, labels.length images. Also folds the batch statistics into the
 * model's own running statistics unless `updateRunningStats` is false (a worker whose
 * statistics are kept at the server passes false).
 */
export async function computeGradients(
  model: Model,
  xs: Float32Array,
  labels: Int32Array,
  options: { updateRunningStats?: boolean } = {}
): Promise<GradientResult> {
  const collected: tf.Tensor[] = []
  const { lossTensor, flat, stats } = tf.tidy(() => {
    const x = inputTensor(model, xs, labels)
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), model.spec.classes), 'float32') as tf.Tensor2D
    const lossOf = (...weights: tf.Tensor[]): tf.Scalar =>
      tf.mean(perSampleLoss(forward(model, weights, x, { training: true, collected }), oneHot)) as tf.Scalar
    const { value, grads } = tf.valueAndGrads(lossOf)(model.state.tensors)
    return {
      lossTensor: value,
      flat: tf.concat(grads.map((g) => tf.reshape(g, [-1]))),
      stats: collected.length > 0 ? tf.concat(collected.map((t) => tf.reshape(t, [-1]))) : tf.zeros([0])
    }
  })
  tf.dispose(collected)
  try {
    const [loss, gradients, batchNormStats] = await Promise.all([lossTensor.data(), flat.data(), stats.data()])
    const result = {
      loss: loss[0]!,
      gradients: gradients as Float32Array,
      batchNormStats: batchNormStats as Float32Array
    }
    if (options.updateRunningStats !== false) {
      mergeBatchNormStats(model.state.runningStats, result.batchNormStats)
      disposeStatTensors(model)
    }
    return result
  } finally {
    tf.dispose([lossTensor, flat, stats])
  }
}

/** Loss, top-1 and top-5 accuracy of one batch, batch-norm using the running statistics. */
export async function evaluate(model: Model, xs: Float32Array, labels: Int32Array): Promise<Evaluation> {
  const running = new Map<string, tf.Tensor>()
  const stats = statTensors(model)
  model.batchNormLayout.forEach((slot, i) => running.set(slot.name, stats[i]!))
  const { logits, losses } = tf.tidy(() => {
    const x = inputTensor(model, xs, labels)
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), model.spec.classes), 'float32') as tf.Tensor2D
    const out = forward(model, model.state.tensors, x, { training: false, running })
    return { logits: out, losses: perSampleLoss(out, oneHot) }
  })
  try {
    const [logitValues, lossValues] = (await Promise.all([logits.data(), losses.data()])) as [Float32Array, Float32Array]
    const classes = model.spec.classes
    let lossSum = 0
    let top1Correct = 0
    let top5Correct = 0
    for (let i = 0; i < labels.length; i++) {
      lossSum += lossValues[i]!
      const row = logitValues.subarray(i * classes, (i + 1) * classes)
      const truth = row[labels[i]!]!
      // Rank of the true class: how many classes score strictly higher.
      let higher = 0
      for (let j = 0; j < classes; j++) if (row[j]! > truth) higher++
      if (higher === 0) top1Correct++
      if (higher < 5) top5Correct++
    }
    const count = labels.length
    return { loss: lossSum / count, top1: top1Correct / count, top5: top5Correct / count, lossSum, top1Correct, top5Correct, count }
  } finally {
    tf.dispose([logits, losses])
  }
}

/** Frees the model's tensors on the backend. */
export function dispose(model: Model): void {
  if (model.state.disposed) return
  tf.dispose(model.state.tensors)
  disposeStatTensors(model)
  model.state.tensors = []
  model.state.disposed = true
}
