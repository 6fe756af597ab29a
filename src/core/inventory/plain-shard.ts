/**
 * The inventory's fast path for the common shard: an uncompressed local tar whose members
 * are all regular files with plain names (`key.field`, printable ASCII, lower-case field)
 * in ustar/GNU headers, each key's members adjacent, no field twice in a sample, ending
 * with the end-of-archive marker. Such a shard is tallied in one loop over large reads that
 * parses headers where they lie, makes one string per sample (not several objects per
 * member), and skips member data without looking at it (a member larger than the read
 * buffer is not even read).
 *
 * At the first thing that is not plain (a long name, a PAX header, a directory or link, an
 * odd name, a repeated field or key, a bad checksum, truncation, no end marker) it gives up
 * and returns null, and the caller reads the shard the general way (tar-scan.ts and
 * grouping.ts), which names the problem. So this path never decides what is wrong, and on
 * the shards it accepts it finds exactly what the general way finds (inventory tests).
 */
import { readSync } from 'node:fs'
import { parseInteger } from '../wds/integers'
import type { BlockSummer } from '../wds/block-sum'
import { readOctal, storedChecksumMatches } from '../wds/tar-scan'
import { KeySet } from './key-set'

const BLOCK = 512
/** `cls` members longer than this are not labels we can parse anyway. */
export const MAX_LABEL_BYTES = 64
/**
 * The largest `cls` counted as a class id: above the class counts of real datasets
 * (Google Landmarks v2 has 203,094), and the histogram is an array indexed by it. A larger
 * value (a file or taxon id left unmapped) counts as unlabelled; one label of 2,000,000,000
 * used to take gigabytes and crash the process.
 */
export const MAX_CLASS_ID = 999_999

/** What the inventory counts in a shard's samples. */
export interface SampleTally {
  samples: number
  /** Field extension → number of samples that have it. */
  fields: Record<string, number>
  /** Samples per class id, from `cls` fields that hold a non-negative integer. */
  classHistogram: number[]
  /** Samples whose `cls` is missing, not an integer, negative, or above MAX_CLASS_ID. */
  unlabelled: number
  firstKey: string | null
  lastKey: string | null
}

export function emptyTally(): SampleTally {
  return { samples: 0, fields: {}, classHistogram: [], unlabelled: 0, firstKey: null, lastKey: null }
}

/** Count one sample: its key, its fields, its label (null or negative: missing or not a non-negative integer). */
export function countSample(tally: SampleTally, key: string, fields: Iterable<string>, label: number | null): void {
  tally.firstKey ??= key
  tally.lastKey = key
  countContents(tally, fields, label)
}

/** Count one sample's fields and label; its key is the caller's to record. */
function countContents(tally: SampleTally, fields: Iterable<string>, label: number | null): void {
  tally.samples++
  for (const field of fields) tally.fields[field] = (tally.fields[field] ?? 0) + 1
  if (label === null || label < 0 || label > MAX_CLASS_ID) tally.unlabelled++
  else {
    while (tally.classHistogram.length <= label) tally.classHistogram.push(0)
    tally.classHistogram[label]!++
  }
}

/** What `PlainShardScan.scan` found: more headers to read from an offset, the end marker, or a shard that is not plain. */
const END = -1
const NOT_PLAIN = -2

/**
 * The scan's state between reads; `scan` is the hot loop, kept synchronous and free of
 * allocation. Note the warm-up: in a fresh process the first ~10 shards cost several
 * times more CPU than the later ones (measured 20–40 ms vs ~2 ms per 4.3 MB shard) until
 * V8 has optimised this loop, and more so on a loaded machine.
 */
class PlainShardScan {
  readonly tally = emptyTally()
  members = 0
  // Keys met so far, by their bytes: a key that comes back is not plain.
  private readonly keys = new KeySet()
  // Field names met so far, by their bytes, so that a member's field costs no new string.
  private readonly knownFields: { bytes: Buffer; name: string }[] = []
  // The sample being read: its key (as bytes, to compare the next member's without a string), fields, label.
  private readonly keyBytes = Buffer.alloc(100)
  private keyLength = -1
  private readonly sampleFields: string[] = []
  /** The label, -1 when missing or not an integer (always a number: a field that changes type costs V8 a deoptimisation). */
  private label = -1

