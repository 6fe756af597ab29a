/**
 * The datasets the user opened in this session, and for each split a compact
 * in-memory table of its samples (which shard, position in shard, label) built
 * once from the shards' random-access indexes. The sample grid pages through these
 * tables, so a page costs O(limit) whatever the dataset's size; only the media
 * route and the detail view read sample bytes, and only by index offsets.
 * It knows nothing about transports: the serve host and the Electron main process
 * both reach it through the datasets service and serveMedia.
 */
import { createHash } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path'
import { makeFolder } from '../folders'
import type { DatasetInventory, DatasetSource, DatasetSummary, SampleFilter, SampleRow, SplitSource } from '../../shared/contract/datasets'
import { MANIFEST_FILE, parseManifest, type DatasetManifest } from '../../shared/manifest'
import type { ShardIndex, ShardLocation } from '../wds/types'
import { expandPattern, PatternError } from '../wds/patterns'
import { indexShard, readDecompressedSpans, readShardRange, ShardSourceError, statShard, type ShardStat } from '../wds'
import { parseInteger } from '../wds/fields'
import { forEachOrdered } from '../ordered'
import { writeFileAtomic } from '../atomic-write'
import { splitPatternsOfFolder } from '../wds/shard-files'
import { MAX_LABEL_BYTES } from '../inventory'
import type { ServiceContext } from './context'
import { UserFacingError } from './dispatch'
import { compactShard, encodeDatasetCache, expandShard, readDatasetCache, spanAt, type CachedShard } from './dataset-cache'

/** Fields that carry an image, in the order a thumbnail prefers them. */
const imageFields = ['jpg', 'jpeg', 'png', 'webp', 'npy', 'ppm', 'pgm', 'bmp']
const labelFields = ['cls', 'label', 'class', 'cls2']
const labelWindowBytes = 1 << 20

export interface IndexedShard {
  location: ShardLocation
  /** File name, as the inventory shows it. */
  name: string
  /** Null when the shard could not be read at all (missing, not a tar). */
  index: ShardIndex | null
  /** How many samples it has (0 when unreadable). */
  count: number
  /** Its samples' keys, in order (empty when unreadable): known without building index.samples, split from the cache on first use. */
  readonly keys: string[]
  /** Every member name its samples have, sorted. */
  fields: string[]
  /** Where its sample at this position has this member's bytes, or null when it has none (from the index's columns, without building index.samples). */
  spanOf(inShard: number, field: string): [offset: number, size: number] | null
  error: string | null
  /** The file (or URL) does not exist, as opposed to existing but unreadable. */
  missing: boolean
  /** Global index of its first sample within the split. */
  first: number
}

export interface SplitTable {
  name: string
  patterns: string[]
  remotePatterns: string[]
  /** The field the dataset says holds this split's images (dataset.json), if it says. */
  imageField: string | undefined
  shards: IndexedShard[]
  /** Per sample (global index within the split): shard number, position in shard, label (−1: none). */
  shardOf: Uint32Array
  inShard: Uint32Array
  labels: Int32Array
  /** Samples the reader flagged while indexing: global index → problem kinds. */
  problems: Map<number, Set<string>>
  /** Per shard, the kinds of its problems that no listed sample carries (a truncated shard: the cut sample is not listed). */
  shardProblems: Array<ReadonlySet<string> | undefined>
  /** A key's first sample. */
  keyToIndex: Map<string, number>
  /** Every sample of a key that more than one sample has (a duplicated key), in order. */
  keyCopies: Map<string, number[]>
}

export interface OpenedDataset {
  summary: DatasetSummary
  manifest: DatasetManifest | null
  source: DatasetSource
  /** Built on first use (inventory, samples); shared by concurrent callers. */
  tables: Promise<SplitTable[]> | null
  /** The tables have been built (the inventory then comes from them, not the saved copy). */
  tablesBuilt: boolean
  /** Each split's shards and their sizes and validators now, stat'ed once per open (the table build and the saved inventory both check against them). */
  shards: Promise<SplitShards[]> | null
  /** Filtered listings, most recent last: the grid asks for many pages of one filter. */
  listings: Map<string, Listing>
}

/** A split's shard locations and each one's size and validator now (null: it could not be stat'ed). */
export interface SplitShards {
  name: string
  locations: ShardLocation[]
  stats: Array<ShardStat | null>
}

