/**
 * Batch norm's passes over the activations (./batch-norm.ts, BatchNormPasses) in
 * WebAssembly SIMD (./simd-kernels.ts), on the WASM backend's memory.
 *
 * Why: as JavaScript loops these passes were the largest part of a WASM training step
 * that is not XNNPACK: ≈ 120 ms of a ≈ 340 ms small-CNN step at batch 64 (V8's scalar
 * code, 3–4 ns per element and pass); in SIMD ≈ 40 ms (interleaved steps in one process:
 * median 345 → 265 ms per step).
 *
 * Differences from the JavaScript passes, all within float32 rounding on finite values:
 * sums of 64 values are taken in float32 before float64; the ReLU is f32x4.max(v, 0)
 * (−∞ gives 0 where the JavaScript gives NaN); masked-out gradients are +0 even where dy
 * is NaN (a step that has already diverged).
 */
import type { WasmMemory } from '../../wasm-assembler'
import type { BatchNormPasses } from './batch-norm'
import { simdKernelsFor } from './simd-kernels'

/** Floats of scratch memory the passes need for `channels` channels (see simdBatchNormPasses). */
export function simdScratchFloats(channels: number): number {
  return 7 * channels
}

/**
 * The SIMD passes over `memory`, for arrays that all lie in it, with `scratch`
 * (simdScratchFloats(channels) floats, 8-byte aligned, in the same memory) for the sums and
 * coefficients. Null when they cannot run here: no SIMD, channels not a multiple of 4,
 * or scratch that does not fit; the caller then uses the JavaScript passes.
 */
export function simdBatchNormPasses(memory: WasmMemory, channels: number, scratch: Float32Array): BatchNormPasses | null {
  if (channels % 4 !== 0 || channels === 0 || scratch.buffer !== memory.buffer || scratch.byteOffset % 8 !== 0 || scratch.length < simdScratchFloats(channels)) return null
  const wasm = simdKernelsFor(memory)
  if (!wasm) return null
  const stride = channels * 4
  const sumsAt = scratch.byteOffset
  const coefficients = (index: number): number => scratch.byteOffset + (4 + index) * stride
  const at = (array: Float32Array): number => {
    if (array.buffer !== memory.buffer) throw new Error('batch norm (SIMD): an array outside the WASM backend memory')
    return array.byteOffset
  }
  const put = (index: number, values: Float32Array): void => {
    new Float32Array(memory.buffer, coefficients(index), channels).set(values)
  }
  return {
    channelSums(value, mask, w) {
      // The call allocates nothing, so the memory cannot grow under this view.
      const sums = new Float64Array(memory.buffer, sumsAt, 2 * channels).fill(0)
      if (value.length > 0) (mask ? wasm.sumsMasked : wasm.sums)(at(value), mask ? at(mask) : 0, at(w), value.length * 4, stride, sumsAt)
      return [sums.slice(0, channels), sums.slice(channels)]
    },
    affine(x, scale, shift, relu, out) {
      put(0, scale)
      put(1, shift)
      if (x.length > 0) (relu ? wasm.affineRelu : wasm.affine)(at(x), at(out), coefficients(0), coefficients(1), x.length * 4, stride)
    },
    gradient(dy, mask, x, a, b, k, out) {
      put(0, a)
      put(1, b)
      put(2, k)
      if (x.length > 0) (mask ? wasm.gradientMasked : wasm.gradient)(at(dy), mask ? at(mask) : 0, at(x), at(out), coefficients(0), coefficients(1), coefficients(2), x.length * 4, stride)
    }
  }
}
