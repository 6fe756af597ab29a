/**
 * Gradient kernels for TensorFlow.js's WASM backend, built from its fast kernels.
 *
 * The WASM backend (tfjs-backend-wasm 4.22) has no `Conv2DBackpropFilter` at all, and
 * its `Conv2DBackpropInput` and transposed `BatchMatMul` are naive loops: measured on
 * 2 cores, 196 ms for a [64,16,16,64]→[64,16,16,32] input gradient against 17 ms for
 * the same work as a forward conv (XNNPACK), and 207 ms for [288,16384]ᵀ×[16384,64]
 * against 17 ms untransposed. These kernels rewrite each as the fast kernels:
 *
 * - Conv2DBackpropInput = forward Conv2D of dy (zero-dilated by the stride) with the
 *   filter rotated 180° and its in/out channels swapped;
 * - Conv2DBackpropFilter, stride 1, output channels in eights: a register-tiled
 *   WebAssembly SIMD kernel straight over x and dy (./simd-kernels.ts), ≈ 38 GFLOP/s
 *   like XNNPACK's forward conv: 7–16 ms per layer of the small CNN at batch 64, where
 *   the next way took ≈ 30. Other stride-1 convs: a forward Conv2D in which dy's output
 *   channels are the images, the batch is the channel axis and x is the filter (see the
 *   function), so XNNPACK does the n·ho·wo-long reductions with no im2col matrix (but
 *   with cin as its output channels, often too few for its tiles: ≈ 15 GFLOP/s). Strided
 *   convs keep im2col of x, laid out transposed ([kh·kw·cin, n·ho·wo]), times dy as an
 *   untransposed BatchMatMul;
 * - BatchMatMul with transposeA/B = the operand transposed in JS, then untransposed;
 * - MaxPoolGrad: one pass routing each dy to its window's maximum (the WASM one was the
 *   slowest kernel of a small-CNN step after the convolution gradients); for the 2×2
 *   stride-2 pooling the models use, in WebAssembly SIMD on the backend's memory
 *   (./simd-kernels.ts) when the channels come in fours, else a branch-light JS loop;
 * - Identity shares its input's memory instead of copying it (see sharedIdentity).
 *
 * It also adds two kernels of our own, training-mode batch norm (+ ReLU) forward and
 * backward (./batch-norm.ts, its passes in SIMD by ./batch-norm-simd.ts), which
 * ../model.ts uses when the active backend has them and composes from tfjs ops otherwise.
 *
 * It does not change any other backend, nor the results (tests check each against the
 * CPU backend), only speed. `registerWasmGradientKernels` is called by ../backends when
 * the WASM backend is chosen.
 */
import * as tf from '@tensorflow/tfjs-core'
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core'
import { batchNormBackward, batchNormForward, jsPasses, type BatchNormPasses } from './batch-norm'
import { simdBatchNormPasses, simdScratchFloats } from './batch-norm-simd'
import { filterGradientBlock, simdKernelsFor, type SimdKernels } from './simd-kernels'
import type { WasmMemory } from '../../wasm-assembler'

/** Inputs x, gamma, beta; attrs relu, epsilon; outputs y, mean, variance, rstd. */
export const BATCH_NORM_TRAINING = 'ShardScopeBatchNormTraining'
/** Inputs dy, x, y, mean, rstd, gamma; attr relu; outputs dx, dGamma, dBeta. */
export const BATCH_NORM_TRAINING_GRAD = 'ShardScopeBatchNormTrainingGrad'

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
  disposeData(dataId: object): boolean
  incRef(dataId: object): void
  /** The Emscripten module: its memory is the export `asm.memory`, or `wasmMemory` in the threaded build. */
  wasm: { asm?: { memory?: WasmMemory }; wasmMemory?: WasmMemory }
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }

let registered = false

/** The kernel as tfjs-backend-wasm registered it; throws if the WASM backend was not imported. */
function wasmKernel(name: string): KernelConfig {
  const kernel = tf.getKernel(name, 'wasm')
  if (!kernel) throw new Error(`tfjs-backend-wasm does not register '${name}': import @tensorflow/tfjs-backend-wasm first`)
  return kernel
}