/**
 * The inventory's splits as last computed, with the shards' validators they were computed
 * from: reopening a 110,000-sample dataset answers the inventory from this small file
 * (≈ 70 KB) instead of waiting for the sample tables (a 4.5 MB cache read and parsed).
 */
interface SavedInventory {
  version: 1
  labelField: string | null
  shards: Array<Array<[url: string, validator: string]>>
  splits: DatasetInventory['splits']
}

/** One filtered listing: how many samples, and at each position the sample's split number and global index. */
export interface Listing {
  length: number
  splitAt(position: number): number
  indexAt(position: number): number
  /** Where a sample is in the listing, or null when the filter leaves it out. */
  positionOf(split: number, index: number): number | null
}

/** Every sample of some splits, in order: nothing per sample to keep (a dataset's first page needs no pass over its 100,000 samples). */
function wholeSplits(tables: SplitTable[], splits: number[]): Listing {
  const starts: number[] = []
  let length = 0
  for (const s of splits) {
    starts.push(length)
    length += tables[s]!.shardOf.length
  }
  const slot = (position: number): number => {
    let i = starts.length - 1
    while (i > 0 && starts[i]! > position) i--
    return i
  }
  return {
    length,
    splitAt: (position) => splits[slot(position)]!,
    indexAt: (position) => position - starts[slot(position)]!,
    positionOf(split, index) {
      const i = splits.indexOf(split)
      return i < 0 || index >= tables[split]!.shardOf.length ? null : starts[i]! + index
    }
  }
}

/** Chosen samples, as parallel arrays of (split number, global index). */
function pickedSamples(splitOf: Uint8Array, indexOf: Uint32Array): Listing {
  return {
    length: indexOf.length,
    splitAt: (position) => splitOf[position]!,
    indexAt: (position) => indexOf[position]!,
    positionOf(split, index) {
      for (let p = 0; p < indexOf.length; p++) if (indexOf[p] === index && splitOf[p] === split) return p
      return null
    }
  }
}

const registries = new WeakMap<ServiceContext, DatasetRegistry>()

/** The one registry of a host's services (the datasets service and the media route share it). */
export function registryFor(ctx: ServiceContext): DatasetRegistry {
  let r = registries.get(ctx)
  if (!r) registries.set(ctx, (r = new DatasetRegistry(ctx)))
  return r
}

export class DatasetRegistry {
  private readonly datasets = new Map<string, OpenedDataset>()

  constructor(private readonly ctx: ServiceContext) {}

  get cacheDir(): string {
    return join(this.ctx.stateDir, 'index-cache')
  }

  async open(source: DatasetSource): Promise<OpenedDataset> {
    const folder = source.folder ? await datasetFolder(resolve(expandHome(source.folder))) : null
    let manifest: DatasetManifest | null = null
    let splits: SplitSource[] = []
    if (folder) {
      const text = await readFile(join(folder, MANIFEST_FILE), 'utf8').catch(() => null)
      if (text !== null) {
        const parsed = parseManifest(text)
        if (!parsed.ok) throw new UserFacingError(`${join(folder, MANIFEST_FILE)}: ${parsed.error}`)
        manifest = parsed.manifest
        splits = Object.entries(manifest.splits).map(([name, s]) => ({
          name,
          patterns: [absolutePattern(folder, s.pattern)],
          remotePatterns: s.remote ? [absolutePattern(folder, s.remote.pattern)] : []
        }))
      } else {
        splits = findSplits(folder)
        if (splits.length === 0) throw new UserFacingError(`No shards in ${folder}`, 'Expected .tar files (e.g. train-000000.tar) in the folder or its subfolders, or a dataset.json.')
      }
    }
    if (source.splits?.length) {
      const base = folder ?? process.cwd()
      const given = source.splits.map((s) => ({
        name: s.name,
        patterns: s.patterns.map((p) => absolutePattern(base, p)),
        remotePatterns: (s.remotePatterns ?? []).map((p) => absolutePattern(base, p))
      }))
      splits = [...splits.filter((s) => !given.some((g) => g.name === s.name)), ...given]
    }
    const normalized = { folder, splits: splits.map((s) => ({ name: s.name, patterns: s.patterns, remotePatterns: s.remotePatterns ?? [] })) }
    const datasetId = createHash('sha256').update(JSON.stringify(normalized)).digest('hex').slice(0, 16)
    const existing = this.datasets.get(datasetId)
    if (existing) return existing
    // A pattern ShardScope refuses (pipe:, an unknown scheme) is an error of the open, named, not a missing shard later.
    for (const s of splits) splitLocations(s.name, [...s.patterns, ...(s.remotePatterns ?? [])])
    const summary: DatasetSummary = {
      datasetId,
      name: source.name ?? manifest?.name ?? (folder ? basename(folder) : splits.map((s) => s.name).join(' + ')),
      folder,
      splits: normalized.splits,
      classNames: manifest?.classNames ?? [],
      manifest
    }
    const opened: OpenedDataset = { summary, manifest, source, tables: null, tablesBuilt: false, shards: null, listings: new Map() }
    this.datasets.set(datasetId, opened)
    return opened
  }

