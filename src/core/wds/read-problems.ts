/**
 * What went wrong reading a shard, in words the user can act on: not a tar, truncated,
 * a bad header, gzip damage, no end marker, empty. Shared by the streaming reader
 * (read.ts), the index and the inventory (which scan headers with tar-scan.ts); kept
 * apart from read.ts so that the header scanners load neither tar-stream nor zlib.
 */
import { splitMemberName } from './grouping'
import { bracesBalanced } from './patterns'
import { membersBeforeFailure, type TarScanResult } from './tar-scan'
import type { ReadProblem } from './types'

/** Members bigger than this are reported as a problem instead of read into memory (a reader's `maxMemberBytes` by default). */
export const DEFAULT_MAX_MEMBER_BYTES = 64 * 1024 * 1024

/** What was seen of a shard's start: gzip or not, and its first 512 (uncompressed) bytes. */
export interface ShardStart {
  compressed: boolean
  firstBlock: Buffer | null
}

/** True when a 512-byte block carries a valid tar header checksum. */
export function isTarHeader(block: Buffer | null): boolean {
  if (!block || block.length < 512) return false
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  const stored = Number.parseInt(block.subarray(148, 156).toString('latin1').replace(/[\0 ]+/g, ' ').trim(), 8)
  return sum !== 8 * 32 && stored === sum
}

