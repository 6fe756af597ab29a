/**
 * Datasets: opening shard folders and URL patterns, the built-in demo, recent
 * datasets, path completion, the shard inventory, and the sample listing the
 * browser's virtualized grid pages through. Images never travel here: the grid
 * loads them by URL (ShardScopeClient.mediaUrl) with the split + sample index
 * returned by `datasets.samples`.
 */
import { z } from 'zod'
import { method } from '../rpc'

/** One split (train, val, ...) as the user gave it: local URL patterns and optional remote copies. */
export const SplitSource = z.object({
  name: z.string().min(1).max(64),
  /** Brace-expanded patterns: `file:data/train-{000000..000002}.tar`, plain paths, http(s)://, gs://. */
  patterns: z.array(z.string().min(1)).min(1),
  /** Where the same split is said to live remotely (bucket copies), compared by the verifier. */
  remotePatterns: z.array(z.string().min(1)).default([])
})
export type SplitSource = z.infer<typeof SplitSource>

/**
 * What to open: a folder (with or without dataset.json; splits are found from its
 * manifest or from shard file names such as `train-000000.tar`), or explicit splits,
 * or both (explicit splits override the folder's).
 */
const DatasetSourceFields = z.object({
  folder: z.string().min(1).optional(),
  splits: z.array(SplitSource).optional(),
  /** Shown in the title bar and the recent list; defaults to the folder name. */
  name: z.string().min(1).optional()
})
const givesFolderOrSplits = [
  (s: { folder?: string; splits?: unknown[] }) => s.folder !== undefined || (s.splits?.length ?? 0) > 0,
  { message: 'give a folder or at least one split with URL patterns' }
] as const
export const DatasetSource = DatasetSourceFields.refine(...givesFolderOrSplits)
export type DatasetSource = z.infer<typeof DatasetSource>

/**
 * Asked for with an open: the first page of the unfiltered listing, and the thumbnails of
 * its first `thumbnails` items (as `datasets.samples` answers them), in the open's answer.
 * The grid shows a dataset the moment it opens; asking for its first page only once the
 * open has answered cost a round trip, with the page busy rendering meanwhile.
 */
/** A page's size, and how many of its first items come with their thumbnails: one bound for `datasets.samples` and an open's first page. */
const pageLimit = z.number().int().min(1).max(2000)
const pageThumbnails = z.number().int().min(0).max(200)

export const FirstPageRequest = z.object({
  limit: pageLimit,
  thumbnails: pageThumbnails.default(0)
})
export type FirstPageRequest = z.infer<typeof FirstPageRequest>

export const DatasetSplit = z.object({
  name: z.string(),
  patterns: z.array(z.string()),
  remotePatterns: z.array(z.string())
})
export type DatasetSplit = z.infer<typeof DatasetSplit>

/** An opened dataset. `datasetId` is stable for the same source, so media URLs survive a reopen. */
export const DatasetSummary = z.object({
  datasetId: z.string(),
  name: z.string(),
  /** The folder it was opened from, when it was. */
  folder: z.string().nullable(),
  splits: z.array(DatasetSplit),
  /** Class id → name, from dataset.json when present; empty when the dataset names no classes. */
  classNames: z.array(z.string()),
  /** The folder's dataset.json as written by ShardScope or the user, when there is one. */
  manifest: z.unknown().nullable()
})
export type DatasetSummary = z.infer<typeof DatasetSummary>

export const RecentDataset = z.object({
  name: z.string(),
  source: z.object({
    folder: z.string().optional(),
    splits: z.array(DatasetSplit).optional(),
    name: z.string().optional()
  }),
  /** ISO 8601. */
  openedAt: z.string()
})
export type RecentDataset = z.infer<typeof RecentDataset>

export const PathEntry = z.object({
  /** Absolute path, ready to put back in the path field. */
  path: z.string(),
  name: z.string(),
  kind: z.enum(['directory', 'shard'])
})
export type PathEntry = z.infer<typeof PathEntry>

export const ShardStatus = z.enum(['ok', 'problems', 'missing', 'unreadable'])
export type ShardStatus = z.infer<typeof ShardStatus>