  get(datasetId: string): OpenedDataset {
    const d = this.datasets.get(datasetId)
    if (!d) throw new UserFacingError(`No open dataset with id ${datasetId}`, 'Open the dataset again (datasets.open).')
    return d
  }

  has(datasetId: string): boolean {
    return this.datasets.has(datasetId)
  }

  close(datasetId: string): void {
    this.datasets.delete(datasetId)
  }

  /** Every split's sample table, indexing shards the first time (progress events go to every client). */
  tables(d: OpenedDataset): Promise<SplitTable[]> {
    d.tables ??= this.buildTables(d).then(
      (tables) => {
        d.tablesBuilt = true
        return tables
      },
      (err: unknown) => {
        d.tables = null
        d.shards = null
        throw err
      }
    )
    return d.tables
  }

  /** Every split's shard locations and their sizes and validators now (once per open). */
  shards(d: OpenedDataset): Promise<SplitShards[]> {
    d.shards ??= this.statShards(d).catch((err: unknown) => {
      d.shards = null
      throw err
    })
    return d.shards
  }

  private async statShards(d: OpenedDataset): Promise<SplitShards[]> {
    const result: SplitShards[] = []
    for (const split of d.summary.splits) {
      const locations = splitLocations(split.name, split.patterns)
      // Several shards at a time: each is a stat (an HTTP HEAD for remote shards). A local
      // stat takes microseconds and its round trip through libuv's threads is most of it,
      // so local shards are all asked for at once rather than six at a time.
      const stats: Array<ShardStat | null> = []
      await forEachOrdered(
        locations.length,
        locations.every((l) => l.kind === 'file') ? localStatConcurrency : indexConcurrency,
        (i) => statShard(locations[i]!).catch(() => null),
        (stat) => void stats.push(stat)
      )
      result.push({ name: split.name, locations, stats })
    }
    return result
  }

  /** The inventory's splits saved by the last open, if every shard is still the one they were computed from. */
  async savedInventory(d: OpenedDataset): Promise<DatasetInventory['splits'] | null> {
    const [text, now] = await Promise.all([readFile(this.inventoryPath(d.summary.datasetId), 'utf8').catch(() => null), this.shards(d)])
    if (text === null) return null
    let saved: SavedInventory
    try {
      saved = JSON.parse(text) as SavedInventory
    } catch {
      return null // unreadable: computed from the tables instead
    }
    if (saved.version !== 1 || saved.labelField !== (d.manifest?.labelField ?? null) || saved.shards.length !== now.length) return null
    const same = now.every(
      (split, i) =>
        saved.splits[i]?.name === split.name &&
        saved.shards[i]!.length === split.locations.length &&
        split.locations.every((location, j) => saved.shards[i]![j]![0] === location.url && saved.shards[i]![j]![1] === split.stats[j]?.validator)
    )
    return same ? saved.splits : null
  }

  /** Keeps the inventory computed from the tables for the next open (see SavedInventory). */
  async saveInventory(d: OpenedDataset, splits: DatasetInventory['splits']): Promise<void> {
    const now = await this.shards(d)
    // Unreadable shards have no validator to check against next time: nothing is saved.
    if (now.some((split) => split.stats.some((stat) => stat === null))) return
    const saved: SavedInventory = {
      version: 1,
      labelField: d.manifest?.labelField ?? null,
      shards: now.map((split) => split.locations.map((location, j) => [location.url, split.stats[j]!.validator] as [string, string])),
      splits
    }
    await writeFileAtomic(this.inventoryPath(d.summary.datasetId), JSON.stringify(saved))
  }

