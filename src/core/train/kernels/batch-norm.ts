/**
 * Training-mode batch norm (+ ReLU) forward and backward, each in two passes over
 * NHWC activations held in plain Float32Arrays. The passes are JavaScript loops here
 * (jsPasses); on the WASM backend they run in WebAssembly SIMD (./batch-norm-simd.ts),
 * and the per-channel arithmetic between them is this file's either way.
 *
 * Composed of tfjs ops, the same work is ~12 kernels per layer on the WASM backend,
 * and the per-channel ones are slow there: a Sum or Mean over axes [0,1,2] transposes
 * the whole tensor first, a Multiply/Sub by a [C] vector broadcasts element by
 * element. Measured on the small CNN at batch 64 (2 shared cores): ≈110 ms per step
 * for the first block's batch norm forward + backward, ≈25 ms in these two passes.
 *
 * Statistics are accumulated in float64 (the variance as E[x²] − E[x]², safe in
 * float64 for activations of any sane scale), so they are at least as accurate as
 * tf.moments' float32 two-pass result.
 *
 * No pass branches on the data: half of a batch-normed layer's values are negative, in no
 * order a CPU can predict, and `v > 0 ? v : 0` or a mask test per element cost 3–4× the
 * arithmetic (measured on random data shaped like the small CNN's three layers at batch
 * 64: 218 → 71 ms per step for these passes, results bit-identical; a whole WASM training
 * step, interleaved A/B runs of 8 steps: 0.48 → 0.46, 0.36 → 0.33, 0.44 → 0.33 s). The ReLU
 * is (v + |v|) / 2 and its mask is taken from the output's bits (see reluMask), multiplied
 * in: where the gradient itself is NaN or ±∞ on the zero side (a step that has already
 * diverged) that gives NaN where a branch gave 0.
 */

export interface BatchNormForward {
  y: Float32Array
  mean: Float32Array
  /** Biased variance over the batch (what running statistics take). */
  variance: Float32Array
  /** 1 / sqrt(variance + epsilon), for the backward pass. */
  rstd: Float32Array
}

/** The passes over the activations: jsPasses (below), or ./batch-norm-simd.ts on the WASM backend's memory. */
export interface BatchNormPasses {
  /** Per channel (the last axis): Σ v and Σ v·w, where v = value, or 0 where `mask` is given and not > 0. */
  channelSums(value: Float32Array, mask: Float32Array | null, w: Float32Array, channels: number): [Float64Array, Float64Array]
  /** out = x·scale[c] + shift[c], then max(·, 0) with `relu`. */
  affine(x: Float32Array, scale: Float32Array, shift: Float32Array, relu: boolean, out: Float32Array): void
  /** out = a[c]·dz + b[c]·x + k[c], with dz = dy, or 0 where `mask` is given and not > 0. */
  gradient(dy: Float32Array, mask: Float32Array | null, x: Float32Array, a: Float32Array, b: Float32Array, k: Float32Array, out: Float32Array): void
}

/** y = relu?(γ·(x − mean)·rstd + β) per channel (the last axis). Writes into `out`. */
export function batchNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  relu: boolean,
  epsilon: number,
  out: BatchNormForward,
  passes: BatchNormPasses = jsPasses
): void {
  const channels = gamma.length
  const count = x.length / channels
  const [sum, sumSquares] = passes.channelSums(x, null, x, channels)
  const scale = new Float32Array(channels)
  const shift = new Float32Array(channels)
  for (let c = 0; c < channels; c++) {
    const mean = sum[c]! / count
    const variance = Math.max(0, sumSquares[c]! / count - mean * mean)
    const rstd = 1 / Math.sqrt(variance + epsilon)
    out.mean[c] = mean
    out.variance[c] = variance
    out.rstd[c] = rstd
    scale[c] = gamma[c]! * rstd
    shift[c] = beta[c]! - mean * gamma[c]! * rstd
  }
  passes.affine(x, scale, shift, relu, out.y)
}

export interface BatchNormBackward {
  dx: Float32Array
  dGamma: Float32Array
  dBeta: Float32Array
}

/**
 * Gradients of batchNormForward given dL/dy. `y` is the forward output (its sign is the
 * ReLU mask). dx = γ·rstd·(dz − mean(dz) − x̂·mean(dz·x̂)) with dz = dy·[y > 0], x̂ =
 * (x − mean)·rstd, rewritten per channel as dx = A·dz + B·x + C.
 */
export function batchNormBackward(
  dy: Float32Array,
  x: Float32Array,
  y: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  gamma: Float32Array,
  relu: boolean,
  out: BatchNormBackward,
  passes: BatchNormPasses = jsPasses
): void {
  const channels = gamma.length
  const count = x.length / channels
  const [dBeta, dzX] = passes.channelSums(dy, relu ? y : null, x, channels)
  const a = new Float32Array(channels)
  const b = new Float32Array(channels)
  const k = new Float32Array(channels)
  for (let c = 0; c < channels; c++) {
    const r = rstd[c]!
    const m = mean[c]!
    // Σ dz·x̂ = rstd·(Σ dz·x − mean·Σ dz)
    const dGamma = r * (dzX[c]! - m * dBeta[c]!)
    out.dBeta[c] = dBeta[c]!
    out.dGamma[c] = dGamma
    const g = gamma[c]! * r
    a[c] = g
    b[c] = (-g * r * dGamma) / count
    k[c] = (-g * dBeta[c]!) / count + (g * r * dGamma * m) / count
  }
  passes.gradient(dy, relu ? y : null, x, a, b, k, out.dx)
}

