/**
 * Which files of a folder are shards, the split a shard's file name implies, the numbered
 * series they form, and a compact pattern naming some of them: the rules the inventory, the
 * verifier and the app share when given a folder instead of patterns.
 */
import { readdirSync, type Dirent } from 'node:fs'
import { join } from 'node:path'

export const SHARD_FILE = /\.(tar|tar\.gz|tgz)$/i

/**
 * A numbered family of shard files: `val-000000.tar` → prefix `val-`, no suffix, 6 digits.
 * Members of one family may differ in extension (`val-000001.tar.gz` beside
 * `val-000000.tar` is the same series, compressed).
 */
export interface ShardFamily {
  prefix: string
  /** What follows the number, before the extension. */
  suffix: string
  width: number
}

/** The family of a shard file name (its last run of digits generalised), or null for a name without one. */
export function shardFamily(name: string): ShardFamily | null {
  const ext = SHARD_FILE.exec(name)
  const m = ext && /^(.*?)(\d+)(\D*)$/.exec(name.slice(0, ext.index))
  if (!m) return null
  return { prefix: m[1]!, suffix: m[3]!, width: m[2]!.length }
}

/** The number of a file name in the family (whatever its shard extension), or null when the name is not one of it. */
export function numberInFamily(name: string, family: ShardFamily): number | null {
  const ext = SHARD_FILE.exec(name)
  if (!ext) return null
  const stem = name.slice(0, ext.index)
  if (!stem.startsWith(family.prefix) || !stem.endsWith(family.suffix)) return null
  const digits = stem.slice(family.prefix.length, stem.length - family.suffix.length)
  return /^\d+$/.test(digits) ? Number(digits) : null
}

/** Split name from a shard file name: `train-000001.tar` → train, `val.tar.gz` → val. */
export function splitFromName(name: string): string {
  const stem = name.replace(SHARD_FILE, '')
  // A brace in the name is a pattern read as one literal file name (its braces do not pair
  // up: `val-{000000..000001.tar`): the split is what comes before the brace.
  const beforeBrace = /[{}]/.test(stem) ? stem.replace(/[{}].*$/, '').replace(/[-_.]+$/, '') : ''
  if (beforeBrace) return beforeBrace
  return stem.replace(/[-_.]?\d+$/, '') || stem
}

/** A shard file of a folder given instead of patterns, with the split it belongs to. */
export interface FolderShard {
  split: string
  /** '' for the folder itself, `sub/` for a subfolder (`sub/part1/` deeper). */
  dir: string
  name: string
  path: string
}

/**
 * The shard files of a folder given instead of patterns, as the inventory, the verifier and the
 * app read it: its own files, split by name, then those in its subfolders (and theirs, a few
 * levels down), split by the name of the subfolder under the folder (train/, val/); sorted.
 * Hidden folders are passed over; an unreadable one holds none. A folder named like a shard
 * (`train-000001.tar/`) is listed as one, so that its readers report it instead of leaving it out.
 */
export function shardFilesOfFolder(folder: string): FolderShard[] {
  const entries = readdirSync(folder, { withFileTypes: true })
  const filesIn = (list: Dirent[]): string[] =>
    list
      .filter((e) => (e.isFile() || e.isDirectory()) && SHARD_FILE.test(e.name))
      .map((e) => e.name)
      .sort()
  const found: FolderShard[] = filesIn(entries).map((name) => ({ split: splitFromName(name), dir: '', name, path: join(folder, name) }))
  // A split's folder may keep its shards in folders of its own (train/part1/…): they are found there too.
  const walk = (split: string, dir: string, depth: number): void => {
    let inside: Dirent[]
    try {
      inside = readdirSync(join(folder, dir), { withFileTypes: true })
    } catch {
      return
    }
    for (const name of filesIn(inside)) found.push({ split, dir: `${dir}/`, name, path: join(folder, dir, name) })
    if (depth < MAX_SPLIT_DEPTH) for (const sub of subfoldersOf(inside)) walk(split, `${dir}/${sub}`, depth + 1)
  }
  for (const sub of subfoldersOf(entries)) walk(sub, sub, 1)
  return found
}

/** How deep under a split's folder shards are looked for: train/a/b/c/x.tar, and no deeper. */
const MAX_SPLIT_DEPTH = 4

function subfoldersOf(entries: Dirent[]): string[] {
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SHARD_FILE.test(e.name))
    .map((e) => e.name)
    .sort()
}

/**
 * A compact pattern naming exactly these files of one folder (`dir` as the user would write it,
 * ending in `/` or empty): each numbered family as one brace group, `{000000..000009}` when
 * the numbers run without gaps, `{000000,000002}` otherwise; other names as they are; joined by `::`.
 */
export function patternForFiles(dir: string, names: string[]): string {
  const parts: string[] = []
  const families = new Map<string, { family: ShardFamily; numbers: number[]; extension: string }>()
  for (const name of [...names].sort()) {
    const family = shardFamily(name)
    if (!family) {
      parts.push(dir + name)
      continue
    }
    // One brace group per extension: a pattern cannot vary it within a range.
    const extension = SHARD_FILE.exec(name)![0]
    const id = `${family.prefix}\0${family.suffix}\0${family.width}\0${extension}`
    const entry = families.get(id) ?? { family, numbers: [], extension }
    entry.numbers.push(numberInFamily(name, family)!)
    families.set(id, entry)
  }
  for (const { family, numbers, extension } of families.values()) {
    const pad = (n: number) => String(n).padStart(family.width, '0')
    const sorted = numbers.sort((a, b) => a - b)
    const first = sorted[0]!
    const last = sorted[sorted.length - 1]!
    const middle = sorted.length === 1 ? pad(first) : last - first + 1 === sorted.length ? `{${pad(first)}..${pad(last)}}` : `{${sorted.map(pad).join(',')}}`
    parts.push(`${dir}${family.prefix}${middle}${family.suffix}${extension}`)
  }
  return parts.sort().join('::')
}

/**
 * The splits of a folder given instead of patterns (shardFilesOfFolder), each with a compact
 * pattern per folder its shards lie in: `train/part1/{000000..000003}.tar`, each folder
 * written as `prefix` + its path under `folder` (so prefix `''` gives patterns relative to it).
 */
export function splitPatternsOfFolder(folder: string, prefix = ''): Array<{ name: string; patterns: string[] }> {
  const bySplit = new Map<string, Map<string, string[]>>()
  for (const { split, dir, name } of shardFilesOfFolder(folder)) {
    const dirs = bySplit.get(split) ?? new Map<string, string[]>()
    dirs.set(dir, [...(dirs.get(dir) ?? []), name])
    bySplit.set(split, dirs)
  }
  return [...bySplit.entries()].map(([name, dirs]) => ({ name, patterns: [...dirs.entries()].map(([dir, names]) => patternForFiles(prefix + dir, names)) }))
}
