/**
 * Shard inventory: what a pattern or folder holds (per shard: bytes, samples, fields,
 * class histogram, first/last key, problems; per split totals) and which shard files the
 * pattern misses. It reads tar headers and `cls` labels only: it does not decode images or
 * judge the data (that is src/core/verify).
 */
export {
  inventoryShards,
  findCoverageGaps,
  splitFromName,
  SHARD_FILE,
  type Inventory,
  type InventoryOptions,
  type InventoryProgress,
  type SplitInventory,
  type CoverageGap
} from './inventory'
export { MAX_CLASS_ID, MAX_LABEL_BYTES } from './plain-shard'