  private inventoryPath(datasetId: string): string {
    return join(this.cacheDir, `inventory-${datasetId}.json`)
  }

  private async buildTables(d: OpenedDataset): Promise<SplitTable[]> {
    const tables: SplitTable[] = []
    const labelField = d.manifest?.labelField
    // The shards' stats and the cache file at the same time: neither needs the other.
    const [stated, saved] = await Promise.all([
      this.shards(d),
      readDatasetCache(this.datasetCachePath(d.summary.datasetId), labelField ?? null),
      makeFolder(this.cacheDir)
    ])
    const kept = new Map<string, CachedShard>()
    let changed = saved === null
    for (const [s, split] of d.summary.splits.entries()) {
      const { locations, stats } = stated[s]!
      const shards: IndexedShard[] = []
      let first = 0
      const labelsByShard: Int32Array[] = []
      // Several shards at a time: those not in the cache are read whole.
      const load = async (location: ShardLocation, stat: ShardStat | null) => {
        const mine = saved?.get(location.url)
        if (mine && stat?.validator === mine.validator) {
          kept.set(location.url, mine)
          return { index: expandShard(mine), cached: mine, error: null, missing: false, read: false }
        }
        changed = true
        let index: ShardIndex | null = null
        let labels: Int32Array = new Int32Array(0)
        let error: string | null = null
        let missing = false
        try {
          // A shard that could not be stat'ed is stat'ed again there, for the error to show.
          index = await indexShard(location, { cacheDir: this.cacheDir, stat: stat ?? undefined })
        } catch (err) {
          // One shard that cannot be read (missing, a dropped connection, a server gone quiet) is that
          // shard's problem: the dataset opens with the others.
          const text = err instanceof Error ? err.message : String(err)
          error = text.includes(location.url) ? text : `${location.url}: ${text}`
          missing = (err instanceof ShardSourceError && err.status === 404) || /no such file/.test(text)
        }
        // Labels that cannot be read (the shard changed or went away since it was indexed) stay unknown.
        if (index) labels = await this.readLabels(location, index, labelField).catch(() => new Int32Array(index!.samples.length).fill(-1))
        const cached = index ? compactShard(index, labels) : null
        if (cached) kept.set(location.url, cached)
        return { index, cached, error, missing, read: true }
      }
      await forEachOrdered(locations.length, indexConcurrency, (i) => load(locations[i]!, stats[i] ?? null), ({ index, cached, error, missing, read }, i) => {
        const location = locations[i]!
        const count = cached?.count ?? 0
        shards.push({
          location,
          name: shardName(location),
          index,
          count,
          get keys() {
            return cached?.keys() ?? []
          },
          fields: cached?.fields ?? [],
          spanOf(j, field) {
            const k = cached ? cached.fields.indexOf(field) : -1
            return k < 0 || j >= count ? null : spanAt(cached!.spans(), cached!.fields.length, j, k)
          },
          error,
          missing,
          first
        })
        labelsByShard.push(cached?.labels ?? new Int32Array(0))
        first += count
        // Progress for shards read now; those from the cache take milliseconds in all, and an event each only kept the page busy.
        const done = i + 1 === locations.length
        if (read || done) {
          this.ctx.emit('datasets.indexProgress', {
            datasetId: d.summary.datasetId,
            split: split.name,
            shardsDone: i + 1,
            shardsTotal: locations.length,
            samples: first,
            shard: shardName(location),
            done
          })
        }
      })
      if (locations.length === 0) {
        this.ctx.emit('datasets.indexProgress', { datasetId: d.summary.datasetId, split: split.name, shardsDone: 0, shardsTotal: 0, samples: 0, done: true })
      }
      const total = first
      const shardOf = new Uint32Array(total)
      const inShard = new Uint32Array(total)
      const labels = new Int32Array(total).fill(-1)
      const problems = new Map<number, Set<string>>()
      const shardProblemsOf: Array<Set<string> | undefined> = []
      // Shard by shard with the typed arrays' own fill and copy: a loop over every sample
      // took ≈ 20 ms of a freshly started host's first open (code not yet optimised).
      const positions = countingUp(shards.reduce((n, shard) => Math.max(n, shard.count), 0))
      for (const [s, shard] of shards.entries()) {
        const end = shard.first + shard.count
        shardOf.fill(s, shard.first, end)
        inShard.set(positions.subarray(0, shard.count), shard.first)
        labels.set(labelsByShard[s]!.subarray(0, shard.count), shard.first)
        const shardProblems = shard.index?.problems ?? []
        if (shardProblems.length === 0) continue
        const keys = shard.keys
        const keyToLocal = new Map<string, number>()
        for (let j = 0; j < keys.length; j++) keyToLocal.set(keys[j]!, shard.first + j)
        for (const p of shardProblems) {
          const g = p.key !== undefined ? keyToLocal.get(p.key) : undefined
          if (g === undefined) {
            ;(shardProblemsOf[s] ??= new Set()).add(p.kind)
            continue
          }
          let set = problems.get(g)
          if (!set) problems.set(g, (set = new Set()))
          set.add(p.kind)
        }
      }
      const declared = d.manifest?.splits[split.name as keyof DatasetManifest['splits']]
      const imageField = declared?.imageField ?? d.manifest?.imageField
      let keyToIndex: Map<string, number> | null = null
      let keyCopies: Map<string, number[]> | null = null
      tables.push({
        name: split.name,
        patterns: split.patterns,
        remotePatterns: split.remotePatterns,
        imageField,
        shards,
        shardOf,
        inShard,
        labels,
        problems,
        shardProblems: shardProblemsOf,
        // Built on the first jump by key or finding's samples, not on every open (110,000 map entries).
        get keyToIndex() {
          if (!keyToIndex) {
            const first = new Map<string, number>()
            const copies = new Map<string, number[]>()
            for (const shard of shards) {
              shard.keys.forEach((key, j) => {
                const g = shard.first + j
                const earlier = first.get(key)
                if (earlier === undefined) first.set(key, g)
                else {
                  const list = copies.get(key)
                  if (list) list.push(g)
                  else copies.set(key, [earlier, g])
                }
              })
            }
            keyToIndex = first
            keyCopies = copies
          }
          return keyToIndex
        },
        get keyCopies() {
          if (!keyCopies) void this.keyToIndex
          return keyCopies!
        }
      })
    }
    if (changed || kept.size !== saved?.size) {
      await writeFileAtomic(this.datasetCachePath(d.summary.datasetId), encodeDatasetCache(labelField ?? null, [...kept.values()]))
      // The JSON cache of earlier versions, replaced by this one.
      await rm(join(this.cacheDir, `dataset-${d.summary.datasetId}.json`), { force: true })
    }
    return tables
  }

