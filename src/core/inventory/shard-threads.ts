/**
 * Inventories a list of shards on this thread and, for large datasets, on more worker
 * threads at the same time: reading and header parsing are CPU work (a memory copy from
 * the page cache plus the header loop), so more cores can cut the wall time of a large
 * inventory; a thread's own start and JIT warm-up cost a few tenths of a second of CPU,
 * so inventory.ts starts them only for large datasets. Each thread takes the next
 * untaken shard from a shared counter (./shard-queue.ts) and posts its result back;
 * results keep the plan's order.
 *
 * Where the worker script cannot be found (a bundle built without it, no tsx for the
 * source), everything runs on this thread.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { inventoryShard, type ShardInventory } from './inventory-shard'
import { createShardCounter, takeNextShard, type InventoryThreadData, type InventoryThreadMessage, type PlannedShard } from './shard-queue'

/**
 * How to start an inventory thread. Built: `inventory-worker.js` beside the bundle (or one
 * folder up, from a chunk). From source (vitest, tsx): the .ts file through tsx's ESM hooks
 * registered inside the thread (Node 20 does not pass `--import` hooks on to threads).
 */
export function threadLauncher(): { code: string; eval: boolean } | null {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const built of [join(here, 'inventory-worker.js'), join(here, '..', 'inventory-worker.js')]) {
    if (existsSync(built)) return { code: built, eval: false }
  }
  const source = join(here, 'inventory-worker.ts')
  if (!existsSync(source)) return null
  let tsxApi: string
  try {
    tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  } catch {
    return null
  }
  return { code: `import(${JSON.stringify(pathToFileURL(tsxApi).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}) })`, eval: true }
}

/** A started thread; `finished` settles once it has taken no more shards and posted every result. */
export function startThread(launcher: { code: string; eval: boolean }, data: InventoryThreadData, onShard: (index: number, shard: ShardInventory) => void): { worker: Worker; finished: Promise<void> } {
  const worker = new Worker(launcher.code, { eval: launcher.eval, workerData: data })
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: InventoryThreadMessage) => {
      if ('done' in message) resolve()
      else onShard(message.index, message.shard)
    })
    worker.on('error', reject)
    worker.on('exit', (code) => reject(new Error(`inventory thread stopped (exit code ${code}) before finishing its shards`)))
  })
  // Awaited only once this thread's own shards are done; until then a failure must not count as unhandled.
  finished.catch(() => {})
  return { worker, finished }
}

export interface ShardThreadsOptions {
  /** Threads in all, this one included; 1 reads every shard here. */
  threads: number
  /** Each shard as it is finished, on whichever thread (called on this thread). */
  onShard: (index: number, shard: ShardInventory) => void
  signal?: AbortSignal
}

/** The inventories of `shards`, in their order, and how many threads read them. */
/** Remote shards read at once by this thread. */
const REMOTE_LANES = 4

export async function inventoryOnThreads(shards: PlannedShard[], options: ShardThreadsOptions): Promise<{ shards: ShardInventory[]; threads: number }> {
  const results = new Array<ShardInventory>(shards.length)
  const done = (index: number, shard: ShardInventory): void => {
    results[index] = shard
    options.onShard(index, shard)
  }
  const next = createShardCounter()
  const launcher = options.threads > 1 && shards.length > 1 ? threadLauncher() : null
  const threads = launcher ? Array.from({ length: Math.min(options.threads, shards.length) - 1 }, () => startThread(launcher, { shards, next }, done)) : []
  // Local shards are read with synchronous reads, one at a time; remote ones wait on the network,
  // so several are read at once (a bucket answers each request in tens to hundreds of ms).
  const lanes = shards.some((s) => s.location.kind !== 'file') ? REMOTE_LANES : 1
  const lane = async (): Promise<void> => {
    for (let i = takeNextShard(next, shards.length); i >= 0; i = takeNextShard(next, shards.length)) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted')
      done(i, await inventoryShard(shards[i]!.location, shards[i]!.split))
    }
  }
  try {
    await Promise.all(Array.from({ length: lanes }, lane))
    await Promise.all(threads.map((t) => t.finished))
  } finally {
    for (const { worker } of threads) void worker.terminate()
  }
  return { shards: results, threads: threads.length + 1 }
}
