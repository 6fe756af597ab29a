/**
 * Hand-assembled WebAssembly SIMD loops that run on the WASM backend's own memory: its
 * tensors are read and written where the backend keeps them, four float32 lanes per
 * instruction, no copies. Batch norm's passes (./batch-norm-simd.ts) and the 2×2 max-pool
 * gradient (./index.ts). Nothing here can compile C to WebAssembly, so the module is
 * assembled from the instruction lists below (../../wasm-assembler.ts): one module per
 * kind of memory (the threaded backend's is shared), one instance per memory.
 *
 * `sums` (batch norm's per-channel Σ v and Σ v·w; `sumsMasked` also ANDs each value with
 * `mask > 0`), as text:
 *
 *   (func $sums (param $value $mask $w $bytes $stride $out i32)
 *     ;; $bytes = pixels × $stride, $stride = channels × 4; channels a multiple of 4
 *     (loop $blocks                      ;; 2,048 pixels at a time: their lines stay in L2
 *       (local.set $blockEnd (min (blockStart + 2048 × $stride) $bytes))
 *       (loop $groups                    ;; 4 channels: byte offset $g in a pixel
 *         (local.set $p (blockStart + $g))
 *         (loop $chunks                  ;; 64 pixels summed in float32, then added in float64
 *           (local.set $chunkEnd (min ($p + 64 × $stride) $blockEnd))
 *           (loop $pixels
 *             (v = v128.load ($value + $p))
 *             (fs = f32x4.add fs v)  (fp = f32x4.add fp (f32x4.mul v (v128.load ($w + $p))))
 *             (br_if $pixels (($p += $stride) < $chunkEnd)))
 *           (out[$g / 4 …] += f64x2.promote_low fs, and its high lanes; the same for fp, C doubles on)
 *           (br_if $chunks ($p < $blockEnd)))
 *         (br_if $groups (($g += 16) < $stride)))
 *       (br_if $blocks ((blockStart = $blockEnd) < $bytes))))
 *
 * `affine`, `gradient` and `maxPoolGrad2x2` are one pass each, pixel by pixel, four
 * channels at a time, with per-channel coefficients loaded beside the values.
 */
import { assembleModule, I32, op, sleb, V128, v128, webAssembly, type AssembledFunction, type WasmMemory } from '../../wasm-assembler'

const BLOCK_PIXELS = 2048
const CHUNK_PIXELS = 64

const { local_get: get, local_set: set, local_tee: tee, i32_const, i32_add, i32_mul, i32_lt_u, i32_shl, br_if, select } = op
const zero = v128.zero
const load = (...address: number[]): number[] => [...address, ...v128.load]

function sumsFunction(masked: boolean): AssembledFunction {
  const [value, mask, w, bytes, stride, out] = [0, 1, 2, 3, 4, 5]
  const [blockStart, blockEnd, g, p, chunkEnd, o, fs, fp, v] = [6, 7, 8, 9, 10, 11, 12, 13, 14]
  const flush = (acc: number, at: number[]): number[] => [
    // low two channels, then the high two (lanes 2, 3 moved down), each added into its float64 pair
    ...[...at, set, o],
    ...[get, o, ...load(get, o), get, acc, ...v128.f64x2_promote_low_f32x4, ...v128.f64x2_add, ...v128.store],
    ...[get, o, i32_const, 16, i32_add, ...load(get, o, i32_const, 16, i32_add), get, acc, get, acc, ...v128.highToLow, ...v128.f64x2_promote_low_f32x4, ...v128.f64x2_add, ...v128.store]
  ]
  const body = [
    ...[i32_const, 0, set, blockStart],
    ...op.loop, // blocks
    ...[get, blockStart, i32_const, ...sleb(BLOCK_PIXELS), get, stride, i32_mul, i32_add, set, blockEnd],
    ...[get, blockEnd, get, bytes, get, blockEnd, get, bytes, i32_lt_u, select, set, blockEnd],
    ...[i32_const, 0, set, g],
    ...op.loop, // groups
    ...[get, blockStart, get, g, i32_add, set, p],
    ...op.loop, // chunks
    ...[get, p, i32_const, ...sleb(CHUNK_PIXELS), get, stride, i32_mul, i32_add, set, chunkEnd],
    ...[get, chunkEnd, get, blockEnd, get, chunkEnd, get, blockEnd, i32_lt_u, select, set, chunkEnd],
    ...[...zero, set, fs, ...zero, set, fp],
    ...op.loop, // pixels
    ...load(get, value, get, p, i32_add),
    ...(masked ? [...load(get, mask, get, p, i32_add), ...zero, ...v128.f32x4_gt, ...v128.and] : []),
    ...[tee, v, get, fs, ...v128.f32x4_add, set, fs],
    ...[get, v, ...load(get, w, get, p, i32_add), ...v128.f32x4_mul, get, fp, ...v128.f32x4_add, set, fp],
    ...[get, p, get, stride, i32_add, tee, p, get, chunkEnd, i32_lt_u, br_if, 0],
    op.end,
    // channel c's sum is the float64 at out + 8c; this group's first channel is g / 4, so at out + 2g
    ...flush(fs, [get, out, get, g, i32_const, 1, i32_shl, i32_add]),
    // the products follow the channels' sums: C float64s = 2 × stride bytes on
    ...flush(fp, [get, out, get, g, i32_const, 1, i32_shl, i32_add, get, stride, i32_const, 1, i32_shl, i32_add]),
    ...[get, p, get, blockEnd, i32_lt_u, br_if, 0],
    op.end,
    ...[get, g, i32_const, 16, i32_add, tee, g, get, stride, i32_lt_u, br_if, 0],
    op.end,
    ...[get, blockEnd, tee, blockStart, get, bytes, i32_lt_u, br_if, 0],
    op.end
  ]
  return { name: masked ? 'sumsMasked' : 'sums', params: 6, results: [], locals: [[6, I32], [3, V128]], body }
}