  /**
   * Parse the headers in `buffer[at, length)`. Returns the offset of the first header that
   * is not wholly in the buffer (with its label's bytes, for a `cls`), END or NOT_PLAIN.
   * `sum512`: the byte sum of the block at an offset of `buffer`, for the checksum.
   */
  scan(buffer: Buffer, length: number, start: number, sum512: (at: number) => number): number {
    let at = start
    for (;;) {
      if (at + BLOCK > length) return at
      const byteSum = sum512(at)
      // All 512 bytes zero: the end-of-archive marker.
      if (byteSum === 0) return END
      if (!storedChecksumMatches(buffer, at, byteSum)) return NOT_PLAIN
      const flag = buffer[at + 156]!
      if (flag !== 48 /* '0' */ && flag !== 0) return NOT_PLAIN
      // POSIX ustar may put the start of a long name in the prefix field.
      if (buffer[at + 257] === 117 && buffer[at + 258] === 115 && buffer[at + 262] === 0 && buffer[at + 345] !== 0) return NOT_PLAIN
      if (buffer[at + 124]! & 0x80) return NOT_PLAIN
      const size = readOctal(buffer, at + 124, 12)
      // The name: printable ASCII without backslashes, no "..", not absolute, no drive letter.
      let nameEnd = at
      let lastSlash = -1
      for (; nameEnd < at + 100; nameEnd++) {
        const c = buffer[nameEnd]!
        if (c === 0) break
        if (c < 32 || c > 126 || c === 92 /* \ */ || (c === 46 /* . */ && nameEnd > at && buffer[nameEnd - 1] === 46)) return NOT_PLAIN
        if (c === 47 /* / */) lastSlash = nameEnd
      }
      if (nameEnd === at || buffer[at] === 47 || buffer[at + 1] === 58 /* : */) return NOT_PLAIN
      // Top-level `__name__` members are archive metadata, skipped by webdataset.
      if (lastSlash < 0 && buffer[at] === 95 && buffer[at + 1] === 95 && buffer[nameEnd - 1] === 95 && buffer[nameEnd - 2] === 95) return NOT_PLAIN
      const keyStart = lastSlash < 0 ? at : lastSlash + 1
      let dot = keyStart
      while (dot < nameEnd && buffer[dot] !== 46) dot++
      // No key (`.hidden`) or no field (`name`, `name.`).
      if (dot === keyStart || dot >= nameEnd - 1) return NOT_PLAIN
      // Byte loops rather than Buffer#compare / #copy: a call into C++ costs more than the ~10 bytes compared here.
      let field: string | null = null
      for (let k = 0; field === null && k < this.knownFields.length; k++) {
        const known = this.knownFields[k]!.bytes
        let same = known.length === nameEnd - dot - 1
        for (let i = 0; same && i < known.length; i++) same = known[i] === buffer[dot + 1 + i]
        if (same) field = this.knownFields[k]!.name
      }
      field ??= this.learnField(buffer, dot + 1, nameEnd)
      if (field === null) return NOT_PLAIN
      const isLabel = field === 'cls' && size <= MAX_LABEL_BYTES
      // The label's bytes run past this read: read on from its header (nothing counted yet).
      if (isLabel && at + BLOCK + size > length) return at
      // Same key as the member before: same sample; else the sample before is complete.
      let sameKey = this.keyLength === dot - at
      for (let i = 0; sameKey && i < this.keyLength; i++) sameKey = this.keyBytes[i] === buffer[at + i]
      if (!sameKey) {
        this.finishSample()
        if (!this.keys.add(buffer, at, dot - at)) return NOT_PLAIN
        // Keys become strings only for the first and last sample (see finish).
        this.tally.firstKey ??= buffer.toString('latin1', at, dot)
        this.keyLength = dot - at
        for (let i = 0; i < this.keyLength; i++) this.keyBytes[i] = buffer[at + i]!
        this.sampleFields.length = 0
        this.label = -1
      } else if (this.sampleFields.includes(field)) return NOT_PLAIN
      this.sampleFields.push(field)
      if (field === 'cls') this.label = isLabel ? (parseInteger(buffer, at + BLOCK, at + BLOCK + size) ?? -1) : -1
      this.members++
      at += BLOCK + Math.ceil(size / BLOCK) * BLOCK
    }
  }

  /**
   * A field name met for the first time, remembered by its bytes; null for an upper-case one
   * (not plain: webdataset lower-cases it). Kept out of `scan` so that V8 optimises the hot
   * loop without it (measured: each optimisation of `scan` took ~100 ms of compile time).
   */
  private learnField(buffer: Buffer, start: number, end: number): string | null {
    for (let i = start; i < end; i++) if (buffer[i]! >= 65 && buffer[i]! <= 90) return null
    const name = buffer.toString('latin1', start, end)
    this.knownFields.push({ bytes: Buffer.from(buffer.subarray(start, end)), name })
    return name
  }

  /** The tally, once the end marker is reached. */
  finish(): SampleTally {
    if (this.keyLength >= 0) this.tally.lastKey = this.keyBytes.toString('latin1', 0, this.keyLength)
    this.finishSample()
    return this.tally
  }

  /** Count the sample being read, if any. */
  private finishSample(): void {
    if (this.keyLength >= 0) countContents(this.tally, this.sampleFields, this.label)
    this.keyLength = -1
  }
}

/**
 * Tally a plain shard from an open file whose first `firstLength` bytes are already in the
 * summer's buffer, reading on with it (reads start at a header, so no header is ever split
 * between two reads, and every header sits at a multiple of 512 in the buffer). Null when
 * the shard is not plain.
 */
export async function tallyPlainShard(fd: number, { buffer, sum512 }: BlockSummer, firstLength: number): Promise<SampleTally | null> {
  const scan = new PlainShardScan()
  let position = 0 // file offset of buffer[0]
  let length = firstLength
  let at = 0
  for (;;) {
    at = scan.scan(buffer, length, at, sum512)
    if (at === NOT_PLAIN) return null
    // An archive with no members is not plain (the general way reports it as empty).
    if (at === END) return scan.members > 0 ? scan.finish() : null
    // A short read means the file ended inside this header or member (or without an end marker).
    if (length < buffer.length) return null
    position += at
    at = 0
    // Let the event loop run between reads (progress, other threads' results, a server's requests).
    await new Promise((resume) => setImmediate(resume))
    length = readSync(fd, buffer, 0, buffer.length, position)
  }
}
