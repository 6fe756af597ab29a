/**
 * An inventory thread: takes the next shard from the queue it shares with the thread that
 * started it (./shard-threads.ts), inventories it, posts the result, until the queue is
 * empty. Built as its own entry (out/main/inventory-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { inventoryShard } from './inventory-shard'
import { takeNextShard, type InventoryThreadData, type InventoryThreadMessage } from './shard-queue'

const { shards, next } = workerData as InventoryThreadData
for (let i = takeNextShard(next, shards.length); i >= 0; i = takeNextShard(next, shards.length)) {
  const shard = await inventoryShard(shards[i]!.location, shards[i]!.split)
  parentPort!.postMessage({ index: i, shard } satisfies InventoryThreadMessage)
}
parentPort!.postMessage({ done: true } satisfies InventoryThreadMessage)