/**
 * A loop over every pixel (byte offset i, by stride up to bytes) and, within it, every group
 * of four channels (byte offset g, by 16): `step` is run with j = i + g set, for the
 * elementwise passes below.
 */
function eachPixelGroup(locals: { i: number; g: number; j: number; bytes: number; stride: number }, step: number[]): number[] {
  const { i, g, j, bytes, stride } = locals
  return [
    ...[i32_const, 0, set, i],
    ...op.loop,
    ...[i32_const, 0, set, g],
    ...op.loop,
    ...[get, i, get, g, i32_add, set, j],
    ...step,
    ...[get, g, i32_const, 16, i32_add, tee, g, get, stride, i32_lt_u, br_if, 0],
    op.end,
    ...[get, i, get, stride, i32_add, tee, i, get, bytes, i32_lt_u, br_if, 0],
    op.end
  ]
}

/** out = x·scale + shift (then max(·, 0) with relu); params x, out, scale, shift, bytes, stride. */
function affineFunction(relu: boolean): AssembledFunction {
  const [x, out, scale, shift, bytes, stride] = [0, 1, 2, 3, 4, 5]
  const [i, g, j] = [6, 7, 8]
  const body = eachPixelGroup({ i, g, j, bytes, stride }, [
    ...[get, out, get, j, i32_add],
    ...load(get, x, get, j, i32_add),
    ...load(get, scale, get, g, i32_add),
    ...v128.f32x4_mul,
    ...load(get, shift, get, g, i32_add),
    ...v128.f32x4_add,
    ...(relu ? [...zero, ...v128.f32x4_max] : []),
    ...v128.store
  ])
  return { name: relu ? 'affineRelu' : 'affine', params: 6, results: [], locals: [[3, I32]], body }
}

/** out = a·dz + b·x + k, dz = dy (masked: 0 where mask ≤ 0); params dy, mask, x, out, a, b, k, bytes, stride. */
function gradientFunction(masked: boolean): AssembledFunction {
  const [dy, mask, x, out, a, b, k, bytes, stride] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
  const [i, g, j] = [9, 10, 11]
  const body = eachPixelGroup({ i, g, j, bytes, stride }, [
    ...[get, out, get, j, i32_add],
    ...load(get, dy, get, j, i32_add),
    ...(masked ? [...load(get, mask, get, j, i32_add), ...zero, ...v128.f32x4_gt, ...v128.and] : []),
    ...load(get, a, get, g, i32_add),
    ...v128.f32x4_mul,
    ...load(get, x, get, j, i32_add),
    ...load(get, b, get, g, i32_add),
    ...v128.f32x4_mul,
    ...v128.f32x4_add,
    ...load(get, k, get, g, i32_add),
    ...v128.f32x4_add,
    ...v128.store
  ])
  return { name: masked ? 'gradientMasked' : 'gradient', params: 9, results: [], locals: [[3, I32]], body }
}

