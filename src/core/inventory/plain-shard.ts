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
import { checksumOk, isZeroBlock, readOctal } from '../wds/tar-scan'

const BLOCK = 512
/** `cls` members longer than this are not labels we can parse anyway. */
export const MAX_LABEL_BYTES = 64

/** What the inventory counts in a shard's samples. */
export interface SampleTally {
  samples: number
  /** Field extension → number of samples that have it. */
  fields: Record<string, number>
  /** Samples per class id, from `cls` fields that hold a non-negative integer. */
  classHistogram: number[]
  /** Samples whose `cls` is missing, not an integer, or negative. */
  unlabelled: number
  firstKey: string | null
  lastKey: string | null
}

export function emptyTally(): SampleTally {
  return { samples: 0, fields: {}, classHistogram: [], unlabelled: 0, firstKey: null, lastKey: null }
}

/** Count one sample: its key, its fields, its label (null: missing or not a non-negative integer). */
export function countSample(tally: SampleTally, key: string, fields: Iterable<string>, label: number | null): void {
  tally.samples++
  tally.firstKey ??= key
  tally.lastKey = key
  for (const field of fields) tally.fields[field] = (tally.fields[field] ?? 0) + 1
  if (label === null || label < 0) tally.unlabelled++
  else {
    while (tally.classHistogram.length <= label) tally.classHistogram.push(0)
    tally.classHistogram[label]!++
  }
}

/**
 * Tally a plain shard from an open file whose first `firstLength` bytes are already in
 * `buffer`, reading on with it (reads start at a header, so no header is ever split between
 * two reads). Null when the shard is not plain.
 */
export async function tallyPlainShard(fd: number, buffer: Buffer, firstLength: number): Promise<SampleTally | null> {
  const words = (buffer.byteOffset & 3) === 0 ? new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.length >>> 2) : null
  const tally = emptyTally()
  const seenKeys = new Set<string>()
  // Field names met so far, by their bytes, so that a member's field costs no new string.
  const knownFields: { bytes: Buffer; name: string }[] = []
  // The sample being read: its key (as bytes, to compare the next member's without a string), fields, label.
  const keyBytes = Buffer.alloc(100)
  let keyLength = -1
  let key = ''
  const sampleFields: string[] = []
  let label: number | null = null
  let members = 0
  let position = 0 // file offset of buffer[0]
  let length = firstLength
  let at = 0 // next header in the buffer
  for (;;) {
    if (at + BLOCK > length) {
      // Read on from this header; a short read means the file ended inside it (or without an end marker).
      if (length < buffer.length) return null
      position += at
      at = 0
      // Let the event loop run between reads (progress, other threads' results, a server's requests).
      await new Promise((resume) => setImmediate(resume))
      length = readSync(fd, buffer, 0, buffer.length, position)
      continue
    }
    if (isZeroBlock(buffer, at)) break
    if (!checksumOk(buffer, at, words)) return null
    const flag = buffer[at + 156]!
    if (flag !== 48 /* '0' */ && flag !== 0) return null
    // POSIX ustar may put the start of a long name in the prefix field.
    if (buffer[at + 257] === 117 && buffer[at + 258] === 115 && buffer[at + 262] === 0 && buffer[at + 345] !== 0) return null
    if (buffer[at + 124]! & 0x80) return null
    const size = readOctal(buffer, at + 124, 12)
    // The name: printable ASCII without backslashes, no "..", not absolute, no drive letter.
    let nameEnd = at
    let lastSlash = -1
    for (; nameEnd < at + 100; nameEnd++) {
      const c = buffer[nameEnd]!
      if (c === 0) break
      if (c < 32 || c > 126 || c === 92 /* \ */ || (c === 46 /* . */ && buffer[nameEnd - 1] === 46 && nameEnd > at)) return null
      if (c === 47 /* / */) lastSlash = nameEnd
    }
    if (nameEnd === at || buffer[at] === 47 || buffer[at + 1] === 58 /* : */) return null
    let dot = lastSlash + 1
    if (lastSlash < 0) {
      dot = at
      // Top-level `__name__` members are archive metadata, skipped by webdataset.
      if (buffer[at] === 95 && buffer[at + 1] === 95 && buffer[nameEnd - 1] === 95 && buffer[nameEnd - 2] === 95) return null
    }
    const keyStart = dot
    while (dot < nameEnd && buffer[dot] !== 46) dot++
    // No key (`.hidden`), no field (`name`, `name.`), or an upper-case field (webdataset lower-cases it).
    if (dot === keyStart || dot >= nameEnd - 1) return null
    // Byte loops rather than Buffer#compare / #copy: a call into C++ costs more than ~10 bytes compared here.
    let field: string | null = null
    for (let k = 0; field === null && k < knownFields.length; k++) {
      const known = knownFields[k]!.bytes
      let same = known.length === nameEnd - dot - 1
      for (let i = 0; same && i < known.length; i++) same = known[i] === buffer[dot + 1 + i]
      if (same) field = knownFields[k]!.name
    }
    if (field === null) {
      for (let i = dot + 1; i < nameEnd; i++) if (buffer[i]! >= 65 && buffer[i]! <= 90) return null
      field = buffer.toString('latin1', dot + 1, nameEnd)
      knownFields.push({ bytes: Buffer.from(buffer.subarray(dot + 1, nameEnd)), name: field })
    }
    const isLabel = field === 'cls' && size <= MAX_LABEL_BYTES
    if (isLabel && at + BLOCK + size > length) {
      // The label's bytes run past this read: read on from its header (nothing counted yet).
      if (length < buffer.length) return null
      position += at
      at = 0
      length = readSync(fd, buffer, 0, buffer.length, position)
      continue
    }
    // Same key as the member before: same sample; else the sample before is complete.
    let sameKey = keyLength === dot - at
    for (let i = 0; sameKey && i < keyLength; i++) sameKey = keyBytes[i] === buffer[at + i]
    if (!sameKey) {
      if (keyLength >= 0) countSample(tally, key, sampleFields, label)
      key = buffer.toString('latin1', at, dot)
      if (seenKeys.has(key)) return null
      seenKeys.add(key)
      keyLength = dot - at
      for (let i = 0; i < keyLength; i++) keyBytes[i] = buffer[at + i]!
      sampleFields.length = 0
      label = null
    } else if (sampleFields.includes(field)) return null
    sampleFields.push(field)
    if (field === 'cls') label = isLabel ? parseInteger(buffer, at + BLOCK, at + BLOCK + size) : null
    members++
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK
  }
  if (members === 0) return null
  countSample(tally, key, sampleFields, label)
  return tally
}
