/**
 * Health checks of a finished run, from the post-mortem's monitoring checklist:
 * validation loss < 10, validation accuracy above chance, training loss falling epoch
 * over epoch, checkpoints written and loadable. A failed check names likely causes,
 * each found by a cheap check on the data (pixel statistics of train vs val after
 * normalisation, pattern coverage of the folders), never guessed.
 */
import type { HealthCheck, TrainConfig } from '../../shared/contract/train'
import { checkSplitsCoverage } from '../verify/coverage'
import { parseInteger } from '../wds/integers'
import { readSamples } from '../wds/read'
import type { ShardLocation } from '../wds/types'
import { readCheckpoint } from './checkpoint'
import { decodeSample, type ImageSpec } from './data-loader'

export const MAX_HEALTHY_VALIDATION_LOSS = 10

export interface RunOutcome {
  config: TrainConfig
  finalValidation?: { loss: number; top1: number; top5: number }
  epochTrainLoss: number[]
  /** Per-step training losses in order (used when there is one epoch). */
  stepLosses: number[]
  checkpoint: string | null
  weightCount: number
  trainShards: ShardLocation[]
  valShards: ShardLocation[]
}

export async function checkHealth(o: RunOutcome): Promise<HealthCheck[]> {
  const checks: HealthCheck[] = []
  const v = o.finalValidation
  const lastTrain = o.epochTrainLoss.at(-1) ?? o.stepLosses.at(-1)
  const chance = 1 / o.config.classes
  let causes: string[] | null = null
  const explain = async () => (causes ??= await diagnoseValidation(o))
  if (!v) {
    checks.push({ name: 'validation-loss', passed: false, detail: 'no validation ran (no usable validation samples)', causes: await explain() })
  } else {
    const ratio = lastTrain !== undefined && lastTrain > 0 ? v.loss / lastTrain : 1
    const lossOk = Number.isFinite(v.loss) && v.loss < MAX_HEALTHY_VALIDATION_LOSS
    const detail = `validation loss ${fmt(v.loss)} (healthy below ${MAX_HEALTHY_VALIDATION_LOSS})` + (lastTrain !== undefined ? `; training loss ${fmt(lastTrain)}` : '')
    checks.push({ name: 'validation-loss', passed: lossOk, detail, causes: lossOk && ratio < 3 ? [] : await explain() })
    const accOk = v.top1 > chance
    checks.push({ name: 'validation-accuracy', passed: accOk, detail: `validation top-1 ${pct(v.top1)} vs chance ${pct(chance)}`, causes: accOk ? [] : await explain() })
  }
  checks.push(checkTrainingLossFalling(o))
  checks.push(await checkCheckpoint(o))
  return checks
}

/**
 * Did the training loss fall over the run? Mean of the last third of the steps below
 * the mean of the first third. Step losses are noisy (each is one batch; in async mode
 * each comes from weights of a different age), so comparing adjacent epochs, or the
 * first and last few steps, failed healthy tiny runs by chance; thirds average that out
 * and still catch a loss that stays flat or climbs. Without step losses: the last epoch
 * against the first.
 */
export function checkTrainingLossFalling(o: Pick<RunOutcome, 'epochTrainLoss' | 'stepLosses'>): HealthCheck {
  const e = o.epochTrainLoss
  const s = o.stepLosses
  const byEpoch = e.length >= 2 ? `; by epoch: ${e.map(fmt).join(' → ')}` : ''
  let first: number
  let last: number
  let what: string
  if (s.length >= 3) {
    const third = Math.floor(s.length / 3)
    first = mean(s.slice(0, third))
    last = mean(s.slice(-third))
    what = `training loss, mean of the first vs last third of ${s.length} steps: ${fmt(first)} → ${fmt(last)}`
  } else if (e.length >= 2) {
    first = e[0]!
    last = e.at(-1)!
    what = `training loss, first vs last epoch: ${fmt(first)} → ${fmt(last)}`
  } else {
    return { name: 'training-loss-falling', passed: false, detail: `only ${s.length} training step(s): too few to tell`, causes: ['the run was too short: train more batches or epochs'] }
  }
  const passed = last < first
  const causes = passed
    ? []
    : [e.length >= 2 ? 'the training loss did not fall over the epochs: try a lower learning rate, fewer workers in async mode, or --mode sync' : 'the training loss did not fall: try a lower learning rate or more epochs']
  return { name: 'training-loss-falling', passed, detail: what + byEpoch, causes }
}

async function checkCheckpoint(o: RunOutcome): Promise<HealthCheck> {
  if (!o.checkpoint) return { name: 'checkpoints', passed: false, detail: 'no checkpoint was written', causes: ['the run ended before its first checkpoint'] }
  try {
    const c = await readCheckpoint(o.checkpoint)
    const finite = c.weights.every(Number.isFinite)
    const passed = c.weights.length === o.weightCount && finite
    return {
      name: 'checkpoints',
      passed,
      detail: `${o.checkpoint}: ${c.weights.length} weights at version ${c.version}${finite ? '' : ', some not finite'}`,
      causes: passed ? [] : [finite ? `expected ${o.weightCount} weights` : 'the weights diverged (NaN/Infinity): lower the learning rate']
    }
  } catch (err) {
    return { name: 'checkpoints', passed: false, detail: `${o.checkpoint} does not load`, causes: [(err as Error).message] }
  }
}

interface PixelSummary {
  mean: number
  std: number
  samples: number
}