export const InventoryShard = z.object({
  split: z.string(),
  /** File name (last path segment of the URL). */
  name: z.string(),
  url: z.string(),
  bytes: z.number(),
  samples: z.number(),
  /** Field extensions seen in the shard, sorted: ['cls', 'jpg']. */
  fields: z.array(z.string()),
  status: ShardStatus,
  /** Read problems in plain words (truncated shard, non-adjacent key, ...). */
  problems: z.array(z.string()),
  /** Sample count per class id (index = class id); empty when the shard has no labels. */
  classHistogram: z.array(z.number())
})
export type InventoryShard = z.infer<typeof InventoryShard>

export const CoverageWarning = z.object({
  split: z.string(),
  pattern: z.string(),
  /** Led by its split: "val pattern covers 1 of 2 shards in data/wds/val: val-000001.tar is not covered" */
  message: z.string(),
  /** Shard-like files next to the covered ones that no pattern names. */
  uncovered: z.array(z.string())
})
export type CoverageWarning = z.infer<typeof CoverageWarning>

export const InventorySplit = z.object({
  name: z.string(),
  shards: z.array(InventoryShard),
  samples: z.number(),
  bytes: z.number(),
  classHistogram: z.array(z.number())
})

export const DatasetInventory = z.object({
  datasetId: z.string(),
  splits: z.array(InventorySplit),
  warnings: z.array(CoverageWarning)
})
export type DatasetInventory = z.infer<typeof DatasetInventory>

/**
 * A sample named by its `__key__` and where it lives: its split, or its shard's URL
 * (as verifier findings' offenders carry them), or both. With neither, every split is searched.
 */
export const SampleRef = z.object({ key: z.string(), split: z.string().optional(), url: z.string().optional() })
export type SampleRef = z.infer<typeof SampleRef>

/**
 * What the grid shows. Every given condition must hold. `keys` is an explicit list
 * (e.g. a finding's samples), shown in its own order. `problem`: samples the reader
 * flagged while indexing, or read from a shard it flagged (a ReadProblem kind such as
 * 'duplicate-field' or 'truncated'), 'no-label' for samples without a readable class
 * label, or 'any' for all of these.
 */
export const SampleFilter = z.object({
  split: z.string().optional(),
  /** Shard file name (InventoryShard.name). */
  shard: z.string().optional(),
  classId: z.number().int().min(0).optional(),
  keys: z.array(SampleRef).max(100_000).optional(),
  problem: z.string().optional()
})
export type SampleFilter = z.infer<typeof SampleFilter>

export const SampleRow = z.object({
  split: z.string(),
  shard: z.string(),
  /** Global position within its split (0-based across the split's shards): use it for mediaUrl and datasets.sample. */
  index: z.number(),
  key: z.string(),
  /** Class id from the `cls` field; null when there is none or it does not parse. */
  label: z.number().nullable(),
  className: z.string().nullable(),
  /** The field to show as the thumbnail ('jpg', 'png', 'webp', 'npy', ...), null when the sample has no image. */
  imageField: z.string().nullable()
})
export type SampleRow = z.infer<typeof SampleRow>

/** A thumbnail sent with its page (see `datasets.samples`' `thumbnails`). */
export const PageThumbnail = z.object({
  contentType: z.string(),
  base64: z.string()
})
export type PageThumbnail = z.infer<typeof PageThumbnail>

export const SamplePage = z.object({
  /** How many samples match the filter (the grid's scroll height). */
  total: z.number(),
  offset: z.number(),
  items: z.array(SampleRow),
  /** When asked for: the thumbnails of the first items, in order; null for an item without one that can be shown. */
  thumbnails: z.array(PageThumbnail.nullable()).optional()
})
export type SamplePage = z.infer<typeof SamplePage>

/**
 * An open's answer: the summary, and the first page when it was asked for and the
 * dataset's sample tables were ready within a moment (an index cached or already built).
 * A dataset being indexed answers without it: its progress shows, and the grid asks later.
 */
export const OpenedDatasetAnswer = DatasetSummary.extend({ firstPage: SamplePage.optional() })
export type OpenedDatasetAnswer = z.infer<typeof OpenedDatasetAnswer>