function call(kernel: KernelConfig, args: KernelArgs): TensorInfo {
  return (kernel.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)(args)
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** Replaces (or adds) a WASM kernel, keeping the original's setup so backend init still wires it. */
function replaceKernel(name: string, kernelFunc: (args: KernelArgs) => TensorInfo, setupFunc?: KernelConfig['setupFunc']): void {
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm')
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc, setupFunc })
}

/**
 * Registers the faster gradient kernels for the 'wasm' backend. Idempotent; safe before
 * or after `tf.setBackend('wasm')`.
 */
export function registerWasmGradientKernels(): void {
  if (registered) return
  const conv2d = wasmKernel('Conv2D')
  const batchMatMul = wasmKernel('BatchMatMul')
  const reshape = wasmKernel('Reshape')
  const naiveBackpropInput = wasmKernel('Conv2DBackpropInput')

  replaceKernel('Conv2DBackpropInput', (args) => conv2dBackpropInput(args, conv2d, naiveBackpropInput), naiveBackpropInput.setupFunc)
  replaceKernel('Conv2DBackpropFilter', (args) => conv2dBackpropFilter(args, conv2d, batchMatMul, reshape))
  replaceKernel('BatchMatMul', (args) => batchMatMulUntransposed(args, batchMatMul), batchMatMul.setupFunc)
  replaceKernel('MaxPoolGrad', maxPoolGrad, wasmKernel('MaxPoolGrad').setupFunc)
  const copyingIdentity = wasmKernel('Identity')
  replaceKernel('Identity', (args) => sharedIdentity(args, copyingIdentity), copyingIdentity.setupFunc)
  replaceKernel(BATCH_NORM_TRAINING, batchNormTraining as unknown as (args: KernelArgs) => TensorInfo)
  replaceKernel(BATCH_NORM_TRAINING_GRAD, batchNormTrainingGrad as unknown as (args: KernelArgs) => TensorInfo)
  registered = true
}

/**
 * Identity that shares the input's memory (one more reference to it) instead of copying
 * it, as the CPU backend's does. tfjs clones every tensor a gradient needs later (inputs
 * and outputs saved for the backward pass) through Identity, and the WASM backend's copies
 * them: a second copy of each saved activation, and time (steps alternating in one
 * process, small CNN at batch 64: 330 → 324 ms median). Sharing is safe because no kernel
 * writes into its inputs (tfjs's WASM kernels and these write only into outputs they
 * allocate; its own Reshape already shares memory this way).
 */
function sharedIdentity(args: KernelArgs, copying: KernelConfig): TensorInfo {
  const x = args.inputs.x!
  if (x.dtype === 'string') return call(copying, args)
  args.backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

function convInfoOf(
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>
): backend_util.Conv2DInfo & { ok: boolean } {
  const dataFormat = backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC')
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat
  )
  return Object.assign(info, { ok: dataFormat === 'channelsLast' && info.dilationHeight === 1 && info.dilationWidth === 1 })
}

/** The WASM backend's (XNNPACK) forward conv, stride 1, with explicit [top, bottom, left, right] zero padding. */
function stride1Conv(conv2d: KernelConfig, backend: WasmBackend, x: TensorInfo, filter: TensorInfo, pad: [number, number, number, number]): TensorInfo {
  const [top, bottom, left, right] = pad
  const attrs = { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dilations: [1, 1], dataFormat: 'NHWC' }
  return call(conv2d, { inputs: { x, filter }, backend, attrs })
}

