/**
 * The demo dataset: synthetic Tiny-ImageNet-style shards (64×64 JPEG + cls, wnids,
 * words) that a small CNN learns in minutes, deterministic from a seed, with the
 * post-mortem's faults planted on request and recorded in faults.json.
 *
 * It does not read shards, verify or train; it only makes data for those who do.
 */
export { generateDemo } from './generate'
export type { DemoResult, PlantedFault } from './generate'
export { isFaultName, FAULT_NAMES, DEFAULT_DEMO_OPTIONS } from './options'
export type { DemoOptions, FaultName } from './options'
export { ensureDemoDataset, BUILT_IN_DEMO_RECIPE, DemoRecipeSchema } from './ensure'
export type { DemoRecipe } from './ensure'
export { describeClasses, renderSample } from './images'
export type { DemoClass } from './images'
export { encodeNpyFloat32 } from './npy'
