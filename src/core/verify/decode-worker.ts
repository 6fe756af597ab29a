/**
 * A worker thread of the verifier process: checks whole shards, one at a time, end to
 * end (read, walk the tar, group, decode, statistics, hashes: ./shard-check.ts) and
 * answers with each shard's small result. Started by ./decode-pool.ts; built as its own
 * entry (out/main/verify-decode-worker.js).
 */
import { parentPort } from 'node:worker_threads'
import { checkShard } from './shard-check'
import type { ShardAnswer, ShardJob } from './decode-pool'

parentPort?.on('message', (job: ShardJob) => {
  checkShard(job.location, job.options, (samples) => parentPort?.postMessage({ id: job.id, progress: samples } satisfies ShardAnswer)).then(
    (result) => parentPort?.postMessage({ id: job.id, result } satisfies ShardAnswer),
    (err: unknown) => parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies ShardAnswer)
  )
})