/**
 * MaxPoolGrad for 2×2 windows, stride 2, no padding, even sizes (the windows tile x): each
 * window's first maximum in row-major order gets dy, the other three +0, exactly as the
 * scalar version in ./index.ts (strict > comparisons in order, so NaN never wins; dy's bits
 * are passed, not multiplied). Params x, dy, dx, outRows (images × output rows), wo, stride.
 */
function maxPoolGrad2x2Function(): AssembledFunction {
  const [x, dy, dx, outRows, wo, stride] = [0, 1, 2, 3, 4, 5]
  const [rowBytes, r, rowStart, window, g, p, d] = [6, 7, 8, 9, 10, 11, 12]
  const [a, b, c, e, selB, selC, selD, best, grad] = [13, 14, 15, 16, 17, 18, 19, 20, 21]
  const at = (base: number, ...offsets: number[]): number[] => [get, base, get, p, i32_add, ...offsets.flatMap((o) => [get, o, i32_add])]
  const body = [
    ...[get, wo, get, stride, i32_mul, i32_const, 1, i32_shl, set, rowBytes],
    ...[i32_const, 0, set, r, i32_const, 0, set, rowStart, i32_const, 0, set, d],
    ...op.loop, // output rows
    ...[i32_const, 0, set, window],
    ...op.loop, // windows along the row
    ...[i32_const, 0, set, g],
    ...op.loop, // four channels
    ...[get, rowStart, get, window, i32_add, get, g, i32_add, set, p],
    ...[...load(...at(x)), set, a, ...load(...at(x, stride)), set, b],
    ...[...load(...at(x, rowBytes)), set, c, ...load(...at(x, rowBytes, stride)), set, e],
    ...[get, b, get, a, ...v128.f32x4_gt, set, selB],
    ...[get, b, get, a, get, selB, ...v128.bitselect, set, best],
    ...[get, c, get, best, ...v128.f32x4_gt, set, selC],
    ...[get, c, get, best, get, selC, ...v128.bitselect, set, best],
    ...[get, e, get, best, ...v128.f32x4_gt, set, selD],
    ...[...load(get, dy, get, d, i32_add), set, grad],
    ...[...at(dx), get, grad, get, selB, get, selC, ...v128.or, get, selD, ...v128.or, ...v128.andnot, ...v128.store],
    ...[...at(dx, stride), get, grad, get, selB, ...v128.and, get, selC, get, selD, ...v128.or, ...v128.andnot, ...v128.store],
    ...[...at(dx, rowBytes), get, grad, get, selC, ...v128.and, get, selD, ...v128.andnot, ...v128.store],
    ...[...at(dx, rowBytes, stride), get, grad, get, selD, ...v128.and, ...v128.store],
    ...[get, d, i32_const, 16, i32_add, set, d],
    ...[get, g, i32_const, 16, i32_add, tee, g, get, stride, i32_lt_u, br_if, 0],
    op.end,
    ...[get, window, get, stride, i32_const, 1, i32_shl, i32_add, tee, window, get, rowBytes, i32_lt_u, br_if, 0],
    op.end,
    ...[get, rowStart, get, rowBytes, i32_const, 1, i32_shl, i32_add, set, rowStart],
    ...[get, r, i32_const, 1, i32_add, tee, r, get, outRows, i32_lt_u, br_if, 0],
    op.end
  ]
  return { name: 'maxPoolGrad2x2', params: 6, results: [], locals: [[7, I32], [9, V128]], body }
}

/**
 * dy [n, pixels, cout] → [cout, pixels, n] (the filter gradient's images, ./index.ts), 4 images
 * × 4 channels at a time: four loads, a 4×4 transpose in shuffles, four stores. Over blocks
 * of `blockPixels` pixels so that a block's writes stay in the cache until every image has
 * filled its lines. n and cout multiples of 4. Params src, dst, n, pixels, cout, blockPixels.
 */
