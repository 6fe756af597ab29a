/**
 * What image format bytes hold, by their signature (as PIL tells formats apart), not by the
 * name they are stored under: a PNG named .jpg is a PNG to PIL, and a decode error to a JPEG
 * decoder.
 */
export type ImageSignature = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff'

/** Each format's name as people write it, for messages ("holds PNG bytes under .jpg"). */
export const SIGNATURE_NAMES: Record<ImageSignature, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', gif: 'GIF', tiff: 'TIFF' }

export function imageSignature(bytes: Uint8Array): ImageSignature | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to))
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg'
  if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png'
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp'
  if (ascii(0, 4) === 'GIF8') return 'gif'
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff'
  return null
}