export const ImageSummary = z.object({
  width: z.number(),
  height: z.number(),
  channels: z.number(),
  /** 'jpeg', 'png', 'webp', 'npy', ... */
  format: z.string(),
  /** Pixel statistics over all channels, in the stored value range (0..255 for 8-bit images). */
  min: z.number(),
  max: z.number(),
  mean: z.number(),
  std: z.number()
})

export const SampleField = z.object({
  name: z.string(),
  bytes: z.number(),
  kind: z.enum(['image', 'label', 'text', 'json', 'array', 'binary']),
  image: ImageSummary.optional(),
  /** Text, cls or JSON content, cut at 4,000 characters. */
  text: z.string().optional(),
  /** Why the field could not be decoded, in plain words. */
  error: z.string().optional()
})
export type SampleField = z.infer<typeof SampleField>

export const SampleDetail = SampleRow.extend({
  url: z.string(),
  indexInShard: z.number(),
  fields: z.array(SampleField)
})
export type SampleDetail = z.infer<typeof SampleDetail>

const DatasetRef = z.object({ datasetId: z.string().min(1) })

export const methods = {
  'datasets.open': method(
    'Open a shard folder or train/val URL patterns; returns the dataset summary (and its first page, when asked for).',
    DatasetSourceFields.extend({ firstPage: FirstPageRequest.optional() }).refine(...givesFolderOrSplits),
    OpenedDatasetAnswer
  ),
  'datasets.openDemo': method(
    'Open the built-in demo dataset, generating it on first use (and answer its first page, when asked for).',
    z.object({ firstPage: FirstPageRequest.optional() }),
    OpenedDatasetAnswer
  ),
  'datasets.get': method('The summary of a dataset opened in this session, by id (a page reload, `serve DATASET`).', DatasetRef, DatasetSummary),
  'datasets.close': method('Forget an opened dataset (its media URLs stop working).', DatasetRef, z.object({})),
  'datasets.recent': method('Datasets opened before, most recent first.', z.object({}), z.object({ items: z.array(RecentDataset) })),
  'datasets.completePath': method(
    'Directories and shard files under a typed path prefix, for the path field.',
    z.object({ prefix: z.string(), limit: z.number().int().min(1).max(500).default(50) }),
    z.object({ entries: z.array(PathEntry) })
  ),
  'datasets.inventory': method(
    'Each split\'s shards with sizes, sample counts, fields, status and class histogram, plus coverage warnings.',
    DatasetRef,
    DatasetInventory
  ),
  'datasets.samples': method(
    'One page of the samples matching a filter, for the grid.',
    DatasetRef.extend({
      filter: SampleFilter.default({}),
      offset: z.number().int().min(0).default(0),
      limit: pageLimit.default(200),
      /**
       * Also send the thumbnails of this many of the page's first items: a browser grid's
       * first screen, which would otherwise wait for the page to come back before it could
       * ask for its images (serve mode; Electron loads each image by its own URL).
       */
      thumbnails: pageThumbnails.default(0)
    }),
    SamplePage
  ),
  'datasets.locate': method(
    'Where a sample (by key, or by split + index) sits in the filtered listing; null when the filter excludes it.',
    DatasetRef.extend({
      filter: SampleFilter.default({}),
      key: z.string().optional(),
      split: z.string().optional(),
      index: z.number().int().min(0).optional(),
      /** Also answer the page of this many rows that holds the sample (a jump shows it at once). */
      pageSize: pageLimit.optional()
    }),
    z.object({
      position: z.number().nullable(),
      sample: SampleRow.nullable(),
      page: SamplePage.optional(),
      /** A key more than one sample has (in other splits, or duplicated in its own): where the others are, besides the sample answered. */
      elsewhere: z.array(z.object({ split: z.string(), index: z.number() })).optional()
    })
  ),
  'datasets.sample': method(
    'Every field of one sample, with sizes and decoded summaries.',
    DatasetRef.extend({ split: z.string(), index: z.number().int().min(0) }),
    SampleDetail
  )
}

export const events = {
  /** Indexing a split (first open, or after its shards changed). */
  'datasets.indexProgress': z.object({
    datasetId: z.string(),
    split: z.string(),
    shardsDone: z.number(),
    shardsTotal: z.number(),
    samples: z.number(),
    /** The shard just indexed. */
    shard: z.string().optional(),
    done: z.boolean()
  })
}
