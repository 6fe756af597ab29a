/**
 * The built-in demo dataset that `npm start` and serve mode open: generated once from
 * resources/demo-recipe.json, regenerated when the recipe changes. The recipe used is
 * stored next to the dataset (`.shardscope-recipe.json`) to tell the two apart.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import recipeJson from '../../../resources/demo-recipe.json'
import { MANIFEST_FILE, parseManifest, type DatasetManifest } from '../../shared/manifest'
import { writeFileAtomic } from '../atomic-write'
import { writeDatasetFolder } from '../importer/dataset-folder'
import { generateDemo } from './generate'
import { FAULT_NAMES } from './options'

const RECIPE_MARKER = '.shardscope-recipe.json'

export const DemoRecipeSchema = z.object({
  name: z.string(),
  train: z.number().int().positive(),
  val: z.number().int().positive(),
  classes: z.number().int().positive(),
  size: z.number().int().min(8),
  shardMaxcount: z.number().int().positive(),
  seed: z.number().int(),
  faults: z.array(z.enum(FAULT_NAMES)).default([])
})
export type DemoRecipe = z.infer<typeof DemoRecipeSchema>

/** The recipe shipped in resources/demo-recipe.json (bundled at build time). */
export const BUILT_IN_DEMO_RECIPE: DemoRecipe = DemoRecipeSchema.parse(recipeJson)

const pending = new Map<string, Promise<DatasetManifest>>()

/**
 * Make sure `dir` holds the demo dataset of `recipe`; generate it if missing or made
 * from another recipe. Concurrent calls for one folder share one generation.
 */
export function ensureDemoDataset(dir: string, recipe: DemoRecipe = BUILT_IN_DEMO_RECIPE): Promise<DatasetManifest> {
  const running = pending.get(dir)
  if (running) return running
  const job = ensureOnce(dir, recipe).finally(() => pending.delete(dir))
  pending.set(dir, job)
  return job
}

async function ensureOnce(dir: string, recipe: DemoRecipe): Promise<DatasetManifest> {
  const wanted = JSON.stringify(recipe)
  const [marker, manifestText] = await Promise.all([
    readFile(join(dir, RECIPE_MARKER), 'utf8').catch(() => undefined),
    readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined)
  ])
  if (marker?.trim() === wanted && manifestText !== undefined) {
    const parsed = parseManifest(manifestText)
    if (parsed.ok) return parsed.manifest
  }
  return writeDatasetFolder(dir, async (staging) => {
    const { manifest } = await generateDemo(staging, { ...recipe })
    // Written last: a generation cut short leaves no marker and is redone next time.
    await writeFileAtomic(join(staging, RECIPE_MARKER), wanted + '\n')
    return manifest
  })
}
