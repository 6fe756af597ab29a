/**
 * What a demo dataset can be asked for: its sizes, seed and the faults to plant. Kept
 * apart from generate.ts so that `shardscope make-demo --help` can list the faults and
 * defaults without loading sharp.
 */
export const FAULT_NAMES = [
  'pattern-misses-shard',
  'stale-copy',
  'unnormalized-val',
  'label-offset',
  'corrupt-image',
  'truncated-shard',
  'duplicate-keys',
  'wrong-image-size',
  'missing-label'
] as const
export type FaultName = (typeof FAULT_NAMES)[number]

export function isFaultName(name: string): name is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(name)
}

export interface DemoOptions {
  train: number
  val: number
  classes: number
  /** Image height and width in pixels. */
  size: number
  shardMaxcount: number
  seed: number
  faults?: FaultName[]
  /** How val images are stored; `npy` is float32 already normalised with dataset.json's mean/std. */
  valFormat?: 'jpg' | 'npy'
  name?: string
  /** Samples rendered and encoded at once (sharp encodes on libuv's thread pool). */
  concurrency?: number
  onProgress?: (progress: { split: 'train' | 'val'; done: number; total: number }) => void
}

export const DEFAULT_DEMO_OPTIONS = {
  train: 3000,
  val: 600,
  classes: 10,
  size: 64,
  shardMaxcount: 300,
  seed: 0
} as const satisfies Omit<DemoOptions, 'faults'>
