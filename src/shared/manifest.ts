/**
 * `dataset.json`: what a ShardScope dataset folder claims about itself — its splits'
 * URL patterns and expected counts, classes, image shape and the normalisation that
 * training should apply. Written by make-demo and import; read by the verifier (which
 * checks the shards against these claims), the trainer and the UI.
 *
 * Pure (no Node imports): the renderer imports it too.
 */
import { z } from 'zod'

export const MANIFEST_FILE = 'dataset.json'
export const MANIFEST_VERSION = 1

const rgbTriple = z.tuple([z.number(), z.number(), z.number()])

export const SplitManifestSchema = z.object({
  /** Brace pattern relative to the dataset folder, e.g. `train/train-{000000..000005}.tar`. */
  pattern: z.string().min(1),
  /** Samples the split should hold across all shards the pattern names. */
  expectedSamples: z.number().int().nonnegative(),
  /** Shards the pattern should name. */
  shards: z.number().int().nonnegative(),
  /**
   * A copy of the split elsewhere (a bucket, a mirror) that should hold the same samples.
   * Pattern relative to the dataset folder, or an absolute URL (`https://`, `gs://`).
   */
  remote: z.object({ pattern: z.string().min(1) }).optional(),
  /** This split's image field when it differs from the dataset's `imageField` (e.g. val stored as `npy`). */
  imageField: z.string().min(1).optional()
})
export type SplitManifest = z.infer<typeof SplitManifestSchema>

export const DatasetManifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  name: z.string(),
  splits: z.object({
    train: SplitManifestSchema,
    val: SplitManifestSchema
  }),
  /** Number of classes; labels are 0 … classes − 1. */
  classes: z.number().int().positive(),
  /** Class ids (e.g. Tiny ImageNet wnids `n01443537`) in label order. */
  classIds: z.array(z.string()),
  /** Human-readable class names in label order. */
  classNames: z.array(z.string()),
  /** [height, width, channels] of every image. */
  imageShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  /** Field extension holding the image: `jpg`, `png`, or `npy` (float32 HWC already normalised with mean/std). */
  imageField: z.string().min(1),
  /** Field extension holding the label (decimal class index as text). */
  labelField: z.string().min(1),
  /**
   * Per-channel mean and std of train pixels scaled to [0, 1] (as torchvision's
   * `Normalize`): a model sees (pixel / 255 − mean) / std.
   */
  normalization: z.object({ mean: rgbTriple, std: rgbTriple }),
  /** Seed the dataset was generated or shuffled with. */
  seed: z.number().int()
})
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>
export type SplitName = keyof DatasetManifest['splits']

/** Parse a `dataset.json` text; an error value names the field and what was wrong. */
export function parseManifest(text: string): { ok: true; manifest: DatasetManifest } | { ok: false; error: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return { ok: false, error: `dataset.json is not valid JSON: ${(err as Error).message}` }
  }
  const r = DatasetManifestSchema.safeParse(json)
  if (r.success) return { ok: true, manifest: r.data }
  const issue = r.error.issues[0]
  const field = issue?.path.join('.') || '(root)'
  return { ok: false, error: `dataset.json field ${field}: ${issue?.message ?? 'invalid'}` }
}
