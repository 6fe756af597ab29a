/**
 * The queue of shards that the inventory threads share: the plan is copied to every thread,
 * and a counter in shared memory hands out each shard exactly once, so a thread that meets
 * small shards simply takes more of them (no messages, no waiting on another thread).
 */
import type { ShardLocation } from '../wds/types'
import type { ShardInventory } from './inventory-shard'

export interface PlannedShard {
  location: ShardLocation
  split: string
}

export interface InventoryThreadData {
  shards: PlannedShard[]
  /** One Int32 on a SharedArrayBuffer: the index of the next shard to take. */
  next: Int32Array
}

export type InventoryThreadMessage = { index: number; shard: ShardInventory } | { done: true }

export function createShardCounter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4))
}

/** The index of the next shard nobody has taken, or -1 when all are taken. */
export function takeNextShard(next: Int32Array, count: number): number {
  const index = Atomics.add(next, 0, 1)
  return index < count ? index : -1
}
