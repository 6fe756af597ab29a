/**
 * Simulated distributed training: a parameter server and N workers, each in its own
 * process (through src/core/process), on WebDataset shards. Data loader, update rules
 * (async, sync, SSP), optimizers, simulation knobs (speed, network, crashes),
 * validation, health checks, checkpoints and run folders.
 *
 * It does not draw or serve anything (services/train.ts and the renderer do) and it
 * does not verify datasets (src/core/verify), beyond the cheap checks that explain a
 * failed health check.
 */
export { runTraining, type TrainingRunOptions } from './training-run'
export { resolveTrainConfig } from './config'
export { listRuns, readMetrics, readSummary, readRunConfig, compareRuns } from './runs'
export { readCheckpoint, latestCheckpoint, writeCheckpoint } from './checkpoint'
export { ParameterServer } from './parameter-server'
export { readBatches, loadValidationSet, splitShardsByWorker, decodeSample } from './data-loader'
