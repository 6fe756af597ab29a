/**
 * Training runs: the configuration a user chooses, the metric events a run streams,
 * run summaries, and the contract's `train.*` methods and events. Pure zod (the
 * renderer imports it too).
 *
 * Live metrics travel BATCHED: one `train.metrics` event carries every metric point
 * produced since the last flush (≈200 ms), never one message per step.
 */
import { z } from 'zod'
import { method } from '../rpc'

export const TrainMode = z.enum(['async', 'sync', 'ssp'])
export type TrainMode = z.infer<typeof TrainMode>

export const CrashSpec = z.object({ worker: z.number().int().nonnegative(), step: z.number().int().positive() })
export type CrashSpec = z.infer<typeof CrashSpec>

const rgb = z.tuple([z.number(), z.number(), z.number()])

/** Most worker processes a run may have. */
export const MAX_WORKERS = 32

export const TrainConfig = z.object({
  /** Dataset folder holding dataset.json; supplies patterns, classes, shape and normalisation. */
  datasetDir: z.string().optional(),
  /** Brace patterns of the training and validation shards (relative to `base`, else datasetDir). */
  train: z.string().min(1),
  val: z.string().min(1),
  base: z.string().optional(),
  imageField: z.string().default('jpg'),
  valImageField: z.string().optional(),
  labelField: z.string().default('cls'),
  classes: z.number().int().positive(),
  imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  /** (pixel/255 − mean)/std for 8-bit images; float32 npy images are taken as already normalised. */
  normalization: z.object({ mean: rgb, std: rgb }),
  workers: z.number().int().min(1).max(MAX_WORKERS).default(4),
  mode: TrainMode.default('async'),
  /** SSP bound s: no worker more than s steps ahead of the slowest. */
  staleness: z.number().int().nonnegative().default(2),
  epochs: z.number().int().positive().default(3),
  batch: z.number().int().positive().default(32),
  lr: z.number().positive().default(0.05),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  momentum: z.number().min(0).max(1).default(0.9),
  /** lr / (1 + staleness) per update. */
  stalenessAwareLr: z.boolean().default(false),
  backend: z.enum(['auto', 'cuda', 'webgpu', 'wasm', 'cpu']).default('auto'),
  model: z.enum(['small-cnn', 'resnet-small']).default('small-cnn'),
  /** Per-worker speed factor (1 = full speed, 0.5 = twice as slow); missing entries are 1. */
  speed: z.array(z.number().positive()).default([]),
  /** Simulated network on every pull and push. bandwidthMBps 0 = unlimited. */
  latencyMs: z.number().nonnegative().default(0),
  bandwidthMBps: z.number().nonnegative().default(0),
  crash: z.array(CrashSpec).default([]),
  restart: z.enum(['never', 'once', 'always']).default('never'),
  seed: z.number().int().default(1),
  /** Validate every K server updates (0 = only at epoch ends). */
  validateEvery: z.number().int().nonnegative().default(50),
  /** At most this many validation samples (0 = all). */
  valSamples: z.number().int().nonnegative().default(0),
  shuffleBuffer: z.number().int().positive().default(256),
  /** Write a checkpoint every K updates (0 = only at epoch ends and at the end). */
  checkpointEvery: z.number().int().nonnegative().default(0),
  /** Cap on batches per worker per epoch (0 = the whole shard list); for quick runs and tests. */
  maxBatchesPerEpoch: z.number().int().nonnegative().default(0)
})
export type TrainConfig = z.infer<typeof TrainConfig>
export type TrainConfigInput = z.input<typeof TrainConfig>

/**
 * What a client sends to start a run: any TrainConfig fields, none filled in by default
 * here (zod 4 applies defaults even inside .partial()), so a dataset's dataset.json can
 * supply what the request leaves out.
 */
export const TrainConfigRequest = z.object(
  Object.fromEntries(Object.entries(TrainConfig.shape).map(([key, schema]) => [key, (schema instanceof z.ZodDefault ? schema.unwrap() : schema).optional()]))
) as unknown as z.ZodType<Partial<TrainConfig>, Partial<TrainConfigInput>>