/** dx of y = conv2d(x, W): a forward conv of the stride-dilated dy with W rotated and transposed. */
function conv2dBackpropInput(args: KernelArgs, conv2d: KernelConfig, naive: KernelConfig): TensorInfo {
  const { inputs, backend, attrs } = args
  const dy = inputs.dy!
  const filter = inputs.filter!
  const info = convInfoOf(attrs.inputShape as number[], filter.shape, attrs)
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: ho, outWidth: wo, outChannels: cout } = info
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
  const dilatedH = (ho - 1) * sh + 1
  const dilatedW = (wo - 1) * sw + 1
  const padTop = kh - 1 - info.padInfo.top
  const padLeft = kw - 1 - info.padInfo.left
  const padBottom = h - (dilatedH + padTop - kh + 1)
  const padRight = w - (dilatedW + padLeft - kw + 1)
  if (!info.ok || Math.min(padTop, padLeft, padBottom, padRight) < 0) return call(naive, args)

  // Filter [kh,kw,cin,cout] → rotated 180°, channels swapped: [kh,kw,cout,cin].
  const flipped = backend.makeOutput([kh, kw, cout, cin], 'float32')
  {
    const src = backend.typedArrayFromHeap(filter)
    const dst = backend.typedArrayFromHeap(flipped)
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * cin * cout
        const to = (a * kw + b) * cout * cin
        for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) dst[to + co * cin + ci] = src[from + ci * cout + co]!
      }
    }
  }
  let dilated = dy
  if (sh > 1 || sw > 1) {
    dilated = backend.makeOutput([n, dilatedH, dilatedW, cout], 'float32')
    const src = backend.typedArrayFromHeap(dy)
    const dst = backend.typedArrayFromHeap(dilated)
    dst.fill(0)
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const from = ((b * ho + oy) * wo + ox) * cout
          dst.set(src.subarray(from, from + cout), ((b * dilatedH + oy * sh) * dilatedW + ox * sw) * cout)
        }
      }
    }
  }
  const dx = stride1Conv(conv2d, backend, dilated, flipped, [padTop, padBottom, padLeft, padRight])
  backend.disposeData(flipped.dataId)
  if (dilated !== dy) backend.disposeData(dilated.dataId)
  return dx
}

/**
 * dW of y = conv2d(x, W), stride 1, as one forward conv: dW[a,b,ci,co] =
 * Σ x[n,y+a−top,x+b−left,ci]·dy[n,y,x,co] is a conv whose images are dy's output
 * channels ([cout, ho, wo, n]: the batch becomes the channel axis) and whose filter is
 * x ([h, w, n, cin]), over dy padded by k−1−pad, giving dW rotated 180° as
 * [cout, kh, kw, cin]. XNNPACK packs x (the smaller operand) and runs the n·ho·wo-long
 * reductions without an im2col matrix.
 */
