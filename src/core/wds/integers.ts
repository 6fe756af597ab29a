/**
 * Integer fields (`cls`, `index`) as Python's int() reads their text: optional sign,
 * ASCII digits, surrounding whitespace. Kept apart from fields.ts so that readers of
 * labels alone (the inventory) do not load the image decoders.
 */

/** The bytes JavaScript's `\s` matches in Latin-1 text: \t \n \v \f \r, space, no-break space. */
function isSpace(byte: number): boolean {
  return (byte >= 9 && byte <= 13) || byte === 32 || byte === 160
}

/** `cls`/`index` text as Python's int() reads it: optional sign and surrounding whitespace. */
export function parseInteger(bytes: Uint8Array, start = 0, end = bytes.length): number | null {
  let at = start
  let stop = end
  while (at < stop && isSpace(bytes[at]!)) at++
  while (stop > at && isSpace(bytes[stop - 1]!)) stop--
  let negative = false
  if (at < stop && (bytes[at] === 43 /* + */ || bytes[at] === 45) /* - */) negative = bytes[at++] === 45
  if (at === stop) return null
  let value = 0
  for (; at < stop; at++) {
    const digit = bytes[at]! - 48
    if (digit < 0 || digit > 9) return null
    value = value * 10 + digit
  }
  // Beyond 2^53 the digits no longer fit a double exactly.
  if (!Number.isSafeInteger(value)) return null
  return negative ? -value : value
}