/** One metric point. Every point is also a line of the run's metrics.jsonl. */
export const MetricPoint = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('step'), t: z.number(), worker: z.number().int(), step: z.number().int(), epoch: z.number().int(), loss: z.number(), samples: z.number().int(), computeMs: z.number() }),
  z.object({ kind: z.literal('update'), t: z.number(), worker: z.number().int(), version: z.number().int(), staleness: z.number().int(), lr: z.number() }),
  z.object({ kind: z.literal('validation'), t: z.number(), version: z.number().int(), epoch: z.number().int(), reason: z.enum(['interval', 'epoch', 'final']), loss: z.number(), top1: z.number(), top5: z.number(), samples: z.number().int() }),
  z.object({ kind: z.literal('epoch'), t: z.number(), epoch: z.number().int(), trainLoss: z.number(), samplesPerSecond: z.number() }),
  z.object({ kind: z.literal('crash'), t: z.number(), worker: z.number().int(), step: z.number().int(), code: z.number().nullable(), restarted: z.boolean() }),
  z.object({ kind: z.literal('checkpoint'), t: z.number(), version: z.number().int(), path: z.string() }),
  z.object({ kind: z.literal('warning'), t: z.number(), message: z.string() })
])
export type MetricPoint = z.infer<typeof MetricPoint>

export const HealthCheck = z.object({
  name: z.enum(['validation-loss', 'validation-accuracy', 'training-loss-falling', 'checkpoints']),
  passed: z.boolean(),
  /** One sentence: what was measured against what. */
  detail: z.string(),
  /** When failed: likely causes, each found by a check ("validation pattern covers 1 of 2 shards"). */
  causes: z.array(z.string())
})
export type HealthCheck = z.infer<typeof HealthCheck>

export const RunSummary = z.object({
  id: z.string(),
  dir: z.string(),
  status: z.enum(['running', 'finished', 'failed', 'stopped']),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  config: TrainConfig,
  backend: z.string(),
  updates: z.number().int(),
  samples: z.number().int(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
  finalValidation: z.object({ loss: z.number(), top1: z.number(), top5: z.number() }).optional(),
  epochTrainLoss: z.array(z.number()),
  staleness: z.object({ mean: z.number(), max: z.number(), histogram: z.record(z.string(), z.number().int()) }),
  crashes: z.array(z.object({ worker: z.number().int(), step: z.number().int(), code: z.number().nullable() })),
  warnings: z.array(z.string()),
  health: z.array(HealthCheck),
  healthy: z.boolean(),
  error: z.string().optional(),
  /** The run folder holds a checkpoint, so `--resume` (or a resume from the UI) can go on from it. */
  resumable: z.boolean().optional()
})
export type RunSummary = z.infer<typeof RunSummary>

export const RunComparison = z.object({
  runs: z.array(RunSummary),
  /** Config fields whose values differ between the runs: field → one value per run. */
  configDiff: z.record(z.string(), z.array(z.unknown())),
  /** Validation curves aligned by server version: one row per version, one value (or null) per run. */
  validationLoss: z.array(z.object({ version: z.number().int(), values: z.array(z.number().nullable()) })),
  validationTop1: z.array(z.object({ version: z.number().int(), values: z.array(z.number().nullable()) }))
})
export type RunComparison = z.infer<typeof RunComparison>

const RunRef = z.object({ runId: z.string().min(1) })

export const methods = {
  'train.start': method(
    'Start a simulated distributed training run; returns its id at once, metrics follow as events.',
    z.object({ config: TrainConfigRequest, datasetDir: z.string().optional() }),
    z.object({ runId: z.string(), dir: z.string() })
  ),
  'train.stop': method('Stop a running run (its processes end; what was written stays).', RunRef, z.object({ stopped: z.boolean() })),
  'train.rerun': method(
    // No view calls it: the app's Re-run starts the form as it stands through train.start. Kept for
    // a client of the contract (serve mode's WebSocket) that has only a run's id.
    'Start a new run with the config of an earlier one, optionally changed.',
    RunRef.extend({ changes: TrainConfigRequest.optional() }),
    z.object({ runId: z.string(), dir: z.string() })
  ),
  'train.list': method('Runs under the state folder, newest first.', z.object({}), z.object({ runs: z.array(RunSummary) })),
  'train.metrics': method(
    "A run's recorded metric points (metrics.jsonl), from an offset.",
    RunRef.extend({ from: z.number().int().nonnegative().default(0) }),
    z.object({ points: z.array(MetricPoint), next: z.number().int() })
  ),
  'train.compare': method('Compare runs: config differences and aligned validation curves.', z.object({ runIds: z.array(z.string()).min(2) }), RunComparison)
}

export const events = {
  /** Metric points of one run since the last flush (batched, ≈200 ms). */
  'train.metrics': z.object({ runId: z.string(), points: z.array(MetricPoint) }),
  /** A run changed status; carries its summary (final when not running). */
  'train.status': z.object({ runId: z.string(), summary: RunSummary })
}
