/**
 * The WebDataset engine: shard URL patterns, sources (file, http(s), gs://), streaming
 * tar reading grouped into samples by the webdataset rule, the random-access shard index,
 * field decoding, and the shard writer.
 *
 * It does not decode pixels (src/core/imaging), judge samples (src/core/verify) or know
 * about Electron; member names are data here, never paths we write to.
 */
export * from './types'
export { braceExpand, expandPattern, PatternError, type ExpandPatternOptions } from './patterns'
export { openShard, readShardRange, statShard, ShardSourceError, type OpenShardOptions, type ShardStat } from './sources'
export { splitMemberName, isDangerousName, SampleGrouper, type GroupedSample } from './grouping'
export { readSamples, type ReadSamplesOptions } from './read'
export { DEFAULT_MAX_MEMBER_BYTES } from './read-problems'
export { ShardWriter, SampleRefused, formatShardName, type SampleToWrite, type ShardWriterOptions, type ShardWritten } from './writer'
export { scanTar, type TarScanEnd, type TarScanOptions, type TarScanResult } from './tar-scan'
export { indexShard, readDecompressedSpans, readSampleAt, type IndexShardOptions } from './shard-index'
export { decodeField, parseInteger, parseNpy, type DecodedField } from './fields'