function conv2dBackpropFilter(args: KernelArgs, conv2d: KernelConfig, batchMatMul: KernelConfig, reshape: KernelConfig): TensorInfo {
  const { inputs, backend, attrs } = args
  const x = inputs.x!
  const dy = inputs.dy!
  const filterShape = attrs.filterShape as number[]
  const info = convInfoOf(x.shape, filterShape, attrs)
  if (!info.ok) throw new Error('Conv2DBackpropFilter on wasm supports NHWC without dilation only')
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: ho, outWidth: wo, outChannels: cout } = info
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
  const padTop = kh - 1 - info.padInfo.top
  const padLeft = kw - 1 - info.padInfo.left
  // The conv's output is kh × kw when ho + padTop + padBottom − h + 1 = kh.
  const padBottom = kh - 1 + h - ho - padTop
  const padRight = kw - 1 + w - wo - padLeft
  if (sh !== 1 || sw !== 1 || Math.min(padTop, padLeft, padBottom, padRight) < 0) {
    return conv2dBackpropFilterIm2col(args, info, batchMatMul, reshape)
  }
  // Output channels in eights: a register-tiled SIMD kernel straight over x and dy.
  const direct = cout % 8 === 0 && n * ho * wo > 0 ? simdKernelsOf(backend) : null
  if (direct) {
    const dW = backend.makeOutput(filterShape, 'float32')
    const out = backend.typedArrayFromHeap(dW)
    out.fill(0)
    const kernel = direct[`filterGradient${filterGradientBlock(cin)}`]
    kernel(backend.typedArrayFromHeap(x).byteOffset, backend.typedArrayFromHeap(dy).byteOffset, out.byteOffset, n, h, w, cin, ho, wo, cout, kh, kw, info.padInfo.top, info.padInfo.left)
    return dW
  }
  const images = backend.makeOutput([cout, ho, wo, n], 'float32')
  {
    const src = backend.typedArrayFromHeap(dy)
    const dst = backend.typedArrayFromHeap(images)
    const pixels = ho * wo
    const plane = pixels * n
    // In blocks of pixels: dy is read in order within each image, and the block's writes
    // (cout planes × the block's pixels × n) stay in the cache until every image has filled its lines.
    const block = Math.max(1, Math.floor(transposeBlockFloats / (n * cout)))
    for (let p0 = 0; p0 < pixels; p0 += block) {
      const p1 = Math.min(pixels, p0 + block)
      for (let img = 0; img < n; img++) {
        let from = (img * pixels + p0) * cout
        for (let p = p0; p < p1; p++) {
          const to = p * n + img
          for (let co = 0; co < cout; co++, from++) dst[to + co * plane] = src[from]!
        }
      }
    }
  }
  const filter = backend.makeOutput([h, w, n, cin], 'float32')
  {
    const src = backend.typedArrayFromHeap(x)
    const dst = backend.typedArrayFromHeap(filter)
    const pixels = h * w
    let to = 0
    for (let p = 0; p < pixels; p++) {
      for (let img = 0; img < n; img++) {
        let from = (img * pixels + p) * cin
        for (let ci = 0; ci < cin; ci++, to++, from++) dst[to] = src[from]!
      }
    }
  }
  const rotated = stride1Conv(conv2d, backend, images, filter, [padTop, padBottom, padLeft, padRight])
  backend.disposeData(images.dataId)
  backend.disposeData(filter.dataId)
  const dW = backend.makeOutput(filterShape, 'float32')
  {
    const src = backend.typedArrayFromHeap(rotated)
    const dst = backend.typedArrayFromHeap(dW)
    for (let co = 0; co < cout; co++) {
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          const from = ((co * kh + (kh - 1 - a)) * kw + (kw - 1 - b)) * cin
          const to = (a * kw + b) * cin * cout + co
          for (let ci = 0; ci < cin; ci++) dst[to + ci * cout] = src[from + ci]!
        }
      }
    }
  }
  backend.disposeData(rotated.dataId)
  return dW
}

/** Floats per block of the filter gradient's transpose of dy (64 KB, inside L2; 8–64 K floats measured alike). */
const transposeBlockFloats = 16384

/** dW of y = conv2d(x, W): im2colᵀ(x) [kh·kw·cin, n·ho·wo] × dy [n·ho·wo, cout]. */
function conv2dBackpropFilterIm2col(
  args: KernelArgs,
  info: backend_util.Conv2DInfo,
  batchMatMul: KernelConfig,
  reshape: KernelConfig
): TensorInfo {
  const { inputs, backend, attrs } = args
  const x = inputs.x!
  const dy = inputs.dy!
  const filterShape = attrs.filterShape as number[]
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outHeight: ho, outWidth: wo, outChannels: cout } = info
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const m = n * ho * wo
  const k = kh * kw * cin
  const cols = backend.makeOutput([1, k, m], 'float32')
  {
    const src = backend.typedArrayFromHeap(x)
    const dst = backend.typedArrayFromHeap(cols)
    // Reads x in order; writes cin rows of cols at once, each sequentially.
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const rowBase = (a * kw + b) * cin * m
        // Output columns whose input column lies inside the image (the rest is padding).
        const ox0 = Math.min(wo, Math.max(0, Math.ceil((left - b) / sw)))
        const ox1 = Math.max(ox0, Math.min(wo, Math.floor((w - 1 - b + left) / sw) + 1))
        for (let img = 0; img < n; img++) {
          for (let oy = 0; oy < ho; oy++) {
            const mBase = (img * ho + oy) * wo
            const iy = oy * sh + a - top
            if (iy < 0 || iy >= h) {
              for (let ci = 0; ci < cin; ci++) dst.fill(0, rowBase + ci * m + mBase, rowBase + ci * m + mBase + wo)
              continue
            }
            for (let ci = 0; ci < cin; ci++) {
              const at = rowBase + ci * m + mBase
              if (ox0 > 0) dst.fill(0, at, at + ox0)
              if (ox1 < wo) dst.fill(0, at + ox1, at + wo)
            }
            const row = (img * h + iy) * w
            for (let ox = ox0; ox < ox1; ox++) {
              const from = (row + ox * sw + b - left) * cin
              let to = rowBase + mBase + ox
              for (let ci = 0; ci < cin; ci++, to += m) dst[to] = src[from + ci]!
            }
          }
        }
      }
    }
  }
  const dy3 = call(reshape, { inputs: { x: dy }, backend, attrs: { shape: [1, m, cout] } })
  const out = call(batchMatMul, { inputs: { a: cols, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } })
  backend.disposeData(cols.dataId)
  backend.disposeData(dy3.dataId)
  out.shape = filterShape
  return out
}

