/**
 * Verification: the request a user makes, the report the verifier writes, and the
 * contract's `verify.*` methods and events. Pure zod (the renderer imports it too).
 */
import { z } from 'zod'
import { method } from '../rpc'

export const REPORT_VERSION = 1

/** How bad a finding is: errors break training or evaluation, warnings likely hurt it, info is worth knowing. */
export const Severity = z.enum(['error', 'warning', 'info'])
export type Severity = z.infer<typeof Severity>

/** The named checks of a verification (issue 6): every finding belongs to one. */
export const CheckName = z.enum([
  'coverage',
  'readability',
  'structure',
  'images',
  'labels',
  'label-diversity',
  'counts',
  'pixel-statistics',
  'train-vs-val',
  'leakage',
  'copy-vs-copy'
])
export type CheckName = z.infer<typeof CheckName>

/** One sample (or shard, when `key` is absent) that shows a finding. */
export const OffendingSample = z.object({
  url: z.string(),
  key: z.string().optional(),
  field: z.string().optional(),
  expected: z.string().optional(),
  found: z.string().optional()
})
export type OffendingSample = z.infer<typeof OffendingSample>

/** One offender in a line, as the CLI report and the app list them: `shard key k .jpg: expected …, found …`. */
export function describeOffender(o: OffendingSample): string {
  const where = [o.url, o.key && `key ${o.key}`, o.field && `.${o.field}`].filter(Boolean).join(' ')
  return `${where}${o.expected ? `: expected ${o.expected}${o.found ? `, found ${o.found}` : ''}` : o.found ? `: ${o.found}` : ''}`
}

export const Finding = z.object({
  check: CheckName,
  /** Stable machine name of what was found, e.g. `pattern-misses-shards`, `stale-copy`. */
  code: z.string(),
  severity: Severity,
  /** The split it concerns ('train', 'val', …), absent for dataset-wide findings. */
  split: z.string().optional(),
  /** One plain-language sentence: what is wrong and how much it matters. */
  title: z.string(),
  /** Facts that support the title, each a short line. */
  evidence: z.array(z.string()),
  /** What the user can do about it. */
  fix: z.string(),
  /** Samples (or shards) affected; drives the ranking. */
  impactSamples: z.number().int().nonnegative(),
  /** A capped list of offenders … */
  offenders: z.array(OffendingSample),
  /** … and how many there are in all. */
  offenderCount: z.number().int().nonnegative(),
  /**
   * All of the finding's samples as a browser filter, where they are one class of one split
   * (labels out of range, classes not in training): more than the offenders listed, or
   * samples the check counts without naming them.
   */
  browse: z.object({ split: z.string(), classId: z.number().int().min(0), samples: z.number().int().nonnegative() }).optional()
})
export type Finding = z.infer<typeof Finding>

export const ChannelStats = z.object({
  mean: z.array(z.number()),
  std: z.array(z.number()),
  min: z.array(z.number()),
  max: z.array(z.number())
})
export type ChannelStats = z.infer<typeof ChannelStats>

export const SplitSummary = z.object({
  name: z.string(),
  pattern: z.string(),
  shards: z.array(z.object({ url: z.string(), samples: z.number().int(), bytes: z.number().int(), problems: z.number().int() })),
  samples: z.number().int(),
  expectedSamples: z.number().int().optional(),
  imageField: z.string().optional(),
  imageFormats: z.record(z.string(), z.number().int()),
  /** `HxWxC` → count. */
  imageShapes: z.record(z.string(), z.number().int()),
  imagesDecoded: z.number().int(),
  labelHistogram: z.record(z.string(), z.number().int()),
  /** Distinct labels per batch of `batchSize` consecutive samples: min, mean, max over batches. */
  labelDiversity: z.object({ batchSize: z.number().int(), batches: z.number().int(), min: z.number(), mean: z.number(), max: z.number() }).optional(),
  /** Per channel, as stored (0–255 for 8-bit images; float values for npy). */
  pixelsRaw: ChannelStats.optional(),
  /** Per channel, as a model would see them after the configured normalisation. */
  pixelsNormalised: ChannelStats.optional()
})
export type SplitSummary = z.infer<typeof SplitSummary>

