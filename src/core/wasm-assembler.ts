/**
 * Just enough of a WebAssembly assembler for the few small hot loops this project writes
 * by hand (the tar header checksum, the training step's SIMD kernels): functions over i32
 * parameters, locals, one memory (its own, or imported), exports. No toolchain can be
 * installed here (no clang, no wat2wasm), and these modules are small enough that their
 * bytes are better built from readable instruction lists at start-up than checked in.
 * Each caller keeps the module's text in a comment beside its instructions.
 */

/** A WebAssembly.Memory, as far as these modules use one. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
}

/** The WebAssembly global: Node has it, but this project's lib settings (no DOM) do not declare it. */
export const webAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object
      Instance: new (module: object, imports?: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> }
      validate(bytes: Uint8Array): boolean
    }
  }
).WebAssembly

/** Unsigned LEB128, the format's encoding of counts, indexes and sizes. */
export function uleb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value) byte |= 0x80
    out.push(byte)
  } while (value)
  return out
}

/** Signed LEB128, for the immediates of i32.const / i64.const. */
export function sleb(value: bigint | number): number[] {
  let v = BigInt.asIntN(64, BigInt(value))
  const out: number[] = []
  for (;;) {
    const byte = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && !(byte & 0x40)) || (v === -1n && byte & 0x40)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

/** Value types. */
export const I32 = 0x7f
export const I64 = 0x7e
export const V128 = 0x7b

/** Instructions without immediates, and the prefixes of those with one. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: 0x0b,
  br_if: 0x0d,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_ge_s: 0x4e,
  i64_load: 0x29,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_shl: 0x74,
  i64_add: 0x7c,
  i64_and: 0x83,
  i64_shr_u: 0x88,
  i32_wrap_i64: 0xa7
} as const

/**
 * The end of a do-while loop over a counter: counter += step (a constant, or the
 * instructions that push it), then branch back while counter < limit (unsigned).
 */
export function advance(counter: number, step: number | number[], limit: number): number[] {
  const { local_get: get, local_tee: tee, i32_const, i32_add, i32_lt_u, br_if } = op
  return [get, counter, ...(typeof step === 'number' ? [i32_const, ...sleb(step)] : step), i32_add, tee, counter, get, limit, i32_lt_u, br_if, 0]
}

/** A 128-bit SIMD instruction (prefix 0xfd, then its number). */
function simd(code: number, ...immediates: number[]): number[] {
  return [0xfd, ...uleb(code), ...immediates]
}

/** SIMD instructions; loads and stores with no alignment promise and no offset. */
export const v128 = {
  load: simd(0x00, 0, 0),
  store: simd(0x0b, 0, 0),
  /** v128.load from the address plus a constant byte offset. */
  loadAt: (offset: number): number[] => simd(0x00, 0, ...uleb(offset)),
  storeAt: (offset: number): number[] => simd(0x0b, 0, ...uleb(offset)),
  /** One float32 from the address plus a constant byte offset, in all four lanes (v128.load32_splat). */
  load32SplatAt: (offset: number): number[] => simd(0x09, 0, ...uleb(offset)),
  /** Lanes 2 and 3 of an f32x4 moved to lanes 0 and 1 (of the same vector twice: i8x16.shuffle). */
  highToLow: simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15),
  /** All lanes zero (v128.const 0). */
  zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f32x4_gt: simd(0x44),
  and: simd(0x4e),
  /** a & ~b */
  andnot: simd(0x4f),
  or: simd(0x50),
  /** (a & mask) | (b & ~mask), operands a, b, mask */
  bitselect: simd(0x52),
  f64x2_promote_low_f32x4: simd(0x5f),
  f32x4_add: simd(0xe4),
  f32x4_mul: simd(0xe6),
  f32x4_max: simd(0xe9),
  f64x2_add: simd(0xf0)
} as const

/** One function: `params` i32 parameters, results, locals as [count, type] runs, its code (without the final `end`). */
export interface AssembledFunction {
  name: string
  params: number
  results: number[]
  locals: Array<[number, number]>
  body: number[]
}

export type ModuleMemory = { own: { pages: number; export: string } } | { imported: { shared: boolean } }

const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content]
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const name = (text: string): number[] => [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))]

/** A module whose functions are all exported by name; an imported memory comes as env.memory. */
export function assembleModule(memory: ModuleMemory, functions: AssembledFunction[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...uleb(f.params), ...Array<number>(f.params).fill(I32), ...uleb(f.results.length), ...f.results])
  const imports: number[][] = []
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])
  let memorySection: number[] = []
  if ('own' in memory) {
    memorySection = section(5, vector([[0x00, ...uleb(memory.own.pages)]]))
    exports.push([...name(memory.own.export), 0x02, 0])
  } else {
    // A shared memory must state a maximum: the largest a 32-bit memory can have.
    imports.push([...name('env'), ...name('memory'), 0x02, ...(memory.imported.shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0])])
  }
  const codes = functions.map((f) => {
    const body = [...vector(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, op.end]
    return [...uleb(body.length), ...body]
  })
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...(imports.length ? section(2, vector(imports)) : []),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...memorySection,
    ...section(7, vector(exports)),
    ...section(10, vector(codes))
  ])
}
