/**
 * A worker thread of the verifier process: checks whole shards, one at a time, end to
 * end (read, walk the tar, group, decode, statistics, hashes: ./shard-check.ts) and
 * answers with each shard's small result. Started by ./shard-check-pool.ts; built as its own
 * entry (out/main/shard-check-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { useJpegDecoderModule } from '../imaging/fast-jpeg'
import { checkShard } from './shard-check'
import type { ShardAnswer, ShardJob } from './shard-check-pool'

// The process compiled the JPEG decoder once; every thread shares its code (./shard-check-pool.ts).
const shared = (workerData as { jpegModule?: object } | null)?.jpegModule
if (shared) useJpegDecoderModule(shared)

parentPort?.on('message', (job: ShardJob) => {
  checkShard(job.location, job.options, (samples) => parentPort?.postMessage({ id: job.id, progress: samples } satisfies ShardAnswer)).then(
    (result) => parentPort?.postMessage({ id: job.id, result } satisfies ShardAnswer),
    (err: unknown) => parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies ShardAnswer)
  )
})
