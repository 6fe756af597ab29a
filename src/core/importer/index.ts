/**
 * The importer: image folders (one subfolder per class, or Tiny ImageNet as
 * downloaded) → shuffled WebDataset shards plus dataset.json, and the output-folder
 * rules make-demo shares (refuse foreign folders, atomic writes, normalisation sums).
 *
 * It does not re-encode images, verify shards or read existing shards.
 */
export { importImageFolder, ImportRefused } from './import'
export type { ImportOptions, ImportResult, BadImage, SourceLayout } from './import'
export { writeDatasetFolder, stagingFolder, writeManifest, shardPattern, PixelStatistics, OutputFolderRefused, DATASET_OUTPUTS } from './dataset-folder'
