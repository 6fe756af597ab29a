/**
 * Turning what a user gave (CLI flags, a UI form) into a complete TrainConfig: a dataset
 * folder's dataset.json supplies patterns, classes, image shape, fields and
 * normalisation; anything given explicitly wins. A folder without dataset.json needs the
 * patterns, classes and image shape given. Errors name the missing field or flag.
 */
import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { TrainConfig, type TrainConfigInput } from '../../shared/contract/train'
import { MANIFEST_FILE, parseManifest } from '../../shared/manifest'
import { plural } from '../../shared/words'

export type TrainConfigRequest = Partial<TrainConfigInput>

export class TrainConfigError extends Error {}

/** The values a run cannot do without, by the flag that gives each when there is no dataset.json. */
const ESSENTIAL_FIELDS = { train: '--train', val: '--val', classes: '--classes', imageShape: '--image-shape' } as const

/**
 * Inputs are (pixel/255 − mean)/std. Without a dataset.json and without explicit values,
 * pixels are taken as they are, scaled to [0, 1]: no statistics of the data are known.
 */
const UNNORMALISED = { mean: [0, 0, 0], std: [1, 1, 1] } as TrainConfig['normalization']

export async function resolveTrainConfig(request: TrainConfigRequest): Promise<TrainConfig> {
  const fromManifest: Partial<TrainConfigInput> = {}
  let noManifestIn: string | undefined
  if (request.datasetDir) {
    const dir = resolve(request.datasetDir)
    const found = await stat(dir).catch(() => null)
    if (!found) throw new TrainConfigError(`${dir} does not exist`)
    if (!found.isDirectory()) throw new TrainConfigError(`${dir} is not a folder (a dataset is a folder of shards, with or without ${MANIFEST_FILE})`)
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
    } else noManifestIn = dir
  }
  const defined = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined))
  const merged = { normalization: UNNORMALISED, ...fromManifest, ...defined, datasetDir: fromManifest.datasetDir ?? request.datasetDir }
  const missing = (Object.keys(ESSENTIAL_FIELDS) as (keyof typeof ESSENTIAL_FIELDS)[]).filter((field) => merged[field] === undefined).map((field) => ESSENTIAL_FIELDS[field])
  if (missing.length > 0) {
    const give = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`
    if (noManifestIn) throw new TrainConfigError(`${noManifestIn} has no ${MANIFEST_FILE}: give ${give} (patterns relative to the folder)`)
    throw new TrainConfigError(`no dataset folder given: give a folder with ${MANIFEST_FILE}, or ${give}`)
  }
  const parsed = TrainConfig.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.join('.') || '(config)'
    throw new TrainConfigError(`training config field ${field}: ${issue.message}`)
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
