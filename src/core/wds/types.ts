/**
 * The WebDataset engine's nouns. Shared by reading, indexing, writing, inventory,
 * and everything downstream (verifier, trainer, browser). Plain data only.
 */

/** One shard location after pattern expansion. */
export interface ShardLocation {
  /** As the user would write it: an absolute path for files, the URL for http(s); gs:// is rewritten to https. */
  url: string
  kind: 'file' | 'http'
  /** Absolute filesystem path for kind 'file'. */
  path?: string
  /** The pattern this shard came from, for messages ("pattern X covers 1 of 2 shards"). */
  pattern: string
}

/** A member of a tar as read, before grouping. */
export interface TarMember {
  name: string
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other'
  size: number
  /** Byte offset of the member's 512-byte header within the (uncompressed) tar. */
  headerOffset: number
  /** Byte offset of the member's data within the (uncompressed) tar. */
  dataOffset: number
}

/** A WebDataset sample: the members sharing one key, by field extension (lower-cased). */
export interface Sample {
  /** `__key__`: member path up to the first dot of its basename. */
  key: string
  /** `__url__`: the shard it came from. */
  url: string
  /** Position of the sample in its shard, from 0. */
  indexInShard: number
  /** Field extension (e.g. 'jpg', 'cls', 'seg.png') → raw bytes. */
  fields: Record<string, Uint8Array>
}

/** Something wrong found while reading; reading goes on where it can. */
export interface ReadProblem {
  url: string
  kind:
    | 'not-regular-file'
    | 'dangerous-name'
    | 'non-adjacent-key'
    | 'duplicate-field'
    | 'truncated'
    | 'not-a-tar'
    | 'gzip-error'
    | 'several-gzip-streams'
    | 'bad-header'
    | 'empty-shard'
    | 'unreadable'
    | 'no-field'
    | 'member-too-large'
  message: string
  key?: string
  member?: string
}

/** Random-access index of one shard: where each sample's members are. */
export interface ShardIndex {
  version: 1
  url: string
  /** Cache validity: size+mtime for files, ETag or Last-Modified for http. */
  validator: string
  bytes: number
  compressed: boolean
  samples: IndexedSample[]
  problems: ReadProblem[]
}

export interface IndexedSample {
  key: string
  /** field extension → [dataOffset, size] in the uncompressed tar */
  members: Record<string, [number, number]>
}
