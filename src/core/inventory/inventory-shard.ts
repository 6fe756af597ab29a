/**
 * The inventory of one shard: size, samples, fields, class histogram, first and last key,
 * read problems.
 *
 * Speed: an uncompressed local shard is read in large sequential reads into one reused
 * buffer and only its 512-byte headers are parsed (src/core/wds/tar-scan.ts); the tiny
 * `cls` members are parsed where they lie in the buffer, nothing else is copied. That keeps
 * the inventory near the speed of `cat` and its memory flat whatever the shard size.
 * Gzip and remote shards take the streaming path, whose modules (zlib, tar-stream, http)
 * are loaded only when such a shard turns up.
 */
import { basename } from 'node:path'
import { createBlockSummer, type BlockSummer } from '../wds/block-sum'
import { SampleGrouper } from '../wds/grouping'
import { parseInteger } from '../wds/integers'
import { judgeScanEnd } from '../wds/read-problems'
import { scanShard } from '../wds/scan-shard'
import type { TarScanOptions } from '../wds/tar-scan'
import type { ReadProblem, ShardLocation } from '../wds/types'
import { countSample, emptyTally, MAX_LABEL_BYTES, tallyPlainShard, type SampleTally } from './plain-shard'

export interface ShardInventory extends SampleTally {
  /** Split the shard belongs to: its subfolder in folder mode, else the shard name's prefix (`train-000001.tar` → train). */
  split: string
  /** File name (last path segment). */
  name: string
  url: string
  pattern: string
  bytes: number
  compressed: boolean
  problems: ReadProblem[]
}

/** Read buffers reused across shards (one per shard being read at the same time), so GC stays quiet. */
const spareReadBuffers: BlockSummer[] = []

/** Inventory one shard; never throws for a shard that cannot be read (it becomes a problem). */
export async function inventoryShard(location: ShardLocation, split: string): Promise<ShardInventory> {
  const name = decodeURIComponent(basename(location.path ?? new URL(location.url).pathname))
  const result: ShardInventory = { split, name, url: location.url, pattern: location.pattern, bytes: 0, compressed: false, ...emptyTally(), problems: [] }
  // A field's value is its label (cls) or null: the bytes are parsed as they pass, since
  // the scanner lends them only for the duration of the call.
  const grouper = new SampleGrouper<number | null>(
    location.url,
    (sample) => countSample(result, sample.key, Object.keys(sample.fields), sample.fields.cls ?? null),
    (problem) => result.problems.push(problem)
  )
  const scanOptions: TarScanOptions = {
    onMember: (member, data) => {
      const accepted = grouper.accept(member)
      if (accepted) grouper.add(accepted.key, accepted.field, data && accepted.field === 'cls' ? parseInteger(data) : null, member.name)
    },
    wantData: (memberName, size) => size <= MAX_LABEL_BYTES && /\.cls$/i.test(memberName)
  }
  const summer = spareReadBuffers.pop() ?? createBlockSummer()
  let plain: SampleTally | null = null
  let scan
  try {
    scan = await scanShard(location, scanOptions, {
      buffer: summer.buffer,
      remoteBytes: true,
      // A turn for the event loop between chunks: a server running an inventory stays
      // responsive and the other inventory threads' results are taken in.
      afterChunk: () => new Promise((resume) => setImmediate(resume)),
      plainFile: async (fd, firstLength) => (plain = await tallyPlainShard(fd, summer, firstLength)) !== null
    })
  } finally {
    spareReadBuffers.push(summer)
  }
  result.bytes = scan.bytes
  if (plain) return Object.assign(result, plain)
  if (scan.unreadable !== undefined) {
    result.problems.push({ url: location.url, kind: 'unreadable', message: scan.unreadable })
    return result
  }
  const { scanned, failure, start } = scan
  result.compressed = start.compressed
  const end = judgeScanEnd(location.url, scanned, failure, start, scan.severalGzipStreams)
  grouper.finishAtEnd(end)
  result.problems.push(...end.problems)
  return result
}
