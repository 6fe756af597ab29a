/**
 * Which files of a folder are shards, and the split a shard's file name implies: the rule
 * the inventory and the verifier share when given a folder instead of patterns.
 */

export const SHARD_FILE = /\.(tar|tar\.gz|tgz)$/i

/** Split name from a shard file name: `train-000001.tar` → train, `val.tar.gz` → val. */
export function splitFromName(name: string): string {
  const stem = name.replace(SHARD_FILE, '')
  return stem.replace(/[-_.]?\d+$/, '') || stem
}