/** A copy of t with its last two dimensions swapped, made in JS (the WASM Transpose is slow for this). */
function transposeLastTwo(backend: WasmBackend, t: TensorInfo): TensorInfo {
  const rank = t.shape.length
  const rows = t.shape[rank - 2]!
  const cols = t.shape[rank - 1]!
  const batch = size(t.shape.slice(0, -2))
  const out = backend.makeOutput([...t.shape.slice(0, -2), cols, rows], 'float32')
  const src = backend.typedArrayFromHeap(t)
  const dst = backend.typedArrayFromHeap(out)
  const block = 32
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols
    for (let r0 = 0; r0 < rows; r0 += block) {
      const r1 = Math.min(rows, r0 + block)
      for (let c0 = 0; c0 < cols; c0 += block) {
        const c1 = Math.min(cols, c0 + block)
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[base + c * rows + r] = src[base + r * cols + c]!
      }
    }
  }
  return out
}

function batchMatMulUntransposed(args: KernelArgs, batchMatMul: KernelConfig): TensorInfo {
  const { inputs, backend, attrs } = args
  if (!attrs.transposeA && !attrs.transposeB) return call(batchMatMul, args)
  const a = attrs.transposeA ? transposeLastTwo(backend, inputs.a!) : inputs.a!
  const b = attrs.transposeB ? transposeLastTwo(backend, inputs.b!) : inputs.b!
  const out = call(batchMatMul, { inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } })
  if (a !== inputs.a) backend.disposeData(a.dataId)
  if (b !== inputs.b) backend.disposeData(b.dataId)
  return out
}

/** dx of y = maxPool(x): each dy goes to the first maximum of its window (as the CPU backend does). */
function maxPoolGrad(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args
  const dy = inputs.dy!
  const x = inputs.input!
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined
  )
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, strideHeight: sh, strideWidth: sw } = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const dx = backend.makeOutput(x.shape, 'float32')
  const src = backend.typedArrayFromHeap(x)
  const grad = backend.typedArrayFromHeap(dy)
  const out = backend.typedArrayFromHeap(dx)
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && h === 2 * ho && w === 2 * wo) {
    // In SIMD where it runs (four channels at a time: ≈ 4× less time), else in JavaScript.
    const simd = c % 4 === 0 && n * ho * wo > 0 ? simdKernelsOf(backend) : null
    if (simd) simd.maxPoolGrad2x2(src.byteOffset, grad.byteOffset, out.byteOffset, n * ho, wo, c * 4)
    else maxPoolGrad2x2(src, grad, out, n * ho, wo, c)
    return dx
  }
  out.fill(0)
  for (let img = 0; img < n; img++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = Math.max(0, oy * sh - top)
      const y1 = Math.min(h, oy * sh - top + fh)
      for (let ox = 0; ox < wo; ox++) {
        const x0 = Math.max(0, ox * sw - left)
        const x1 = Math.min(w, ox * sw - left + fw)
        const gBase = ((img * ho + oy) * wo + ox) * c
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity
          let at = -1
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              const i = ((img * h + iy) * w + ix) * c + ch
              if (src[i]! > best) {
                best = src[i]!
                at = i
              }
            }
          }
          if (at >= 0) out[at]! += grad[gBase + ch]!
        }
      }
    }
  }
  return dx
}