export const CheckStatus = z.object({
  check: CheckName,
  status: z.enum(['passed', 'failed', 'skipped']),
  /** Why it was skipped, or how many findings it produced. */
  note: z.string()
})
export type CheckStatus = z.infer<typeof CheckStatus>

export const VerificationReport = z.object({
  version: z.literal(REPORT_VERSION),
  createdAt: z.string(),
  durationSeconds: z.number(),
  dataset: z.object({ dir: z.string().optional(), manifest: z.string().optional(), classes: z.number().int().optional() }),
  splits: z.array(SplitSummary),
  checks: z.array(CheckStatus),
  /** Ranked by impact, errors first. */
  findings: z.array(Finding),
  counts: z.object({ errors: z.number().int(), warnings: z.number().int(), infos: z.number().int() }),
  samplesVerified: z.number().int(),
  samplesPerSecond: z.number(),
  decodeThreads: z.number().int(),
  cancelled: z.boolean()
})
export type VerificationReport = z.infer<typeof VerificationReport>

export const SplitRequest = z.object({
  name: z.string().min(1),
  /** Brace pattern; relative parts resolve against `base`. Absent: the split's pattern in dataset.json. */
  pattern: z.string().min(1).optional(),
  /** Another copy of the same split (a bucket, a mirror) to compare with. */
  remotePattern: z.string().optional(),
  expectedSamples: z.number().int().nonnegative().optional(),
  imageField: z.string().optional()
})
export type SplitRequest = z.infer<typeof SplitRequest>

export const VerifyRequest = z.object({
  /** A dataset folder; its dataset.json (if any) supplies patterns and expectations. */
  datasetDir: z.string().optional(),
  /** Path of a dataset.json elsewhere. */
  manifestPath: z.string().optional(),
  /** Where relative patterns resolve; defaults to the dataset folder, else the current folder. */
  base: z.string().optional(),
  /** Splits to verify; those named here override the manifest's. */
  splits: z.array(SplitRequest).default([]),
  /** Fields every sample must have; default: the image field and the label field. */
  requiredFields: z.array(z.string()).optional(),
  labelField: z.string().optional(),
  classes: z.number().int().positive().optional(),
  /** [height, width, channels]; default from dataset.json, else the majority. */
  imageShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]).optional(),
  normalization: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }).optional(),
  /** Samples per batch for label diversity, as a loader would batch them. */
  batchSize: z.number().int().positive().default(64),
  /** Offending samples listed per finding (the count is always complete). */
  maxOffenders: z.number().int().positive().default(20),
  /** Images claiming more pixels than this are refused undecoded (decompression bombs). */
  maxImagePixels: z.number().int().positive().default(40_000_000),
  /** Decoding threads; default: all cores. 0 decodes on the verifier's own thread. */
  threads: z.number().int().nonnegative().optional()
})
export type VerifyRequestInput = z.input<typeof VerifyRequest>
export type VerifyRequest = z.output<typeof VerifyRequest>

export const VerifyProgress = z.object({
  jobId: z.string(),
  samplesDone: z.number().int(),
  samplesPerSecond: z.number(),
  /** null until it can be estimated (total bytes unknown, e.g. remote shards without a size). */
  etaSeconds: z.number().nullable(),
  currentShard: z.string().nullable(),
  fraction: z.number().nullable()
})
export type VerifyProgress = z.infer<typeof VerifyProgress>

const JobId = z.object({ jobId: z.string() })

export const methods = {
  'verify.start': method(
    'Start verifying a dataset in its own process; progress and the result arrive as verify.* events.',
    VerifyRequest,
    z.object({ jobId: z.string() })
  ),
  'verify.cancel': method('Cancel a running verification (ends its process).', JobId, z.object({ cancelled: z.boolean() })),
  'verify.report': method(
    'The report of a finished verification, and where it was written.',
    JobId,
    z.object({ state: z.enum(['running', 'done', 'failed', 'cancelled', 'unknown']), report: VerificationReport.nullable(), reportPath: z.string().nullable(), message: z.string().nullable() })
  )
}

export const events = {
  'verify.progress': VerifyProgress,
  'verify.done': z.object({ jobId: z.string(), reportPath: z.string(), summaryPath: z.string(), report: VerificationReport }),
  'verify.failed': z.object({ jobId: z.string(), message: z.string(), cancelled: z.boolean() })
}
