/**
 * Turning what a user gave (CLI flags, a UI form) into a complete TrainConfig: a dataset
 * folder's dataset.json supplies patterns, classes, image shape, fields and
 * normalisation; anything given explicitly wins. Errors name the missing field.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { TrainConfig, type TrainConfigInput } from '../../shared/contract/train'
import { MANIFEST_FILE, parseManifest } from '../../shared/manifest'
import { plural } from '../../shared/words'

export type TrainConfigRequest = Partial<TrainConfigInput>

export class TrainConfigError extends Error {}

export async function resolveTrainConfig(request: TrainConfigRequest): Promise<TrainConfig> {
  const fromManifest: Partial<TrainConfigInput> = {}
  if (request.datasetDir) {
    const dir = resolve(request.datasetDir)
    const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined)
    if (text !== undefined) {
      const parsed = parseManifest(text)
      if (!parsed.ok) throw new TrainConfigError(`${join(dir, MANIFEST_FILE)}: ${parsed.error}`)
      const m = parsed.manifest
      Object.assign(fromManifest, {
        datasetDir: dir,
        train: m.splits.train.pattern,
        val: m.splits.val.pattern,
        classes: m.classes,
        imageShape: m.imageShape,
        imageField: m.splits.train.imageField ?? m.imageField,
        valImageField: m.splits.val.imageField ?? m.imageField,
        labelField: m.labelField,
        normalization: m.normalization
      })
    } else if (!request.train) {
      throw new TrainConfigError(`${dir} has no ${MANIFEST_FILE}: give --train and --val patterns, --classes and --image-shape`)
    }
  }
  const defined = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined))
  const merged = { ...fromManifest, ...defined, datasetDir: fromManifest.datasetDir ?? request.datasetDir }
  const parsed = TrainConfig.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.join('.') || '(config)'
    throw new TrainConfigError(`training config field ${field}: ${issue.message}${request.datasetDir ? '' : ' (give a dataset folder with dataset.json, or set it explicitly)'}`)
  }
  const config = parsed.data
  // Cross-field: a speed factor or a crash for a worker the run does not have is a mistake, not a no-op.
  if (config.speed.length > config.workers) {
    throw new TrainConfigError(`training config field speed: ${config.speed.length} speed factors for ${plural(config.workers, 'worker')} (give at most one per worker)`)
  }
  const stray = config.crash.find((c) => c.worker >= config.workers)
  if (stray) {
    throw new TrainConfigError(`training config field crash: worker ${stray.worker} does not exist (workers are numbered 0 to ${config.workers - 1})`)
  }
  return config
}
