/**
 * Hand-assembled WebAssembly SIMD loops that run on the WASM backend's own memory: its
 * tensors are read and written where the backend keeps them, four float32 lanes per
 * instruction, no copies: batch norm's passes (./batch-norm-simd.ts), the 2×2 max-pool
 * gradient and the stride-1 filter gradient (./index.ts). Nothing here can compile C to
 * WebAssembly, so the module is assembled from the instruction lists below
 * (../../wasm-assembler.ts): one module per kind of memory (the threaded backend's is
 * shared), one instance per memory.
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
 * channels at a time, with per-channel coefficients loaded beside the values;
 * `filterGradient…` is described at its function.
 */
import { advance, assembleModule, I32, op, sleb, V128, v128, webAssembly, type AssembledFunction, type WasmMemory } from '../../wasm-assembler'

const BLOCK_PIXELS = 2048
const CHUNK_PIXELS = 64

const { local_get: get, local_set: set, local_tee: tee, i32_const, i32_add, i32_sub, i32_mul, i32_lt_u, i32_lt_s, i32_gt_s, i32_ge_s, i32_eqz, i32_shl, br_if, select } = op
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
    ...advance(p, [get, stride], chunkEnd),
    op.end,
    // channel c's sum is the float64 at out + 8c; this group's first channel is g / 4, so at out + 2g
    ...flush(fs, [get, out, get, g, i32_const, 1, i32_shl, i32_add]),
    // the products follow the channels' sums: C float64s = 2 × stride bytes on
    ...flush(fp, [get, out, get, g, i32_const, 1, i32_shl, i32_add, get, stride, i32_const, 1, i32_shl, i32_add]),
    ...[get, p, get, blockEnd, i32_lt_u, br_if, 0],
    op.end,
    ...advance(g, 16, stride),
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
    ...advance(g, 16, stride),
    op.end,
    ...advance(i, [get, stride], bytes),
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
    ...advance(g, 16, stride),
    op.end,
    ...advance(window, [get, stride, i32_const, 1, i32_shl], rowBytes),
    op.end,
    ...[get, rowStart, get, rowBytes, i32_const, 1, i32_shl, i32_add, set, rowStart],
    ...advance(r, 1, outRows),
    op.end
  ]
  return { name: 'maxPoolGrad2x2', params: 6, results: [], locals: [[7, I32], [9, V128]], body }
}

/**
 * The filter gradient of a stride-1 conv, dW[a, b, ci, co] = Σ over images, rows y and
 * columns x of x[img, y + a − padTop, x + b − padLeft, ci] · dy[img, y, x, co], as a
 * register-tiled product: for each row of dy and each tap (a, b), a tile of `ciBlock` input
 * channels × 8 output channels (2·ciBlock accumulators) is loaded from dW, run along the
 * row's pixels that the tap keeps inside x (per pixel: two loads of dy, ciBlock splat loads
 * of x, 4·ciBlock multiply-adds), and stored back. dW must start at zero; cin a multiple of
 * ciBlock, cout of 8. The rows of x and dy a row needs stay in L1 across its taps and tiles.
 * Params x, dy, dW, n, h, w, cin, ho, wo, cout, kh, kw, padTop, padLeft.
 */
