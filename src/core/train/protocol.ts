/**
 * The messages of a training run, in one place. The orchestrator (parent process)
 * relays between the parameter-server process and the worker processes: workers never
 * talk to the server directly, so both process hosts (fork, utilityProcess) need only
 * parent↔child channels. Weights and gradients are Float32Arrays (structured clone).
 */
import type { MetricPoint, TrainConfig } from '../../shared/contract/train'
import type { OptimizerState } from './optimizer'

/** Everything a training process needs to know about the run. */
export interface RunSetup {
  config: TrainConfig
  runDir: string
  /** Resolved shard URLs (the parent expands patterns once). */
  trainShards: import('../wds/types').ShardLocation[]
  valShards: import('../wds/types').ShardLocation[]
}

export interface ResumeState {
  weights: Float32Array
  batchNormStats: Float32Array
  optimizer: OptimizerState
  version: number
  workerSteps: Record<number, number>
  /** Epoch each worker was in, and batches of it done. */
  workerEpochs: Record<number, { epoch: number; batchesInEpoch: number }>
}

// parent → parameter server
export type ToServer =
  | { type: 'init'; setup: RunSetup; resume?: ResumeState }
  | { type: 'pull'; worker: number }
  | { type: 'push'; worker: number; version: number; step: number; gradients: Float32Array; batchNormStats: Float32Array }
  | { type: 'epoch-end'; worker: number; epoch: number; batchesInEpoch: number }
  | { type: 'worker-gone'; worker: number; finished: boolean }
  | { type: 'worker-back'; worker: number }
  | { type: 'finish' }
  /** The run is being stopped (workers already gone): write a checkpoint of the weights as they are. */
  | { type: 'checkpoint' }

// parameter server → parent
export type FromServer =
  | { type: 'ready'; backend: string; weightCount: number; valSamples: number; warnings: string[] }
  | { type: 'weights'; worker: number; version: number; weights: Float32Array; batchNormStats: Float32Array }
  | { type: 'points'; points: MetricPoint[] }
  | { type: 'finished'; version: number; checkpoint: string | null }
  | { type: 'checkpointed'; path: string }
  | { type: 'error'; message: string }

// parent → worker
export type ToWorker =
  | { type: 'init'; setup: RunSetup; worker: number; startEpoch: number; skipBatches: number; step: number; crashAtStep: number | null }
  | { type: 'weights'; version: number; weights: Float32Array; batchNormStats: Float32Array }

// worker → parent
export type FromWorker =
  | { type: 'ready'; backend: string; shards: number }
  | { type: 'pull' }
  | { type: 'push'; version: number; step: number; gradients: Float32Array; batchNormStats: Float32Array; loss: number; samples: number; computeMs: number; epoch: number }
  | { type: 'epoch-end'; epoch: number; batchesInEpoch: number }
  | { type: 'skipped'; url: string; key: string; reason: string }
  | { type: 'done' }
  | { type: 'error'; message: string }