/** The passes as JavaScript loops, on any Float32Arrays. */
export const jsPasses: BatchNormPasses = {
  channelSums,
  affine(x, scale, shift, relu, y) {
    const channels = scale.length
    if (relu) {
      // For finite v, (v + |v|) / 2 is v when v > 0 and +0 otherwise, exactly; NaN stays NaN, as tf.relu
      // leaves it, and −∞ gives NaN (a step that has already diverged).
      for (let i = 0; i < x.length; ) {
        for (let c = 0; c < channels; c++, i++) {
          const v = x[i]! * scale[c]! + shift[c]!
          y[i] = (v + Math.abs(v)) * 0.5
        }
      }
    } else {
      for (let i = 0; i < x.length; ) for (let c = 0; c < channels; c++, i++) y[i] = x[i]! * scale[c]! + shift[c]!
    }
  },
  gradient(dy, mask, x, a, b, k, dx) {
    const channels = a.length
    if (mask) {
      const maskBits = bitsOf(mask)
      for (let i = 0; i < x.length; ) {
        for (let c = 0; c < channels; c++, i++) dx[i] = a[c]! * (dy[i]! * reluMask(maskBits[i]!)) + b[c]! * x[i]! + k[c]!
      }
    } else {
      for (let i = 0; i < x.length; ) for (let c = 0; c < channels; c++, i++) dx[i] = a[c]! * dy[i]! + b[c]! * x[i]! + k[c]!
    }
  }
}

/** The float32 values' bits, as int32, over the same memory. */
function bitsOf(values: Float32Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length)
}

/**
 * 1 where the float32 with these bits (read as int32) is > 0, else 0 (±0, negatives, NaNs),
 * by integer arithmetic only. Bits as unsigned: (bits + 0x7fffffff) >>> 31 is 1 for
 * 0x00000001–0x80000000, i.e. positive numbers, +∞, positive NaNs and −0;
 * (0x7f800000 − bits) >>> 31 is 1 for 0x7f800001–0x80000000 (positive NaNs and −0) and for
 * negatives the first test already rejects, so `& (… ^ 1)` takes those two out.
 */
function reluMask(bits: number): number {
  return ((bits + 0x7fffffff) >>> 31) & (((0x7f800000 - bits) >>> 31) ^ 1)
}

/** Pixels whose channels channelSums reads before moving to the next channels: 2,048 × 16 channels × 3 arrays fit in L2. */
const pixelsPerBlock = 2048

/**
 * Per channel (the last axis): Σ v and Σ v·w, where v = value, or 0 where `mask` is
 * given and not > 0 (the ReLU's zero side). Four channels at a time with the sums in
 * locals (registers), not in arrays: ≈2× faster in V8; over blocks of pixels, so the
 * passes for the next four channels find the block still in the cache (≈2× again for
 * 16-channel layers, where every pixel is one cache line).
 */
function channelSums(value: Float32Array, mask: Float32Array | null, w: Float32Array, channels: number): [Float64Array, Float64Array] {
  const sums = new Float64Array(channels)
  const products = new Float64Array(channels)
  const maskBits = mask ? bitsOf(mask) : null
  const n = value.length
  const block = pixelsPerBlock * channels
  for (let start = 0; start < n; start += block) {
    const end = Math.min(n, start + block)
    let c = 0
    for (; c + 4 <= channels; c += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, p0 = 0, p1 = 0, p2 = 0, p3 = 0
      // The mask test is the same for every element: predicted, it costs next to nothing.
      for (let i = start + c; i < end; i += channels) {
        const v0 = maskBits ? value[i]! * reluMask(maskBits[i]!) : value[i]!
        const v1 = maskBits ? value[i + 1]! * reluMask(maskBits[i + 1]!) : value[i + 1]!
        const v2 = maskBits ? value[i + 2]! * reluMask(maskBits[i + 2]!) : value[i + 2]!
        const v3 = maskBits ? value[i + 3]! * reluMask(maskBits[i + 3]!) : value[i + 3]!
        s0 += v0
        s1 += v1
        s2 += v2
        s3 += v3
        p0 += v0 * w[i]!
        p1 += v1 * w[i + 1]!
        p2 += v2 * w[i + 2]!
        p3 += v3 * w[i + 3]!
      }
      sums[c]! += s0
      sums[c + 1]! += s1
      sums[c + 2]! += s2
      sums[c + 3]! += s3
      products[c]! += p0
      products[c + 1]! += p1
      products[c + 2]! += p2
      products[c + 3]! += p3
    }
    // Channels past the last four, one at a time.
    for (; c < channels; c++) {
      let sum = 0, product = 0
      for (let i = start + c; i < end; i += channels) {
        const v = maskBits ? value[i]! * reluMask(maskBits[i]!) : value[i]!
        sum += v
        product += v * w[i]!
      }
      sums[c]! += sum
      products[c]! += product
    }
  }
  return [sums, products]
}
