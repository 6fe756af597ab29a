/**
 * NumPy `.npy` version 1.0 encoding of float32 arrays (what `numpy.save` writes):
 * magic `\x93NUMPY`, version, a little-endian header length, a Python-dict header
 * padded with spaces to a 64-byte boundary and ending in a newline, then the data.
 */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]

export function encodeNpyFloat32(values: Float32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== values.length) throw new Error(`npy shape ${shape.join('×')} holds ${count} values, got ${values.length}`)
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n'
  const out = new Uint8Array(MAGIC.length + 4 + header.length + values.byteLength)
  out.set(MAGIC, 0)
  out[6] = 1
  out[7] = 0
  out[8] = header.length & 0xff
  out[9] = header.length >> 8
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i)
  // npy '<f4' is little-endian; copy through a DataView so big-endian hosts write it right too.
  const view = new DataView(out.buffer, out.byteOffset + 10 + header.length, values.byteLength)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
  return out
}