  private datasetCachePath(datasetId: string): string {
    return join(this.cacheDir, `dataset-${datasetId}.bin`)
  }

  /**
   * Class labels of one shard, read through the index: for a local uncompressed
   * tar only the few bytes of each `cls` member are read. Cached beside the index,
   * keyed by the shard's validator, so reopening a 100,000-sample dataset reads none.
   */
  private async readLabels(location: ShardLocation, index: ShardIndex, labelField: string | undefined): Promise<Int32Array> {
    const cacheFile = join(this.cacheDir, `labels-${createHash('sha256').update(location.url).digest('hex').slice(0, 24)}.json`)
    const cached = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as { validator: string; labels: number[] }, () => null)
    if (cached && cached.validator === index.validator && cached.labels.length === index.samples.length) return Int32Array.from(cached.labels)
    const labels = new Int32Array(index.samples.length).fill(-1)
    const fieldOf = (members: Record<string, [number, number]>): string | undefined =>
      labelField && members[labelField] ? labelField : labelFields.find((f) => members[f])
    if (!index.compressed && index.bytes > 0) {
      // One read per 1 MiB window instead of one per sample: 100,000 tiny positioned
      // reads took ~29 s here, windows well under a second; for http(s) shards it is
      // one Range request per window instead of one per sample.
      let window: Uint8Array = new Uint8Array(0)
      let windowStart = -1
      for (const [i, s] of index.samples.entries()) {
        const f = fieldOf(s.members)
        if (!f) continue
        const [offset, size] = s.members[f]!
        if (size > MAX_LABEL_BYTES || offset + size > index.bytes) continue
        if (offset < windowStart || offset + size > windowStart + window.length) {
          try {
            window = await readShardRange(location, offset, Math.min(labelWindowBytes, index.bytes - offset))
          } catch {
            // The shard changed or went away since it was indexed (or the connection dropped): its remaining labels stay unknown.
            break
          }
          windowStart = offset
        }
        labels[i] = parseLabel(window.subarray(offset - windowStart, offset - windowStart + size))
      }
    } else {
      // A gzip shard has no random access: every label in one pass over the stream (one download, not one per sample).
      const wanted = index.samples.flatMap((s, i) => {
        const f = fieldOf(s.members)
        return f && s.members[f]![1] <= MAX_LABEL_BYTES ? [{ i, span: s.members[f]! }] : []
      })
      const bytes = await readDecompressedSpans(location, wanted.map((w) => w.span)).catch(() => null)
      if (bytes) wanted.forEach((w, k) => (labels[w.i] = parseLabel(bytes[k]!)))
    }
    await writeFileAtomic(cacheFile, JSON.stringify({ validator: index.validator, labels: Array.from(labels) }))
    return labels
  }

  /** The samples matching a filter, as (split, index) pairs, built once per filter. */
  async listing(d: OpenedDataset, filter: SampleFilter): Promise<Listing> {
    const cacheKey = JSON.stringify(filter)
    const hit = d.listings.get(cacheKey)
    if (hit) {
      d.listings.delete(cacheKey)
      d.listings.set(cacheKey, hit)
      return hit
    }
    const tables = await this.tables(d)
    if (filter.split !== undefined && !tables.some((t) => t.name === filter.split)) {
      throw new UserFacingError(`Unknown split "${filter.split}"`, `This dataset has ${tables.map((t) => t.name).join(', ')}.`)
    }
    const remember = (listing: Listing): void => {
      d.listings.set(cacheKey, listing)
      if (d.listings.size > 16) d.listings.delete(d.listings.keys().next().value!)
    }
    const accepts = (t: SplitTable, g: number): boolean => {
      if (filter.split !== undefined && t.name !== filter.split) return false
      if (filter.shard !== undefined && t.shards[t.shardOf[g]!]!.name !== filter.shard) return false
      if (filter.classId !== undefined && t.labels[g] !== filter.classId) return false
      if (filter.problem !== undefined) {
        const unlabelled = t.labels[g] === -1
        if (filter.problem === 'no-label') return unlabelled
        // A shard-level problem (a truncated shard) marks the samples read from that shard.
        const kinds = t.problems.get(g)
        const ofShard = t.shardProblems[t.shardOf[g]!]
        if (filter.problem === 'any') return unlabelled || kinds !== undefined || ofShard !== undefined
        if (!kinds?.has(filter.problem) && !ofShard?.has(filter.problem)) return false
      }
      return true
    }
    if (filter.keys) {
      const splitOf: number[] = []
      const indexOf: number[] = []
      const seen = new Set<string>()
      for (const ref of filter.keys) {
        for (const [s, t] of tables.entries()) {
          if (ref.split !== undefined && t.name !== ref.split) continue
          const g = t.keyToIndex.get(ref.key)
          if (g === undefined) continue
          // A duplicated key shows every copy side by side (its finding names one); otherwise
          // the one sample, found in the named shard when the key is in several splits' shards.
          const copies = t.keyCopies.get(ref.key)
          if (!copies && ref.url !== undefined && t.shards[t.shardOf[g]!]!.location.url !== ref.url) continue
          for (const each of copies ?? [g]) {
            const id = `${s}:${each}`
            if (seen.has(id) || !accepts(t, each)) continue
            seen.add(id)
            splitOf.push(s)
            indexOf.push(each)
          }
        }
      }
      const listing = pickedSamples(Uint8Array.from(splitOf), Uint32Array.from(indexOf))
      remember(listing)
      return listing
    }
    const splitsShown = [...tables.keys()].filter((s) => filter.split === undefined || tables[s]!.name === filter.split)
    if (filter.shard === undefined && filter.classId === undefined && filter.problem === undefined) {
      const listing = wholeSplits(tables, splitsShown)
      remember(listing)
      return listing
    }
    {
      // Typed arrays filled in place, then cut to size.
      const total = splitsShown.reduce((n, s) => n + tables[s]!.shardOf.length, 0)
      const splits = new Uint8Array(total)
      const indexes = new Uint32Array(total)
      let n = 0
      for (const s of splitsShown) {
        const t = tables[s]!
        for (let g = 0; g < t.shardOf.length; g++) {
          if (!accepts(t, g)) continue
          splits[n] = s
          indexes[n++] = g
        }
      }
      const listing = pickedSamples(splits.slice(0, n), indexes.slice(0, n))
      remember(listing)
      return listing
    }
  }

  /** The grid's row for one sample. */
  row(d: OpenedDataset, t: SplitTable, g: number): SampleRow {
    const shard = t.shards[t.shardOf[g]!]!
    const j = t.inShard[g]!
    const label = t.labels[g]!
    return {
      split: t.name,
      shard: shard.name,
      index: g,
      key: shard.keys[j]!,
      label: label >= 0 ? label : null,
      className: label >= 0 ? (d.summary.classNames[label] ?? null) : null,
      imageField: imageFieldOf(shard.fields, (f) => shard.spanOf(j, f) !== null, t.imageField)
    }
  }

  /** The table of a split by name, or a user-facing error naming the splits there are. */
  async split(d: OpenedDataset, name: string): Promise<SplitTable> {
    const tables = await this.tables(d)
    const t = tables.find((x) => x.name === name)
    if (!t) throw new UserFacingError(`Unknown split "${name}"`, `This dataset has ${tables.map((x) => x.name).join(', ')}.`)
    return t
  }
}

