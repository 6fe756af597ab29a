/**
 * Field decoding by extension, as webdataset's default decoders do: `cls`/`index` →
 * integer, `txt` → text, `json` → value, `npy` → typed array with shape, images → RGB
 * pixels (through src/core/imaging, with pixel limits), anything else kept as bytes.
 * A field that does not decode is a value (`kind: 'problem'`) naming what was expected
 * and what was found; range checks (is the label < class count?) belong to the verifier.
 */
import { decodeImage, ImageDecodeError, type DecodedImage, type DecodeImageOptions } from '../imaging/decode'
import { parseInteger } from './integers'

export { parseInteger }

export type DecodedField =
  | { kind: 'integer'; value: number }
  | { kind: 'text'; value: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'array'; dtype: 'uint8' | 'float32'; shape: number[]; data: Uint8Array | Float32Array }
  | { kind: 'image'; image: DecodedImage }
  | { kind: 'bytes'; size: number; bytes: Uint8Array }
  | { kind: 'problem'; expected: string; found: string; message: string }

const IMAGE_FIELDS = new Set(['jpg', 'jpeg', 'png', 'webp'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The last extension decides (`seg.png` is a PNG), as webdataset's decoders match on it. */
function lastExtension(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1).toLowerCase()
}

function problem(expected: string, found: string, message: string): DecodedField {
  return { kind: 'problem', expected, found, message }
}

function preview(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.subarray(0, 40)).toString('latin1').replace(/[^\x20-\x7e]/g, '?')
  return JSON.stringify(text + (bytes.length > 40 ? '…' : ''))
}

/** Parse a NumPy .npy file (format 1.0–3.0): uint8 or little-endian float32, C order. */
export function parseNpy(bytes: Uint8Array): DecodedField {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.length < 10 || buffer[0] !== 0x93 || buffer.toString('latin1', 1, 6) !== 'NUMPY') {
    return problem('a .npy file (starts with \\x93NUMPY)', preview(bytes), 'npy field is not a NumPy .npy file')
  }
  const major = buffer[6]!
  const headerLength = major === 1 ? buffer.readUInt16LE(8) : buffer.readUInt32LE(8)
  const dataStart = (major === 1 ? 10 : 12) + headerLength
  const header = buffer.toString('latin1', major === 1 ? 10 : 12, dataStart)
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return problem("an npy header with 'descr', 'fortran_order' and 'shape'", JSON.stringify(header.trim()), 'npy header cannot be read')
  }
  const dtype = descr === '|u1' || descr === '<u1' ? 'uint8' : descr === '<f4' ? 'float32' : null
  if (!dtype) return problem('dtype uint8 (|u1) or little-endian float32 (<f4)', descr, `npy dtype ${descr} is not supported`)
  if (fortran === 'True') return problem('C order (fortran_order False)', 'Fortran order', 'npy arrays in Fortran order are not supported')
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
  const itemBytes = dtype === 'uint8' ? 1 : 4
  const count = shape.reduce((a, b) => a * b, 1)
  const dataBytes = buffer.length - dataStart
  if (dataBytes !== count * itemBytes) {
    return problem(`${count * itemBytes} data bytes for shape (${shape.join(', ')}) ${dtype}`, `${dataBytes} bytes`, 'npy data size does not match its header')
  }
  // Copy: a Float32Array needs 4-byte alignment, which a slice of a tar member need not have.
  const copy = new Uint8Array(buffer.subarray(dataStart))
  const data = dtype === 'uint8' ? copy : new Float32Array(copy.buffer, 0, count)
  return { kind: 'array', dtype, shape, data }
}

/** Decode one sample field by its extension (e.g. 'cls', 'jpg', 'seg.png', 'npy'). */
export async function decodeField(field: string, bytes: Uint8Array, options: DecodeImageOptions = {}): Promise<DecodedField> {
  const ext = lastExtension(field)
  if (ext === 'cls' || ext === 'cls2' || ext === 'index') {
    const value = parseInteger(bytes)
    return value === null ? problem('an integer', preview(bytes), `${field} is not an integer`) : { kind: 'integer', value }
  }
  if (ext === 'txt' || ext === 'text') {
    try {
      return { kind: 'text', value: utf8.decode(bytes) }
    } catch {
      return problem('UTF-8 text', preview(bytes), `${field} is not valid UTF-8`)
    }
  }
  if (ext === 'json') {
    try {
      return { kind: 'json', value: JSON.parse(utf8.decode(bytes)) as unknown }
    } catch (error) {
      return problem('JSON', preview(bytes), `${field} is not valid JSON (${(error as Error).message})`)
    }
  }
  if (ext === 'npy') return parseNpy(bytes)
  if (IMAGE_FIELDS.has(ext)) {
    try {
      return { kind: 'image', image: await decodeImage(bytes, options) }
    } catch (error) {
      if (error instanceof ImageDecodeError) return problem(`a ${ext} image`, `${bytes.length} bytes`, `${field}: ${error.message}`)
      throw error
    }
  }
  return { kind: 'bytes', size: bytes.length, bytes }
}
