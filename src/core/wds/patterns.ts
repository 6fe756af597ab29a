/**
 * Shard URL patterns as the Python `webdataset` library reads them: brace expansion with
 * the semantics of the `braceexpand` package, several patterns joined by `::`, and the
 * sources a pattern may name (plain paths, `file:`, `http(s)://`, `gs://`).
 */
import { isAbsolute, resolve } from 'node:path'
import type { ShardLocation } from './types'

const INT_RANGE = /^(-?\d+)\.\.(-?\d+)(?:\.\.-?(\d+))?$/
const CHAR_RANGE = /^([A-Za-z])\.\.([A-Za-z])(?:\.\.-?(\d+))?$/

class UnbalancedBraces extends Error {}

/**
 * Expand `{...}` groups like Python's `braceexpand.braceexpand(s)`:
 * `{000..002}` keeps the zero padding, `{0..10..2}` steps, `{a..e}` letters, `{a,b}`
 * alternatives, groups multiply left to right, groups nest, `\{` escapes.
 * One deliberate difference: where braceexpand raises on unbalanced braces, the pattern
 * is returned as one literal string (a file name may well contain a lone brace).
 */
export function braceExpand(pattern: string): string[] {
  try {
    return parsePattern(pattern).map(unescape)
  } catch (error) {
    if (error instanceof UnbalancedBraces) return [unescape(pattern)]
    throw error
  }
}

/** False when the pattern's braces do not pair up (braceExpand then reads it as one literal name). */
export function bracesBalanced(pattern: string): boolean {
  try {
    parsePattern(pattern)
    return true
  } catch (error) {
    if (error instanceof UnbalancedBraces) return false
    throw error
  }
}

function unescape(s: string): string {
  return s.replace(/\\(.)/gs, '$1')
}

/** Cartesian product of the alternatives of each part, left part varying slowest (as itertools.product). */
function product(parts: string[][]): string[] {
  let out = ['']
  for (const part of parts) {
    const next: string[] = []
    for (const prefix of out) for (const choice of part) next.push(prefix + choice)
    out = next
  }
  return out
}

function parsePattern(pattern: string): string[] {
  const parts: string[][] = []
  let start = 0
  let depth = 0
  let pos = 0
  for (; pos < pattern.length; pos++) {
    const c = pattern[pos]
    if (c === '\\') {
      pos++
      continue
    }
    if (c === '{') {
      if (depth === 0 && pos > start) {
        parts.push([pattern.slice(start, pos)])
        start = pos
      }
      depth++
    } else if (c === '}') {
      depth--
      if (depth < 0) throw new UnbalancedBraces()
      if (depth === 0) {
        const expression = pattern.slice(start + 1, pos)
        const choices = parseExpression(expression)
        // `{a}` and `{}` are not expressions: braceexpand keeps the braces and expands inside.
        if (choices === null) parts.push(['{'], parsePattern(expression), ['}'])
        else parts.push(choices)
        start = pos + 1
      }
    }
  }
  if (depth !== 0) throw new UnbalancedBraces()
  if (start < pos) parts.push([pattern.slice(start)])
  return product(parts)
}

function parseExpression(expression: string): string[] | null {
  const ints = INT_RANGE.exec(expression)
  if (ints) return intRange(ints[1]!, ints[2]!, ints[3])
  const chars = CHAR_RANGE.exec(expression)
  if (chars) return charRange(chars[1]!, chars[2]!, chars[3])
  return parseSequence(expression)
}

function parseSequence(sequence: string): string[] | null {
  const items: string[] = []
  let start = 0
  let depth = 0
  let commas = 0
  for (let pos = 0; pos < sequence.length; pos++) {
    const c = sequence[pos]
    if (c === '\\') {
      pos++
      continue
    }
    if (c === '{') depth++
    else if (c === '}') depth--
    else if (c === ',' && depth === 0) {
      items.push(...parsePattern(sequence.slice(start, pos)))
      start = pos + 1
      commas++
    }
  }
  if (depth !== 0) throw new UnbalancedBraces()
  if (commas === 0) return null
  items.push(...parsePattern(sequence.slice(start)))
  return items
}

function steps(start: number, end: number, increment: string | undefined): number[] {
  const step = increment ? Number.parseInt(increment, 10) || 1 : 1
  const out: number[] = []
  if (start < end) for (let i = start; i <= end; i += step) out.push(i)
  else for (let i = start; i >= end; i -= step) out.push(i)
  return out
}

function intRange(left: string, right: string, increment: string | undefined): string[] {
  // braceexpand pads when either end (other than a bare 0) starts with 0, to the longer end's length.
  const padded = [left, right].some((s) => s !== '0' && s !== '-0' && (s.startsWith('0') || s.startsWith('-0')))
  const width = padded ? Math.max(left.length, right.length) : 0
  return steps(Number.parseInt(left, 10), Number.parseInt(right, 10), increment).map((i) => {
    const digits = String(Math.abs(i))
    const sign = i < 0 ? '-' : ''
    return sign + digits.padStart(width - sign.length, '0')
  })
}

function charRange(left: string, right: string, increment: string | undefined): string[] {
  return steps(left.charCodeAt(0), right.charCodeAt(0), increment).map((i) => String.fromCharCode(i))
}

/** A pattern the user can fix: names the pattern and what is wrong with it. */
export class PatternError extends Error {
  constructor(
    message: string,
    readonly pattern: string
  ) {
    super(message)
  }
}

export interface ExpandPatternOptions {
  /** Folder that relative paths resolve against (default: the current directory). */
  baseDir?: string
}

/**
 * Turn a user's shard pattern into shard locations, in order. Several patterns may be
 * joined by `::` (webdataset's convention). Throws PatternError for `pipe:` and other
 * schemes we do not read.
 */
export function expandPattern(pattern: string, options: ExpandPatternOptions = {}): ShardLocation[] {
  const baseDir = options.baseDir ?? process.cwd()
  const locations: ShardLocation[] = []
  for (const part of pattern.split('::')) {
    const trimmed = part.trim()
    if (trimmed === '') continue
    if (trimmed.startsWith('pipe:')) {
      throw new PatternError(
        `"${trimmed}": pipe: patterns run a shell command named in the data; ShardScope does not run them. Download the shards or use http(s):// or gs:// URLs.`,
        trimmed
      )
    }
    for (const expanded of braceExpand(trimmed)) locations.push(locate(expanded, trimmed, baseDir))
  }
  if (locations.length === 0) throw new PatternError(`"${pattern}" names no shards`, pattern)
  return locations
}

function locate(expanded: string, pattern: string, baseDir: string): ShardLocation {
  if (/^https?:\/\//i.test(expanded)) return { url: expanded, kind: 'http', pattern }
  if (expanded.startsWith('gs://')) {
    const url = 'https://storage.googleapis.com/' + expanded.slice('gs://'.length)
    return { url, kind: 'http', pattern }
  }
  let path = expanded
  if (path.startsWith('file://')) path = path.slice('file://'.length)
  else if (path.startsWith('file:')) path = path.slice('file:'.length)
  else if (/^[a-z][a-z0-9+.-]+:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) {
    throw new PatternError(`"${expanded}": unknown scheme; use a path, file:, http(s):// or gs://`, pattern)
  }
  const absolute = isAbsolute(path) ? path : resolve(baseDir, path)
  return { url: absolute, kind: 'file', path: absolute, pattern }
}
