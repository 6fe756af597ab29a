/**
 * Byte sums of 512-byte tar header blocks in WebAssembly, for the header checksum. A fresh
 * process runs JavaScript unoptimised until V8 has seen it hot, and the checksum's 128-word
 * loop is then the costliest part of a header scan; WebAssembly is compiled before its
 * first call (Liftoff), so the sum is fast from the first header on. Measured on the
 * inventory of 474 MB / 110 shards (2 loaded cores, 6 paired runs): user CPU median
 * 0.27 → 0.25 s in a fresh process, 0.13 → 0.105 s once warm.
 *
 * The module is small enough to assemble here (no build step, no dependency). Its text:
 *
 *   (memory (export "memory") 9)                ;; 576 KiB: a 512 KiB read buffer and room
 *   (func (export "sum512") (param $p i32) (result i32)
 *     (local $lo i64) (local $hi i64) (local $w i64) (local $end i32)
 *     (local.set $end (i32.add (local.get $p) (i32.const 512)))
 *     (loop $next                                ;; 8 bytes a turn, as 4 16-bit lanes each
 *       (local.set $w (i64.load (local.get $p)))
 *       (local.set $lo (i64.add (local.get $lo) (i64.and (local.get $w) (i64.const 0x00ff00ff00ff00ff))))
 *       (local.set $hi (i64.add (local.get $hi) (i64.and (i64.shr_u (local.get $w) (i64.const 8)) (i64.const 0x00ff00ff00ff00ff))))
 *       (br_if $next (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 8))) (local.get $end))))
 *     (local.set $w (i64.add (local.get $lo) (local.get $hi)))   ;; lanes ≤ 64·255·2 < 2^16
 *     (local.set $w (i64.add (i64.and (local.get $w) (i64.const 0x0000ffff0000ffff))
 *                            (i64.and (i64.shr_u (local.get $w) (i64.const 16)) (i64.const 0x0000ffff0000ffff))))
 *     (i32.wrap_i64 (i64.add (i64.and (local.get $w) (i64.const 0xffffffff)) (i64.shr_u (local.get $w) (i64.const 32))))))
 */

/**
 * The read buffer a BlockSummer offers. Small enough that the headers a read brings in are
 * still in the CPU cache when they are parsed (measured on 474 MB / 110 shards: 4 MiB reads
 * cost ~30% more CPU than 128–512 KiB ones; cat reads 128 KiB at a time), large enough to
 * keep the reads few.
 */
export const BLOCK_SUM_BUFFER_BYTES = 512 * 1024

function uleb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value) byte |= 0x80
    out.push(byte)
  } while (value)
  return out
}

function sleb(value: bigint): number[] {
  let v = BigInt.asIntN(64, value)
  const out: number[] = []
  for (;;) {
    const byte = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && !(byte & 0x40)) || (v === -1n && byte & 0x40)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const LOCAL_TEE = 0x22
const I32_CONST = 0x41
const I64_CONST = 0x42
const I64_LOAD = 0x29
const I32_ADD = 0x6a
const I32_LT_U = 0x49
const I64_ADD = 0x7c
const I64_AND = 0x83
const I64_SHR_U = 0x88
const I32_WRAP_I64 = 0xa7
const LOOP_VOID = [0x03, 0x40]
const BR_IF = 0x0d
const END = 0x0b

function assemble(): Uint8Array {
  const bytes = sleb(0x00ff00ff00ff00ffn)
  const halves = sleb(0x0000ffff0000ffffn)
  const low32 = sleb(0xffffffffn)
  const [p, lo, hi, w, end] = [0, 1, 2, 3, 4]
  const body = [
    ...[2, 3, 0x7e, 1, 0x7f], // locals: 3 × i64 (lo, hi, w), 1 × i32 (end)
    ...[LOCAL_GET, p, I32_CONST, ...sleb(512n), I32_ADD, LOCAL_SET, end],
    ...LOOP_VOID,
    ...[LOCAL_GET, p, I64_LOAD, 3, 0, LOCAL_SET, w],
    ...[LOCAL_GET, lo, LOCAL_GET, w, I64_CONST, ...bytes, I64_AND, I64_ADD, LOCAL_SET, lo],
    ...[LOCAL_GET, hi, LOCAL_GET, w, I64_CONST, 8, I64_SHR_U, I64_CONST, ...bytes, I64_AND, I64_ADD, LOCAL_SET, hi],
    ...[LOCAL_GET, p, I32_CONST, 8, I32_ADD, LOCAL_TEE, p, LOCAL_GET, end, I32_LT_U, BR_IF, 0],
    END,
    ...[LOCAL_GET, lo, LOCAL_GET, hi, I64_ADD, LOCAL_SET, w],
    ...[LOCAL_GET, w, I64_CONST, ...halves, I64_AND, LOCAL_GET, w, I64_CONST, 16, I64_SHR_U, I64_CONST, ...halves, I64_AND, I64_ADD, LOCAL_SET, w],
    ...[LOCAL_GET, w, I64_CONST, ...low32, I64_AND, LOCAL_GET, w, I64_CONST, 32, I64_SHR_U, I64_ADD, I32_WRAP_I64],
    END
  ]
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content]
  const name = (text: string): number[] => [text.length, ...Buffer.from(text, 'latin1')]
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]), // one type: (i32) → i32
    ...section(3, [1, 0]), // one function of that type
    ...section(5, [1, 0, (BLOCK_SUM_BUFFER_BYTES >>> 16) + 1]), // one memory, fixed pages
    ...section(7, [2, ...name('sum512'), 0, 0, ...name('memory'), 2, 0]),
    ...section(10, [1, ...uleb(body.length), ...body])
  ])
}

// WebAssembly is a Node global; this project's lib settings (no DOM) do not declare it.
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: Record<string, unknown> } } }).WebAssembly
let compiled: object | null = null

/** A read buffer in WebAssembly memory and the sum of the bytes of any 512-byte block in it. */
export interface BlockSummer {
  /** BLOCK_SUM_BUFFER_BYTES bytes to read into. */
  buffer: Buffer
  /** Sum of buffer[at, at + 512); `at` a multiple of 8 and at most buffer.length - 512. */
  sum512: (at: number) => number
}

export function createBlockSummer(): BlockSummer {
  compiled ??= new wasm.Module(assemble())
  const { exports } = new wasm.Instance(compiled)
  const memory = exports.memory as { buffer: ArrayBuffer }
  return { buffer: Buffer.from(memory.buffer, 0, BLOCK_SUM_BUFFER_BYTES), sum512: exports.sum512 as (at: number) => number }
}