/** Mean and std of normalised pixel values over the first `limit` usable samples. */
export async function samplePixelStatistics(spec: ImageSpec, shards: ShardLocation[], limit = 64): Promise<PixelSummary> {
  let sum = 0
  let sumSquares = 0
  let n = 0
  let samples = 0
  outer: for (const shard of shards) {
    for await (const sample of readSamples(shard)) {
      const d = await decodeSample(sample, spec)
      if ('problem' in d) continue
      for (const x of d.x) {
        sum += x
        sumSquares += x * x
      }
      n += d.x.length
      if (++samples >= limit) break outer
    }
  }
  const m = n > 0 ? sum / n : 0
  return { mean: m, std: n > 0 ? Math.sqrt(Math.max(0, sumSquares / n - m * m)) : 0, samples }
}

/** The range of the first `limit` labels of these shards, and how many fall outside 0…classes−1. */
async function labelRange(shards: ShardLocation[], labelField: string, classes: number, limit = 2000): Promise<{ read: number; outOfRange: number; min: number; max: number }> {
  let read = 0
  let outOfRange = 0
  let min = Infinity
  let max = -Infinity
  outer: for (const shard of shards) {
    for await (const sample of readSamples(shard)) {
      const bytes = sample.fields[labelField]
      const label = bytes ? parseInteger(bytes) : null
      if (label === null) continue
      read++
      min = Math.min(min, label)
      max = Math.max(max, label)
      if (label < 0 || label >= classes) outOfRange++
      if (read >= limit) break outer
    }
  }
  return { read, outOfRange, min, max }
}

/**
 * The verifier's coverage check on the run's patterns, in a sentence per folder: shard
 * files a pattern leaves out in its folder (the post-mortem's val pattern reading 1 of 2
 * shards), or names that do not exist. Splits sharing a folder cover it together.
 */
export function coverageProblems(trainShards: ShardLocation[], valShards: ShardLocation[]): string[] {
  const problems: string[] = []
  const [val, train] = checkSplitsCoverage([valShards, trainShards])
  for (const [split, coverage] of [['validation', val!], ['training', train!]] as const) {
    for (const folder of coverage.folders) {
      if (folder.uncovered.length === 0 && folder.missing.length === 0) continue
      const total = folder.covered.length + folder.uncovered.length
      const parts = [`the ${split} pattern covers ${folder.covered.length} of ${total} shards in ${folder.dir}`]
      if (folder.uncovered.length > 0) parts.push(`not read: ${folder.uncovered.map((f) => f.path.split('/').pop()).join(', ')}`)
      if (folder.missing.length > 0) parts.push(`named but missing: ${folder.missing.join(', ')}`)
      if (folder.suggestedPattern) parts.push(`use ${folder.suggestedPattern}`)
      problems.push(parts.join('; '))
    }
  }
  return problems
}

/** Why validation may look bad: the verifier's train-vs-val and coverage checks, done cheaply here. */
export async function diagnoseValidation(o: Pick<RunOutcome, 'config' | 'trainShards' | 'valShards'>): Promise<string[]> {
  const c = o.config
  const causes: string[] = []
  const spec = (field: string): ImageSpec => ({ imageField: field, labelField: c.labelField, classes: c.classes, imageShape: c.imageShape, normalization: c.normalization })
  try {
    const [train, val] = await Promise.all([samplePixelStatistics(spec(c.imageField), o.trainShards), samplePixelStatistics(spec(c.valImageField ?? c.imageField), o.valShards)])
    if (train.samples > 0 && val.samples > 0) {
      const meanGap = Math.abs(val.mean - train.mean)
      const stdRatio = Math.max(val.std, 1e-6) / Math.max(train.std, 1e-6)
      if (meanGap > 1 || stdRatio > 3 || stdRatio < 1 / 3) {
        causes.push(
          `validation inputs are not normalised like training inputs (val mean ${fmt(val.mean)} vs train ${fmt(train.mean)}, std ${fmt(val.std)} vs ${fmt(train.std)} after normalisation): ` +
            `a float npy image must be stored already normalised with dataset.json's mean/std, or the val split re-encoded as jpg/png`
        )
      }
    } else if (val.samples === 0) {
      causes.push('no validation sample could be decoded')
    }
  } catch (err) {
    causes.push(`pixel statistics could not be compared: ${(err as Error).message}`)
  }
  try {
    const labels = await labelRange(o.valShards, c.labelField, c.classes)
    if (labels.outOfRange > 0) {
      const oneBased = labels.min === 1 && labels.max === c.classes
      causes.push(
        `${labels.outOfRange} of ${labels.read} validation labels read are outside 0…${c.classes - 1} (found ${labels.min}…${labels.max})` +
          `${oneBased ? ': they look 1-based; subtract 1 when writing the val shards' : ''}; those samples were skipped, and a model scored on the rest is scored against shifted classes`
      )
    }
  } catch (err) {
    causes.push(`validation labels could not be read: ${(err as Error).message}`)
  }
  causes.push(...coverageProblems(o.trainShards, o.valShards))
  if (causes.length === 0) causes.push('no data problem found by the train-vs-val pixel and coverage checks: run `shardscope verify` for the full report, or suspect stale updates (try --mode sync or a lower learning rate)')
  return causes
}

function mean(a: number[]): number {
  return a.length > 0 ? a.reduce((x, y) => x + y, 0) / a.length : NaN
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  return Math.abs(x) >= 1000 ? x.toExponential(2) : x.toFixed(Math.abs(x) >= 100 ? 1 : 3)
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`
}