function batchNormTraining(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args
  const x = inputs.x!
  const channels = inputs.gamma!.shape[0]!
  // Every output (and the SIMD passes' scratch) is allocated before any heap view is
  // taken: an allocation can grow the WASM memory, which detaches views taken earlier.
  const outputs = [backend.makeOutput(x.shape, 'float32'), ...[0, 1, 2].map(() => backend.makeOutput([channels], 'float32'))]
  const scratch = backend.makeOutput([simdScratchFloats(channels)], 'float32')
  try {
    const [y, mean, variance, rstd] = outputs.map((t) => backend.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array, Float32Array]
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t)
    const passes = passesFor(backend, channels, heap(scratch))
    batchNormForward(heap(x), heap(inputs.gamma!), heap(inputs.beta!), attrs.relu === true, attrs.epsilon as number, { y, mean, variance, rstd }, passes)
  } finally {
    backend.disposeData(scratch.dataId)
  }
  return outputs
}

function batchNormTrainingGrad(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args
  const x = inputs.x!
  const channels = inputs.gamma!.shape[0]!
  const outputs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([channels], 'float32'), backend.makeOutput([channels], 'float32')]
  const scratch = backend.makeOutput([simdScratchFloats(channels)], 'float32')
  try {
    const [dx, dGamma, dBeta] = outputs.map((t) => backend.typedArrayFromHeap(t)) as [Float32Array, Float32Array, Float32Array]
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t)
    const passes = passesFor(backend, channels, heap(scratch))
    batchNormBackward(heap(inputs.dy!), heap(x), heap(inputs.y!), heap(inputs.mean!), heap(inputs.rstd!), heap(inputs.gamma!), attrs.relu === true, { dx, dGamma, dBeta }, passes)
  } finally {
    backend.disposeData(scratch.dataId)
  }
  return outputs
}

/** Batch norm's passes in SIMD on the backend's memory where they can run, else in JavaScript. */
function passesFor(backend: WasmBackend, channels: number, scratch: Float32Array): BatchNormPasses {
  const memory = memoryOf(backend)
  return (memory && simdBatchNormPasses(memory, channels, scratch)) || jsPasses
}

function memoryOf(backend: WasmBackend): WasmMemory | undefined {
  return backend.wasm.asm?.memory ?? backend.wasm.wasmMemory
}

/** The SIMD kernels on the backend's memory, or null (no SIMD in this WebAssembly). */
function simdKernelsOf(backend: WasmBackend): SimdKernels | null {
  const memory = memoryOf(backend)
  return memory ? simdKernelsFor(memory) : null
}

/**
 * MaxPoolGrad for 2×2 windows, stride 2, no padding, even sizes: windows tile x
 * exactly, so every dx value is written once (the window's first maximum gets dy,
 * the other three 0) and no zero-fill pass is needed.
 */
function maxPoolGrad2x2(x: Float32Array, dy: Float32Array, dx: Float32Array, outRows: number, wo: number, c: number): void {
  const rowStride = 2 * wo * c
  let g = 0
  for (let r = 0; r < outRows; r++) {
    const top = 2 * r * rowStride
    for (let ox = 0; ox < wo; ox++) {
      const a0 = top + 2 * ox * c
      for (let ch = 0; ch < c; ch++, g++) {
        const i00 = a0 + ch
        const i01 = i00 + c
        const i10 = i00 + rowStride
        const i11 = i10 + c
        // First maximum in row-major window order, as the CPU backend picks it.
        let at = i00
        let best = x[i00]!
        if (x[i01]! > best) {
          best = x[i01]!
          at = i01
        }
        if (x[i10]! > best) {
          best = x[i10]!
          at = i10
        }
        if (x[i11]! > best) at = i11
        dx[i00] = 0
        dx[i01] = 0
        dx[i10] = 0
        dx[i11] = 0
        dx[at] = dy[g]!
      }
    }
  }
}