function filterGradientFunction(ciBlock: number): AssembledFunction {
  const [x, dy, dW, n, h, w, cin, ho, wo, cout, kh, kw, padTop, padLeft] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
  const [img, y, a, b, iy, x0, x1, cib, cob, xp, dp, end, tile, xRow, dyRow, xPix, dyPix] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]
  const [d0, d1] = [31, 32]
  const acc = Array.from({ length: ciBlock }, (_, l) => [33 + 2 * l, 34 + 2 * l] as const)
  const s = 33 + 2 * ciBlock
  const body = [
    ...[get, cin, i32_const, 2, i32_shl, set, xPix, get, cout, i32_const, 2, i32_shl, set, dyPix],
    ...[i32_const, 0, set, img],
    ...op.loop, // images
    ...[i32_const, 0, set, y],
    ...op.loop, // rows of dy
    // dy's row: dy + ((img · ho + y) · wo) · dyPix
    ...[get, dy, get, img, get, ho, i32_mul, get, y, i32_add, get, wo, i32_mul, get, dyPix, i32_mul, i32_add, set, dyRow],
    ...[i32_const, 0, set, a],
    ...op.loop, // tap rows
    ...[get, y, get, a, i32_add, get, padTop, i32_sub, set, iy],
    // Rows the tap puts outside x (padding) add nothing: iy as unsigned < h.
    ...op.block,
    ...[get, iy, get, h, i32_lt_u, i32_eqz, br_if, 0],
    ...[get, x, get, img, get, h, i32_mul, get, iy, i32_add, get, w, i32_mul, get, xPix, i32_mul, i32_add, set, xRow],
    ...[i32_const, 0, set, b],
    ...op.loop, // tap columns
    // Pixels x0 ≤ x < x1 of the row read x inside the image: 0 ≤ x + b − padLeft < w.
    ...[get, padLeft, get, b, i32_sub, set, x0],
    ...[get, x0, i32_const, 0, get, x0, i32_const, 0, i32_gt_s, select, set, x0],
    ...[get, w, get, padLeft, i32_add, get, b, i32_sub, set, x1],
    ...[get, x1, get, wo, get, x1, get, wo, i32_lt_s, select, set, x1],
    ...op.block,
    ...[get, x0, get, x1, i32_ge_s, br_if, 0],
    ...[i32_const, 0, set, cib],
    ...op.loop, // blocks of input channels
    ...[i32_const, 0, set, cob],
    ...op.loop, // blocks of 8 output channels
    // The tile: dW + (((a · kw + b) · cin + cib) · cout + cob) · 4; its rows cout floats apart.
    ...[get, dW, get, a, get, kw, i32_mul, get, b, i32_add, get, cin, i32_mul, get, cib, i32_add, get, cout, i32_mul, get, cob, i32_add, i32_const, 2, i32_shl, i32_add, set, tile],
    ...acc.flatMap(([lo, hi], l) => [get, tile, ...v128.loadAt(0), set, lo, get, tile, ...v128.loadAt(16), set, hi, ...(l + 1 < ciBlock ? [get, tile, get, dyPix, i32_add, set, tile] : [])]),
    // x at (x0 + b − padLeft, cib); dy at (x0, cob), to dy at x1
    ...[get, xRow, get, x0, get, b, i32_add, get, padLeft, i32_sub, get, xPix, i32_mul, i32_add, get, cib, i32_const, 2, i32_shl, i32_add, set, xp],
    ...[get, dyRow, get, x0, get, dyPix, i32_mul, i32_add, get, cob, i32_const, 2, i32_shl, i32_add, set, dp],
    ...[get, dyRow, get, x1, get, dyPix, i32_mul, i32_add, get, cob, i32_const, 2, i32_shl, i32_add, set, end],
    ...op.loop, // pixels of the row
    ...[get, dp, ...v128.loadAt(0), set, d0, get, dp, ...v128.loadAt(16), set, d1],
    ...acc.flatMap(([lo, hi], l) => [
      ...[get, xp, ...v128.load32SplatAt(4 * l), set, s],
      ...[get, lo, get, s, get, d0, ...v128.f32x4_mul, ...v128.f32x4_add, set, lo],
      ...[get, hi, get, s, get, d1, ...v128.f32x4_mul, ...v128.f32x4_add, set, hi]
    ]),
    ...[get, xp, get, xPix, i32_add, set, xp],
    ...advance(dp, [get, dyPix], end),
    op.end,
    // Store the tile back, last row first (tile points at it).
    ...[...acc].reverse().flatMap(([lo, hi], r) => [
      ...(r > 0 ? [get, tile, get, dyPix, i32_sub, set, tile] : []),
      ...[get, tile, get, lo, ...v128.storeAt(0), get, tile, get, hi, ...v128.storeAt(16)]
    ]),
    ...advance(cob, 8, cout),
    op.end,
    ...advance(cib, ciBlock, cin),
    op.end,
    op.end, // the block of an empty column range
    ...advance(b, 1, kw),
    op.end,
    op.end, // the block of a padding row
    ...advance(a, 1, kh),
    op.end,
    ...advance(y, 1, ho),
    op.end,
    ...advance(img, 1, n),
    op.end
  ]
  return { name: `filterGradient${ciBlock}`, params: 14, results: [], locals: [[17, I32], [2 + 2 * ciBlock + 1, V128]], body }
}

/** Input channels per tile of the filter gradient: 4 where cin allows, else the largest that divides it. */
export function filterGradientBlock(cin: number): 1 | 2 | 3 | 4 {
  return cin % 4 === 0 ? 4 : cin % 3 === 0 ? 3 : cin % 2 === 0 ? 2 : 1
}

type FilterGradient = (x: number, dy: number, dW: number, n: number, h: number, w: number, cin: number, ho: number, wo: number, cout: number, kh: number, kw: number, padTop: number, padLeft: number) => void

export type SimdKernels = {
  filterGradient1: FilterGradient
  filterGradient2: FilterGradient
  filterGradient3: FilterGradient
  filterGradient4: FilterGradient
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
      ...[1, 2, 3, 4].map(filterGradientFunction)
    ])
    compiled.set(shared, webAssembly.validate(bytes) ? new webAssembly.Module(bytes) : null)
  }
  const module = compiled.get(shared)!
  const exports = module ? (new webAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels) : null
  instances.set(memory, exports)
  return exports
}

