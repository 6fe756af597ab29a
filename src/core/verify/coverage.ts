/**
 * Coverage: what a pattern expands to against the shard-like files in its folder.
 * The post-mortem's first cause: `val-000000.tar` named 1 of the 2 shards in the
 * folder and nothing said so. A shard family is the expanded names with their last
 * run of digits generalised (`val-000000.tar` → `val-<n>.tar`).
 */
import { readdirSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { numberInFamily as numberIn, patternForFiles, shardFamily as familyOf } from '../wds/shard-files'
import type { ShardLocation } from '../wds/types'

export interface ShardFile {
  path: string
  bytes: number
  mtimeMs: number
}

export interface FolderCoverage {
  dir: string
  /** Files the pattern names that exist. */
  covered: ShardFile[]
  /** Files the pattern names that do not exist. */
  missing: string[]
  /** Shard-like files of the same family in the folder that the pattern does not name. */
  uncovered: ShardFile[]
  /** Shard numbers absent between the family's lowest and highest (neither in the folder nor named). */
  gaps: number[]
  /** A pattern (folder part as the user wrote it) naming every shard of the family in the folder. */
  suggestedPattern?: string
}

export interface Coverage {
  /** Existing files first, in pattern order; http locations as they are. */
  readable: ShardLocation[]
  folders: FolderCoverage[]
}

/**
 * A file, or null. With `folders`, a folder too: a path the pattern names that is a folder
 * named like a shard is read like one, so that the check reports it ("is a folder, not a
 * shard file") instead of calling it missing; it holds 0 bytes of shard.
 */
function statFile(path: string, folders = false): ShardFile | null {
  try {
    const s = statSync(path)
    return s.isFile() || (folders && s.isDirectory()) ? { path, bytes: s.isFile() ? s.size : 0, mtimeMs: s.mtimeMs } : null
  } catch {
    return null
  }
}

/**
 * checkCoverage for several splits at once: a file one split names is covered for the others
 * too (train and val often share a folder, split by shard number). In the splits' order.
 */
export function checkSplitsCoverage(splits: ReadonlyArray<ShardLocation[]>): Coverage[] {
  const namedBy = splits.map((locations) => new Set(locations.flatMap((l) => (l.kind === 'file' && l.path ? [l.path] : []))))
  return splits.map((locations, i) => checkCoverage(locations, new Set(namedBy.flatMap((paths, j) => (j === i ? [] : [...paths])))))
}

/**
 * Compare a pattern's file locations with their folders. http locations are passed through
 * (no listing to compare with). `namedElsewhere`: paths another split's pattern names —
 * train and val often share a folder, split by shard number — which are not this pattern's
 * to cover: neither counted as left out nor put in the suggested pattern.
 */
export function checkCoverage(locations: ShardLocation[], namedElsewhere: ReadonlySet<string> = new Set()): Coverage {
  const readable: ShardLocation[] = []
  const byDir = new Map<string, ShardLocation[]>()
  for (const loc of locations) {
    if (loc.kind !== 'file' || !loc.path) {
      readable.push(loc)
      continue
    }
    const dir = dirname(loc.path)
    if (!byDir.has(dir)) byDir.set(dir, [])
    byDir.get(dir)!.push(loc)
  }
  const folders: FolderCoverage[] = []
  for (const [dir, locs] of byDir) {
    const covered: ShardFile[] = []
    const missing: string[] = []
    for (const loc of locs) {
      const file = statFile(loc.path!, true)
      if (file) {
        covered.push(file)
        readable.push(loc)
      } else missing.push(loc.path!)
    }
    const named = new Set(locs.map((l) => basename(l.path!)))
    const family = [...named].map(familyOf).find((f) => f !== null) ?? null
    let uncovered: ShardFile[] = []
    const gaps: number[] = []
    let suggestedPattern: string | undefined
    if (family) {
      let entries: string[]
      try {
        entries = readdirSync(dir)
      } catch {
        entries = [] // an unlistable folder: only what the pattern names is known
      }
      const inFolder = entries.filter((e) => numberIn(e, family) !== null)
      const mine = inFolder.filter((e) => named.has(e) || !namedElsewhere.has(join(dir, e)))
      uncovered = mine
        .filter((e) => !named.has(e))
        .map((e) => statFile(join(dir, e)))
        .filter((f): f is ShardFile => f !== null)
        .sort((a, b) => a.path.localeCompare(b.path))
      const present = new Set(inFolder.map((e) => numberIn(e, family)!))
      // A number the pattern names but the folder lacks is a missing shard (its own finding), not a gap as well.
      const namedNumbers = new Set([...named].map((e) => numberIn(e, family)).filter((n) => n !== null))
      const numbers = [...present].sort((a, b) => a - b)
      if (numbers.length > 1) {
        for (let n = numbers[0]!; n < numbers[numbers.length - 1]! && gaps.length < 1000; n++) if (!present.has(n) && !namedNumbers.has(n)) gaps.push(n)
      }
      if (uncovered.length > 0) {
        const userDir = locs[0]!.pattern.includes('/') ? locs[0]!.pattern.slice(0, locs[0]!.pattern.lastIndexOf('/') + 1) : ''
        suggestedPattern = patternForFiles(userDir, mine)
      }
    }
    folders.push({ dir, covered, missing, uncovered, gaps, suggestedPattern })
  }
  return { readable, folders }
}
