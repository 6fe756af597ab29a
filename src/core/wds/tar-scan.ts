/**
 * A fast tar header scanner: walks 512-byte headers in a byte stream and skips member data
 * without copying it, recording each member's header and data offsets. Used where
 * tar-stream's per-entry streams cost too much or hide what we need: the random-access
 * index (byte offsets) and the inventory (speed; only small members' bytes are kept).
 * Handles ustar (with prefix), GNU long names ('L'), PAX extended headers ('x', 'g':
 * path and size) and base-256 sizes, as Python's tarfile and GNU tar write them.
 * Sample grouping is not done here (src/core/wds/grouping.ts).
 */
import type { TarMember } from './types'

const BLOCK = 512
const decoder = new TextDecoder('utf-8')

export type TarScanEnd =
  | { kind: 'complete' }
  /**
   * `member`: the one whose bytes were cut (absent when the cut fell inside a header);
   * `nextMember`: for a cut inside a header, the member it names when that much of it arrived.
   */
  | { kind: 'truncated'; offset: number; member?: string; nextMember?: string }
  | { kind: 'bad-header'; offset: number }
  /** Every member whole, but no end-of-archive zero blocks: most likely cut at a member boundary. */
  | { kind: 'no-end-marker'; offset: number }

export interface TarScanOptions {
  /**
   * Called for each member (extended headers already applied), with its bytes when
   * `wantData` said yes. The bytes may be a view into the caller's chunk, valid only
   * during the call: copy what you keep.
   */
  onMember: (member: TarMember, data: Buffer | undefined) => void
  /** Return true to receive this member's bytes (keep it to small members). */
  wantData?: (name: string, size: number) => boolean
}

export interface TarScanResult {
  end: TarScanEnd
  /** Regular and other members seen (extended headers not counted). */
  members: number
  /** Bytes of tar consumed (uncompressed). */
  bytes: number
  /** The first 512 bytes, for telling "not a tar" from a damaged one. */
  firstBlock: Buffer | null
}

/**
 * The plain sum of the 512 bytes at `at`. When the block is 4-byte aligned in its chunk,
 * bytes are summed four at a time from 32-bit words (two 16-bit lanes per accumulator
 * cannot overflow in 128 words): the checksum is the scanner's main cost on small-sample shards.
 */
function sumBlock(block: Buffer, at: number, words: Uint32Array | null): number {
  if (words !== null && ((block.byteOffset + at) & 3) === 0) {
    const first = at >>> 2
    let lo = 0
    let hi = 0
    for (let i = first; i < first + 128; i++) {
      const w = words[i]!
      lo += w & 0x00ff00ff
      hi += (w >>> 8) & 0x00ff00ff
    }
    return (lo & 0xffff) + (lo >>> 16) + (hi & 0xffff) + (hi >>> 16)
  }
  let sum = 0
  for (let i = at; i < at + BLOCK; i++) sum += block[i]!
  return sum
}

/**
 * The tar header checksum: the stored octal number at 148..155 must equal the sum of the
 * header's bytes with that field read as spaces. `byteSum` is the plain sum of all 512
 * bytes (sumBlock here; WebAssembly in block-sum.ts on the inventory's fast path).
 */
export function storedChecksumMatches(block: Buffer, at: number, byteSum: number): boolean {
  let sum = byteSum
  let stored = 0
  let digits = 0
  let ended = false
  for (let i = at + 148; i < at + 156; i++) {
    const c = block[i]!
    sum += 32 - c
    if (ended) continue
    if (c >= 48 && c <= 55) {
      stored = stored * 8 + (c - 48)
      digits++
    } else if (digits > 0) ended = true
  }
  return digits > 0 && stored === sum
}

/** A numeric header field: octal text, or GNU base-256. */
export function readOctal(block: Buffer, at: number, length: number): number {
  if (block[at]! & 0x80) {
    // GNU base-256 for sizes ≥ 8 GiB: big-endian binary after the marker bit.
    let value = block[at]! & 0x7f
    for (let i = 1; i < length; i++) value = value * 256 + block[at + i]!
    return value
  }
  let value = 0
  for (let i = 0; i < length; i++) {
    const c = block[at + i]!
    if (c >= 48 && c <= 55) value = value * 8 + (c - 48)
    else if (c === 0 || (c === 32 && value > 0)) break
  }
  return value
}