function transposeImagesFunction(): AssembledFunction {
  const [src, dst, n, pixels, cout, blockPixels] = [0, 1, 2, 3, 4, 5]
  const [p0, p1, img, p, co, s, d, imgStride, coStride] = [6, 7, 8, 9, 10, 11, 12, 13, 14]
  const [r0, r1, r2, r3, t0, t1, t2, t3] = [15, 16, 17, 18, 19, 20, 21, 22]
  const times = (local: number, k: number): number[] => [get, local, i32_const, k, i32_mul]
  const body = [
    ...[get, pixels, get, cout, i32_mul, i32_const, 2, i32_shl, set, imgStride],
    ...[get, pixels, get, n, i32_mul, i32_const, 2, i32_shl, set, coStride],
    ...[i32_const, 0, set, p0],
    ...op.loop, // blocks of pixels
    ...[get, p0, get, blockPixels, i32_add, set, p1],
    ...[get, p1, get, pixels, get, p1, get, pixels, i32_lt_u, select, set, p1],
    ...[i32_const, 0, set, img],
    ...op.loop, // four images
    ...[get, p0, set, p],
    ...op.loop, // pixels of the block
    ...[get, src, get, img, get, pixels, i32_mul, get, p, i32_add, get, cout, i32_mul, i32_const, 2, i32_shl, i32_add, set, s],
    ...[get, dst, get, p, get, n, i32_mul, get, img, i32_add, i32_const, 2, i32_shl, i32_add, set, d],
    ...[i32_const, 0, set, co],
    ...op.loop, // four channels
    ...[...load(get, s), set, r0, ...load(get, s, get, imgStride, i32_add), set, r1],
    ...[...load(get, s, ...times(imgStride, 2), i32_add), set, r2, ...load(get, s, ...times(imgStride, 3), i32_add), set, r3],
    ...[get, r0, get, r1, ...v128.shuffle32(0, 4, 1, 5), set, t0, get, r0, get, r1, ...v128.shuffle32(2, 6, 3, 7), set, t1],
    ...[get, r2, get, r3, ...v128.shuffle32(0, 4, 1, 5), set, t2, get, r2, get, r3, ...v128.shuffle32(2, 6, 3, 7), set, t3],
    ...[get, d, get, t0, get, t2, ...v128.shuffle32(0, 1, 4, 5), ...v128.store],
    ...[get, d, get, coStride, i32_add, get, t0, get, t2, ...v128.shuffle32(2, 3, 6, 7), ...v128.store],
    ...[get, d, ...times(coStride, 2), i32_add, get, t1, get, t3, ...v128.shuffle32(0, 1, 4, 5), ...v128.store],
    ...[get, d, ...times(coStride, 3), i32_add, get, t1, get, t3, ...v128.shuffle32(2, 3, 6, 7), ...v128.store],
    ...[get, s, i32_const, 16, i32_add, set, s, get, d, ...times(coStride, 4), i32_add, set, d],
    ...[get, co, i32_const, 4, i32_add, tee, co, get, cout, i32_lt_u, br_if, 0],
    op.end,
    ...[get, p, i32_const, 1, i32_add, tee, p, get, p1, i32_lt_u, br_if, 0],
    op.end,
    ...[get, img, i32_const, 4, i32_add, tee, img, get, n, i32_lt_u, br_if, 0],
    op.end,
    ...[get, p1, tee, p0, get, pixels, i32_lt_u, br_if, 0],
    op.end
  ]
  return { name: 'transposeImages', params: 6, results: [], locals: [[9, I32], [8, V128]], body }
}

export type SimdKernels = {
  transposeImages(src: number, dst: number, n: number, pixels: number, cout: number, blockPixels: number): void
  maxPoolGrad2x2(x: number, dy: number, dx: number, outRows: number, wo: number, stride: number): void
  sums(value: number, mask: number, w: number, bytes: number, stride: number, out: number): void
  sumsMasked(value: number, mask: number, w: number, bytes: number, stride: number, out: number): void
  affine(x: number, out: number, scale: number, shift: number, bytes: number, stride: number): void
  affineRelu(x: number, out: number, scale: number, shift: number, bytes: number, stride: number): void
  gradient(dy: number, mask: number, x: number, out: number, a: number, b: number, k: number, bytes: number, stride: number): void
  gradientMasked(dy: number, mask: number, x: number, out: number, a: number, b: number, k: number, bytes: number, stride: number): void
}

const compiled = new Map<boolean, object | null>()
const instances = new WeakMap<WasmMemory, SimdKernels | null>()

/** The module's functions over this memory; null where this WebAssembly has no SIMD. */
export function simdKernelsFor(memory: WasmMemory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
  if (!compiled.has(shared)) {
    const bytes = assembleModule({ imported: { shared } }, [
      sumsFunction(false),
      sumsFunction(true),
      affineFunction(false),
      affineFunction(true),
      gradientFunction(false),
      gradientFunction(true),
      maxPoolGrad2x2Function(),
      transposeImagesFunction()
    ])
    compiled.set(shared, webAssembly.validate(bytes) ? new webAssembly.Module(bytes) : null)
  }
  const module = compiled.get(shared)!
  const exports = module ? (new webAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels) : null
  instances.set(memory, exports)
  return exports
}