/** A sample's image field: the one the dataset names, else the first plain image field, else the first whose last extension is an image's (`seg.png`); null when it has none. */
function imageFieldOf(fields: readonly string[], has: (field: string) => boolean, preferred?: string): string | null {
  if (preferred && has(preferred)) return preferred
  return imageFields.find(has) ?? fields.find((f) => has(f) && imageFields.includes(f.split('.').pop()!)) ?? null
}

/** 0, 1, …, n − 1. */
function countingUp(n: number): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  return out
}

/** `cls` holds a decimal class index as text (webdataset's convention); −1 when it is not one. */
function parseLabel(bytes: Uint8Array): number {
  const value = parseInteger(bytes)
  return value !== null && value >= 0 && value <= 0x7fffffff ? value : -1
}

export function shardName(location: ShardLocation): string {
  const last = location.url.split(/[/\\]/).pop() ?? location.url
  return last.split('?')[0]!
}

export function expandHome(path: string): string {
  if (path === '~' || path.startsWith('~/')) return join(process.env.HOME ?? '/', path.slice(1))
  return path
}

/** The shards a split's patterns name, in order; a pattern ShardScope refuses is the user's error, named with its split. */
function splitLocations(split: string, patterns: readonly string[]): ShardLocation[] {
  try {
    return patterns.flatMap((pattern) => expandPattern(pattern))
  } catch (err) {
    if (err instanceof PatternError) throw new UserFacingError(`${split}: ${err.message}`)
    throw err
  }
}

