/**
 * A decode worker thread of the verifier process: receives batches of image fields,
 * answers with their inspections. Started by ./decode-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { inspectImage, type ImageInspection, type InspectLimits } from './inspect-image'

export interface DecodeJob {
  batch: number
  images: Array<{ bytes: Uint8Array; field: string }>
}

export interface DecodeAnswer {
  batch: number
  results: ImageInspection[]
}

const limits = workerData as InspectLimits
parentPort?.on('message', async (job: DecodeJob) => {
  const results: ImageInspection[] = []
  for (const image of job.images) results.push(await inspectImage(image.bytes, image.field, limits))
  parentPort?.postMessage({ batch: job.batch, results } satisfies DecodeAnswer)
})