/** xz, bzip2 or zstd by their magic bytes: tar shards compressed in a way this reader does not undo. */
function otherCompression(first: Buffer): string | null {
  if (first.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz-compressed'
  if (first.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2-compressed'
  if (first.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd-compressed'
  return null
}

/** Why a local shard could not be opened, naming it: the words every reader of shard files shares. */
export function cannotOpenShard(url: string, error: unknown): string {
  const err = error as NodeJS.ErrnoException
  if (err?.code === 'EISDIR') return shardIsAFolder(url)
  const why = err?.code === 'ENOENT' ? missingShardWords(url) : err?.code === 'EACCES' ? 'permission denied' : String(err?.message ?? error)
  return `${url}: cannot open (${why})`
}

/** A shard path that is a folder (`train-000001.tar/`): a problem of that shard, with 0 bytes of it read. */
export function shardIsAFolder(url: string): string {
  return `${url}: is a folder, not a shard file`
}

/**
 * A shard file that does not exist, in words; when its name holds braces that do not pair up,
 * the pattern it came from was read as this one literal name (patterns.ts), and that is the likelier mistake.
 */
export function missingShardWords(path: string): string {
  return /[{}]/.test(path) && !bracesBalanced(path) ? 'no such file; its braces do not pair up, so the pattern was read as this one file name' : 'no such file'
}

/** Classify a failure to read a shard's bytes as a problem the user can act on. */
/** `membersSeen`: members read whole; `cutMember`: the one being read when the bytes ran out, if known. */
export function describeReadFailure(url: string, error: unknown, start: ShardStart, membersSeen: number, cutMember?: string): ReadProblem {
  const err = error as NodeJS.ErrnoException
  const message = String(err?.message ?? error)
  if (typeof err?.code === 'string' && err.code.startsWith('Z_')) {
    if (err.code === 'Z_BUF_ERROR') {
      return { url, kind: 'truncated', message: `${url}: gzip stream ends early after ${membersSeen} tar members (truncated .gz)` }
    }
    return { url, kind: 'gzip-error', message: `${url}: gzip data is corrupt after ${membersSeen} members (${message})` }
  }
  if (membersSeen === 0 && !isTarHeader(start.firstBlock)) {
    const first = start.firstBlock
    const compressed = first && !start.compressed ? otherCompression(first) : null
    const what = compressed
      ? ` but ${compressed} data (ShardScope reads tar and gzip-compressed tar; decompress it, or recompress it with gzip)`
      : first && /^\s*<(!doctype|html)/i.test(first.toString('latin1'))
        ? ' (it looks like an HTML page, e.g. an error page saved as .tar)'
        : ''
    return { url, kind: 'not-a-tar', message: `${url}: not a tar archive${what}` }
  }
  if (/unexpected end of data/i.test(message)) {
    if (cutMember !== undefined) {
      const key = splitMemberName(cutMember)?.key
      return {
        url,
        kind: 'truncated',
        key,
        member: cutMember,
        message: `${url}: the tar ends in the middle of member "${cutMember}"${key ? ` (sample ${key})` : ''} after ${membersSeen} complete members (truncated shard)`
      }
    }
    return { url, kind: 'truncated', message: `${url}: the tar ends in the middle of a member after ${membersSeen} complete members (truncated shard)` }
  }
  if (/invalid tar header/i.test(message)) {
    return { url, kind: 'bad-header', message: `${url}: invalid tar header after ${membersSeen} members (${message})` }
  }
  // Node's word for a response whose connection closed before its end.
  if (message === 'aborted') return { url, kind: 'unreadable', message: `${url}: the connection closed midway (after ${membersSeen} tar members)` }
  return { url, kind: 'unreadable', message: `${url}: ${message}` }
}

/** A gzip shard that is several gzip streams one after another (see gzipTrailerMatches in read.ts). */
export function severalGzipStreams(url: string): ReadProblem {
  return {
    url,
    kind: 'several-gzip-streams',
    message:
      `${url}: the file is several gzip streams one after another (as bgzip writes, or \`cat\` of .tar.gz files); ` +
      'webdataset reads shards with Python\'s tarfile in stream mode, which stops at the end of the first stream: ' +
      'the samples after that point are not read, and a stream that ends inside a member fails with "unexpected end of data"'
  }
}

/** Every member is whole but the end-of-archive marker is missing: cut at a member boundary. */
export function missingEndMarker(url: string, membersSeen: number): ReadProblem {
  return { url, kind: 'truncated', message: `${url}: the tar has no end-of-archive marker after ${membersSeen} members (truncated at a member boundary?); all members read are whole` }
}

export function emptyShard(url: string): ReadProblem {
  return { url, kind: 'empty-shard', message: `${url}: the shard holds no members` }
}

/**
 * What the end of a header scan (src/core/wds/tar-scan.ts) means, in the same words
 * readSamples uses: the problem the end itself is, if any, and whether the sample being
 * built when the scan stopped is whole (it is not when the bytes ran out inside it), with
 * the key of the member they ran out in (SampleGrouper.finishAtEnd). `problems` adds what
 * the shard's bytes showed at their end (several gzip streams): every problem to report.
 */
export function judgeScanEnd(
  url: string,
  scanned: TarScanResult | undefined,
  failure: unknown,
  start: ShardStart,
  severalStreams: boolean
): { problem: ReadProblem | null; problems: ReadProblem[]; lastSampleWhole: boolean; cutKey?: string } {
  const end = endOfScan(url, scanned, failure, start)
  return { ...end, problems: [...(end.problem ? [end.problem] : []), ...(severalStreams ? [severalGzipStreams(url)] : [])] }
}

function endOfScan(url: string, scanned: TarScanResult | undefined, failure: unknown, start: ShardStart): { problem: ReadProblem | null; lastSampleWhole: boolean; cutKey?: string } {
  const members = scanned?.members ?? membersBeforeFailure(failure)
  if (failure || !scanned) return { problem: describeReadFailure(url, failure, start, members), lastSampleWhole: false }
  switch (scanned.end.kind) {
    case 'complete':
      return { problem: members === 0 ? emptyShard(url) : null, lastSampleWhole: true }
    case 'no-end-marker':
      return { problem: missingEndMarker(url, members), lastSampleWhole: true }
    default: {
      const reason = new Error(scanned.end.kind === 'truncated' ? 'Unexpected end of data' : 'Invalid tar header')
      const cut = scanned.end.kind === 'truncated' ? scanned.end.member : undefined
      // The scan counted the cut member's header among its members.
      const whole = cut === undefined ? members : members - 1
      const problem = describeReadFailure(url, reason, { compressed: start.compressed, firstBlock: scanned.firstBlock }, whole, cut)
      // The sample being built is whole if the member cut (or whose header was cut) starts
      // another one; when that cannot be told, it is not counted.
      const next = scanned.end.kind === 'truncated' ? scanned.end.nextMember : undefined
      return { problem, lastSampleWhole: false, cutKey: problem.key ?? (next === undefined ? undefined : splitMemberName(next)?.key) }
    }
  }
}