/**
 * A pattern with its relative paths made absolute against `base`, part by part (`a::b`).
 * URLs, and schemes ShardScope refuses (`pipe:`), are left as they are, for expandPattern
 * to read or refuse; a `pipe:cmd` made into a path would be read as a missing file.
 */
function absolutePattern(base: string, pattern: string): string {
  return pattern
    .split('::')
    .map((part) => {
      const trimmed = part.trim()
      if (trimmed.startsWith('file://')) return trimmed.slice('file://'.length)
      if (trimmed.startsWith('file:')) return absolutePattern(base, trimmed.slice('file:'.length))
      if (/^[a-z][a-z0-9+.-]+:/i.test(trimmed)) return trimmed
      const expanded = expandHome(trimmed)
      return isAbsolute(expanded) ? expanded : join(base, expanded)
    })
    .join('::')
}

/** Splits of a folder without dataset.json, found as the inventory and the verifier find them. */
function findSplits(folder: string): SplitSource[] {
  return splitPatternsOfFolder(folder, folder + sep).map(({ name, patterns }) => ({ name, patterns, remotePatterns: [] }))
}

/** Shards indexed (or their cached indexes read), or remote shards stat'ed, at the same time. */
const indexConcurrency = 6
/** Local shard files stat'ed at the same time. */
const localStatConcurrency = 256

/** The folder a user named: itself, or the folder of the dataset.json they named; a clear error otherwise. */
async function datasetFolder(path: string): Promise<string> {
  const info = await stat(path).catch(() => null)
  const why = 'Choose a folder that holds shards (.tar files) or a dataset.json.'
  if (!info) throw new UserFacingError(`No such folder: ${path}`, why)
  if (info.isFile() && basename(path) === MANIFEST_FILE) return dirname(path)
  if (!info.isDirectory()) throw new UserFacingError(`Not a folder: ${path}`, why)
  return path
}
