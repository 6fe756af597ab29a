/**
 * Which files of a folder are shards, and the split a shard's file name implies: the rule
 * the inventory and the verifier share when given a folder instead of patterns.
 */
import { readdirSync, type Dirent } from 'node:fs'
import { join } from 'node:path'

export const SHARD_FILE = /\.(tar|tar\.gz|tgz)$/i

/** Split name from a shard file name: `train-000001.tar` → train, `val.tar.gz` → val. */
export function splitFromName(name: string): string {
  const stem = name.replace(SHARD_FILE, '')
  return stem.replace(/[-_.]?\d+$/, '') || stem
}

/** A shard file of a folder given instead of patterns, with the split it belongs to. */
export interface FolderShard {
  split: string
  /** '' for the folder itself, `sub/` for a subfolder. */
  dir: string
  name: string
  path: string
}

/**
 * The shard files of a folder given instead of patterns, as the inventory and the verifier read
 * it: its own files, split by name, then those one level down, split by their subfolder's name
 * (train/, val/); sorted. An unreadable subfolder holds none.
 */
export function shardFilesOfFolder(folder: string): FolderShard[] {
  const entries = readdirSync(folder, { withFileTypes: true })
  const filesIn = (list: Dirent[]): string[] =>
    list
      .filter((e) => e.isFile() && SHARD_FILE.test(e.name))
      .map((e) => e.name)
      .sort()
  const found: FolderShard[] = filesIn(entries).map((name) => ({ split: splitFromName(name), dir: '', name, path: join(folder, name) }))
  for (const sub of entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    let inside: Dirent[]
    try {
      inside = readdirSync(join(folder, sub), { withFileTypes: true })
    } catch {
      continue
    }
    for (const name of filesIn(inside)) found.push({ split: sub, dir: `${sub}/`, name, path: join(folder, sub, name) })
  }
  return found
}