function readString(block: Buffer, at: number, length: number): string {
  let end = at
  while (end < at + length && block[end] !== 0) end++
  return block.toString('utf8', at, end)
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(32, pos)
    if (space < 0) break
    const length = Number.parseInt(data.subarray(pos, space).toString('latin1'), 10)
    if (!(length > 0)) break
    const record = decoder.decode(data.subarray(space + 1, pos + length - 1))
    const eq = record.indexOf('=')
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    pos += length
  }
  return out
}

function memberType(flag: number): TarMember['type'] {
  switch (flag) {
    case 0:
    case 48: // '0'
    case 55: // '7' contiguous file
      return 'file'
    case 53: // '5'
      return 'directory'
    case 50: // '2'
      return 'symlink'
    case 49: // '1'
      return 'link'
    default:
      return 'other'
  }
}

/**
 * Scan a tar byte stream. Chunks may be reused by the caller after each step: nothing
 * keeps a reference to them past the `onMember` call that lends a view.
 */
/** How many members a scan had seen when its bytes failed (0 when unknown). */
export function membersBeforeFailure(error: unknown): number {
  const seen = (error as { membersSeen?: unknown } | null)?.membersSeen
  return typeof seen === 'number' ? seen : 0
}

export async function scanTar(chunks: AsyncIterable<Buffer>, options: TarScanOptions): Promise<TarScanResult> {
  const { onMember, wantData } = options
  let offset = 0 // absolute offset of the next unconsumed byte
  const header = Buffer.alloc(BLOCK)
  let headerFill = 0
  let skip = 0 // data + padding bytes still to pass
  // Data being collected for the current member or extended header (an object, so the
  // loop below sees what the header callback set).
  const kept: { bytes: Buffer | null; fill: number; for: 'member' | 'L' | 'x' | 'g' | null; member: TarMember | null } = {
    bytes: null,
    fill: 0,
    for: null,
    member: null
  }
  let longName: string | null = null
  let pax: Record<string, string> = {}
  let globalPax: Record<string, string> = {}
  let members = 0
  let lastName = ''
  let firstBlock: Buffer | null = null
  let ended = false
  let badAt = -1

  const finishData = (): void => {
    if (kept.for === 'member') onMember(kept.member!, kept.bytes!)
    else if (kept.for === 'L') longName = readString(kept.bytes!, 0, kept.bytes!.length)
    else if (kept.for === 'x') pax = parsePax(kept.bytes!)
    else if (kept.for === 'g') globalPax = { ...globalPax, ...parsePax(kept.bytes!) }
    kept.bytes = null
    kept.for = null
    kept.member = null
  }

  /** Interpret one complete header block; returns false to stop. */
  let words: Uint32Array | null = null
  const onHeader = (block: Buffer, at: number, headerOffset: number): boolean => {
    if (!firstBlock) firstBlock = Buffer.from(block.subarray(at, at + BLOCK))
    const byteSum = sumBlock(block, at, block === header ? null : words)
    // All 512 bytes zero: the end-of-archive marker.
    if (byteSum === 0) {
      ended = true
      return false
    }
    if (!storedChecksumMatches(block, at, byteSum)) {
      badAt = headerOffset
      return false
    }
    const flag = block[at + 156]!
    let size = readOctal(block, at + 124, 12)
    const padded = Math.ceil(size / BLOCK) * BLOCK
    const dataOffset = headerOffset + BLOCK
    // GNU long name, PAX per-file and global headers describe the next member.
    if (flag === 76 /* L */ || flag === 120 /* x */ || flag === 103 /* g */ || flag === 88 /* X: old Solaris pax */) {
      kept.for = flag === 76 ? 'L' : flag === 103 ? 'g' : 'x'
      kept.bytes = Buffer.allocUnsafe(size)
      kept.fill = 0
      skip = padded
      if (padded === 0) finishData()
      return true
    }
    if (flag === 75 /* K: GNU long link name */) {
      skip = padded
      return true
    }
    let name: string
    // POSIX ustar ("ustar\0"), unlike GNU ("ustar  "), may split long names into prefix + name.
    const posix = block[at + 257] === 117 && block[at + 262] === 0 && block[at + 258] === 115
    name = readString(block, at, 100)
    if (posix && block[at + 345] !== 0) name = readString(block, at + 345, 155) + '/' + name
    if (longName !== null) name = longName
    const paxPath = pax.path ?? globalPax.path
    if (paxPath !== undefined) name = paxPath
    const paxSize = pax.size ?? globalPax.size
    if (paxSize !== undefined) size = Number(paxSize)
    longName = null
    pax = {}
    const type = memberType(flag)
    const member: TarMember = { name, type, size: type === 'file' ? size : 0, headerOffset, dataOffset }
    members++
    lastName = name
    // Directories and links carry no data in the archive, whatever their size field says.
    const dataBytes = type === 'file' || type === 'other' ? size : 0
    skip = Math.ceil(dataBytes / BLOCK) * BLOCK
    if (type === 'file' && wantData?.(name, size)) {
      if (block !== header && at + BLOCK + size <= block.length) {
        // The bytes are all in this chunk: lend a view instead of copying (valid during the call).
        onMember(member, block.subarray(at + BLOCK, at + BLOCK + size))
        return true
      }
      kept.for = 'member'
      kept.bytes = Buffer.allocUnsafe(size)
      kept.fill = 0
      kept.member = member
      if (size === 0) finishData()
    } else {
      onMember(member, undefined)
    }
    return true
  }

  async function scanChunks(): Promise<void> {
    for await (const chunk of chunks) {
      // A 32-bit view of the whole chunk (when aligned) for the checksum; words are indexed from the chunk's start.
      words = (chunk.byteOffset & 3) === 0 ? new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2) : null
      let pos = 0
      while (pos < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - pos)
          if (kept.bytes) {
            const take = Math.min(n, kept.bytes.length - kept.fill)
            if (take > 0) {
              chunk.copy(kept.bytes, kept.fill, pos, pos + take)
              kept.fill += take
            }
          }
          pos += n
          offset += n
          skip -= n
          if (skip === 0 && kept.bytes) finishData()
          continue
        }
        const headerOffset = offset - headerFill
        if (headerFill === 0 && chunk.length - pos >= BLOCK) {
          const go = onHeader(chunk, pos, offset)
          pos += BLOCK
          offset += BLOCK
          if (!go) return
          continue
        }
        const take = Math.min(BLOCK - headerFill, chunk.length - pos)
        chunk.copy(header, headerFill, pos, pos + take)
        headerFill += take
        pos += take
        offset += take
        if (headerFill === BLOCK) {
          headerFill = 0
          if (!onHeader(header, 0, headerOffset)) return
        }
      }
    }
  }

  /** The name in a header cut short, when it can be told: from a long-name or PAX header before it, or its whole name field (not when a ustar prefix would add to it). */
  const partialHeaderName = (): string | undefined => {
    const known = longName ?? pax.path ?? globalPax.path
    if (known !== undefined) return known
    return headerFill >= 100 && !(headerFill > 262 && header[257] === 117 && header[262] === 0 && header[345] !== 0) ? readString(header, 0, 100) || undefined : undefined
  }

  try {
    await scanChunks()
  } catch (error) {
    // The bytes stopped coming midway (gzip damage, a dropped connection): say how far the scan got.
    if (error !== null && typeof error === 'object') (error as { membersSeen?: number }).membersSeen = members
    throw error
  }
  let end: TarScanEnd
  if (badAt >= 0) end = { kind: 'bad-header', offset: badAt }
  else if (ended) end = { kind: 'complete' }
  else if (skip > 0) end = { kind: 'truncated', offset, member: lastName }
  else if (headerFill > 0) end = { kind: 'truncated', offset, nextMember: partialHeaderName() }
  else end = members > 0 ? { kind: 'no-end-marker', offset } : { kind: 'complete' }
  if (!firstBlock && headerFill > 0) firstBlock = Buffer.from(header.subarray(0, headerFill))
  return { end, members, bytes: offset, firstBlock }
}
