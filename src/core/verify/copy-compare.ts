/**
 * Copy vs copy: two shard sets that should hold the same split (local and a bucket
 * copy, or any two patterns). The post-mortem's second cause was a bucket copy in an
 * older layout (10 shards × 1,000) never re-uploaded after the local data was rebuilt
 * (2 shards × 5,000); this names it a stale copy.
 */
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { basename } from 'node:path'

export interface CopyShard {
  url: string
  bytes: number
  samples: number
  /** SHA-256 of the shard's bytes as stored; absent when they could not all be read. */
  sha256?: string
  mtimeMs?: number
  readable: boolean
  /** Why the shard could not be read, when it could not. */
  error?: string
}

export interface CopySide {
  pattern: string
  shards: CopyShard[]
  keys: Set<string>
  /** Of `shards`, those the pattern skips in its folder (the local side is the whole folder's split). */
  outsidePattern?: number
}

export interface CopyComparison {
  local: CopySide
  remote: CopySide
  /** Different shard count or different per-shard sample counts. */
  layoutDiffers: boolean
  /** Same shard name on both sides, different bytes. */
  contentDiffers: Array<{ name: string; local: CopyShard; remote: CopyShard }>
  onlyLocalKeys: number
  onlyRemoteKeys: number
  exampleOnlyLocal: string[]
  exampleOnlyRemote: string[]
  /** Remote older than every local shard it differs from (by file mtime), when known. */
  remoteOlder: boolean | null
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

/** One line describing a shard layout: `2 shards × 300 samples` or `10 shards, 55–62 samples each`. */
export function describeLayout(shards: CopyShard[]): string {
  const counts = shards.map((s) => s.samples)
  const total = counts.reduce((a, b) => a + b, 0)
  if (counts.length === 0) return 'no shards'
  const min = Math.min(...counts)
  const max = Math.max(...counts)
  const each = min === max ? `× ${fmt(min)} samples` : `with ${fmt(min)}–${fmt(max)} samples each`
  return `${counts.length} shard${counts.length === 1 ? '' : 's'} ${each} (${fmt(total)} in all)`
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US')
}

/** The name copies of a shard share: its file name, in a folder or a bucket. */
export function shardName(url: string): string {
  return basename(url)
}

export function compareCopies(local: CopySide, remote: CopySide): CopyComparison {
  const localCounts = local.shards.map((s) => s.samples)
  const remoteCounts = remote.shards.map((s) => s.samples)
  const layoutDiffers = localCounts.length !== remoteCounts.length || localCounts.some((n, i) => n !== remoteCounts[i])
  const remoteByName = new Map(remote.shards.map((s) => [shardName(s.url), s]))
  const contentDiffers: CopyComparison['contentDiffers'] = []
  for (const l of local.shards) {
    const r = remoteByName.get(shardName(l.url))
    if (r && l.sha256 && r.sha256 && l.sha256 !== r.sha256) contentDiffers.push({ name: shardName(l.url), local: l, remote: r })
  }
  const exampleOnlyLocal: string[] = []
  const exampleOnlyRemote: string[] = []
  let onlyLocalKeys = 0
  let onlyRemoteKeys = 0
  for (const k of local.keys) {
    if (!remote.keys.has(k)) {
      onlyLocalKeys++
      if (exampleOnlyLocal.length < 5) exampleOnlyLocal.push(k)
    }
  }
  for (const k of remote.keys) {
    if (!local.keys.has(k)) {
      onlyRemoteKeys++
      if (exampleOnlyRemote.length < 5) exampleOnlyRemote.push(k)
    }
  }
  const localTimes = local.shards.map((s) => s.mtimeMs).filter((t): t is number => t !== undefined)
  const remoteTimes = remote.shards.map((s) => s.mtimeMs).filter((t): t is number => t !== undefined)
  const remoteOlder = localTimes.length > 0 && remoteTimes.length > 0 ? Math.max(...remoteTimes) < Math.min(...localTimes) : null
  return { local, remote, layoutDiffers, contentDiffers, onlyLocalKeys, onlyRemoteKeys, exampleOnlyLocal, exampleOnlyRemote, remoteOlder }
}
