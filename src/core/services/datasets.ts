/**
 * The 'datasets.*' methods of the contract (src/shared/contract/datasets.ts):
 * opening folders and patterns, the demo, recent datasets, path completion, the
 * inventory and the sample listing. Sample tables live in the registry
 * (./dataset-registry.ts), shared with the media route (./media.ts).
 */
import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { Handlers } from '../../shared/contract'
import type { CoverageWarning, DatasetInventory, DatasetSource, FirstPageRequest, InventoryShard, OpenedDatasetAnswer, PageThumbnail, PathEntry, SampleDetail, SampleField, SampleFilter, SamplePage, SampleRow } from '../../shared/contract/datasets'
import { ensureDemoDataset } from '../demo'
import { findCoverageGaps, MAX_CLASS_ID, SHARD_FILE } from '../inventory'
import { readSampleAt } from '../wds'
import type { ShardLocation } from '../wds/types'
import { decodeField } from '../wds/fields'
import type { ServiceContext } from './context'
import { expandHome, registryFor, type Listing, type OpenedDataset, type SplitTable } from './dataset-registry'
import { UserFacingError } from './dispatch'
import { imageBytesOf, mediaAnswers, summarizeImage } from './media'
import { readRecent, rememberRecent } from './recent'

/**
 * How long an open asked for its first page waits for it. Measured in a fresh host, a cached
 * index of 110,000 samples loads and the first screen's 60 thumbnails are read in 34 ms
 * alone, 41-168 ms with the browser busy beside it; a first indexing takes seconds.
 */
export const FIRST_PAGE_WAIT_MS = 250

type DatasetHandlers = Pick<
  Handlers,
  | 'datasets.open'
  | 'datasets.openDemo'
  | 'datasets.get'
  | 'datasets.close'
  | 'datasets.recent'
  | 'datasets.completePath'
  | 'datasets.inventory'
  | 'datasets.samples'
  | 'datasets.locate'
  | 'datasets.sample'
>

export function createDatasetService(ctx: ServiceContext): { handlers: DatasetHandlers; dispose(): Promise<void> } {
  const registry = registryFor(ctx)

  /** Rows [offset, offset + limit) of a filtered listing. */
  function pageOf(d: OpenedDataset, tables: SplitTable[], listing: Listing, offset: number, limit: number): SamplePage {
    const end = Math.min(listing.length, offset + limit)
    const items = []
    for (let p = offset; p < end; p++) items.push(registry.row(d, tables[listing.splitAt(p)]!, listing.indexAt(p)))
    return { total: listing.length, offset, items }
  }

  /** The thumbnails of these rows, as the media route would answer them; null where there is none to show. */
  async function thumbnailsOf(datasetId: string, rows: SampleRow[]): Promise<Array<PageThumbnail | null>> {
    const withImage = rows.flatMap((r) => (r.imageField ? [{ split: r.split, index: r.index, field: r.imageField }] : []))
    const answers = await mediaAnswers(ctx, { datasetId, items: withImage, variant: 'thumb' })
    let next = 0
    return rows.map((r) => {
      if (!r.imageField) return null
      const a = answers[next++]!
      const bytes = imageBytesOf(a)
      return bytes ? { contentType: a.contentType, base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') } : null
    })
  }

  /** A page of a filtered listing, with the thumbnails of its first `thumbnails` items when asked for. */
  async function samplesPage(d: OpenedDataset, filter: SampleFilter, offset: number, limit: number, thumbnails: number): Promise<SamplePage> {
    const page = pageOf(d, await registry.tables(d), await registry.listing(d, filter), offset, limit)
    if (thumbnails === 0) return page
    return { ...page, thumbnails: await thumbnailsOf(d.summary.datasetId, page.items.slice(0, thumbnails)) }
  }

  /**
   * The open's answer: the summary, with the first page when it was asked for and is ready
   * within FIRST_PAGE_WAIT_MS. Otherwise (a dataset indexed for the first time, remote
   * shards slow to answer) the summary alone, so that the indexing progress shows; the
   * tables go on building, and the grid asks for its page as it would have.
   */
  async function answerOpen(d: OpenedDataset, firstPage: FirstPageRequest | undefined): Promise<OpenedDatasetAnswer> {
    if (!firstPage) return d.summary
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<null>((done) => (timer = setTimeout(done, FIRST_PAGE_WAIT_MS, null)))
    const page = samplesPage(d, {}, 0, firstPage.limit, firstPage.thumbnails).catch(() => null)
    const ready = await Promise.race([page, late])
    clearTimeout(timer)
    return ready ? { ...d.summary, firstPage: ready } : d.summary
  }

  /** Datasets whose inventory was saved for the next open in this session (once each). */
  const inventorySaved = new WeakSet<OpenedDataset>()

  /** The last write of the recent list; `datasets.recent` waits for it, `datasets.open` does not (≈ 50 ms on a busy disk). */
  let recentWritten: Promise<void> = Promise.resolve()

  async function openAndRemember(source: DatasetSource): Promise<OpenedDataset> {
    const d = await registry.open(source)
    // Index in the background so the inventory and grid are ready sooner; progress goes out as
    // events. Started once this answer is out: its first steps (expanding the patterns,
    // asking for every shard's stat) held the answer back by 10-20 ms in a fresh host.
    const indexed = new Promise<void>((done) =>
      setImmediate(() =>
        registry.tables(d).then(
          () => done(),
          (err: unknown) => {
            ctx.emit('system.problem', { source: `dataset ${d.summary.name}`, message: err instanceof Error ? err.message : String(err) })
            done()
          }
        )
      )
    )
    const entry = {
      name: source.name?.trim() || d.summary.name,
      source: d.summary.folder && !source.splits ? { folder: d.summary.folder } : { folder: d.summary.folder ?? undefined, splits: d.summary.splits, name: source.name },
      openedAt: new Date().toISOString()
    }
    // Written once the open's own work is done (the first page waits for the tables) or after a second, whichever comes first.
    const openSettled = Promise.race([indexed, new Promise<void>((done) => setTimeout(done, 1000))])
    // A dataset none of whose shards exists (a mistyped pattern, a folder since moved) is not one to reopen.
    const anyShardFound = () => registry.shards(d).then((splits) => splits.some((s) => s.stats.some((stat) => stat !== null)), () => false)
    recentWritten = recentWritten
      .then(() => openSettled)
      .then(anyShardFound)
      .then((found) => (found ? rememberRecent(ctx.stateDir, entry) : undefined))
      .catch((err: unknown) => {
        ctx.emit('system.problem', { source: 'recent datasets', message: `Could not remember ${d.summary.name} as recent: ${err instanceof Error ? err.message : String(err)}` })
      })
    return d
  }

  return {
    handlers: {
      async 'datasets.open'({ firstPage, ...source }) {
        return answerOpen(await openAndRemember(source), firstPage)
      },
      async 'datasets.openDemo'({ firstPage }) {
        await ensureDemoDataset(ctx.demoDir)
        return answerOpen(await openAndRemember({ folder: ctx.demoDir }), firstPage)
      },
      async 'datasets.get'({ datasetId }) {
        return registry.get(datasetId).summary
      },
      async 'datasets.close'({ datasetId }) {
        registry.close(datasetId)
        return {}
      },
      async 'datasets.recent'() {
        await recentWritten
        return { items: await readRecent(ctx.stateDir) }
      },
      async 'datasets.completePath'({ prefix, limit }) {
        return { entries: await completePath(prefix, limit) }
      },
      async 'datasets.inventory'({ datasetId }) {
        const d = registry.get(datasetId)
        // Until the sample tables are built (reopening: a 4.5 MB cache for 110,000 samples), the inventory saved by the last open answers if no shard changed since.
        const saved = d.tablesBuilt ? null : await registry.savedInventory(d)
        if (saved) return { datasetId, splits: saved, warnings: await coverageOf(d, await registry.shards(d)) }
        const tables = await registry.tables(d)
        const inventory = await inventoryOf(d, tables)
        if (!inventorySaved.has(d)) {
          inventorySaved.add(d)
          await registry.saveInventory(d, inventory.splits).catch((err: unknown) => {
            ctx.emit('system.problem', { source: `dataset ${d.summary.name}`, message: `Could not save the inventory for the next open: ${err instanceof Error ? err.message : String(err)}` })
          })
        }
        return inventory
      },
      async 'datasets.samples'({ datasetId, filter, offset, limit, thumbnails }) {
        return samplesPage(registry.get(datasetId), filter, offset, limit, thumbnails)
      },
      async 'datasets.locate'({ datasetId, filter, key, split, index, pageSize }) {
        const d = registry.get(datasetId)
        const tables = await registry.tables(d)
        if (key === undefined && index === undefined) throw new UserFacingError('Give a sample key or an index to jump to')
        // The split the filter shows is looked in first; the others too, so that a sample the
        // filter hides (`train:5` while val is shown) is answered with a null position, and the
        // page can say to clear the filter rather than that there is no such sample.
        const order = [...tables.keys()].sort((a, b) => Number(tables[b]!.name === filter.split) - Number(tables[a]!.name === filter.split))
        let target: { s: number; g: number } | null = null
        for (const s of order) {
          const t = tables[s]!
          if (split !== undefined && t.name !== split) continue
          const g = key !== undefined ? t.keyToIndex.get(key) : index! < t.shardOf.length ? index : undefined
          if (g !== undefined) {
            target = { s, g }
            break
          }
        }
        if (!target) return { position: null, sample: null }
        const sample = registry.row(d, tables[target.s]!, target.g)
        // The key's other samples, in other splits (a train/val leak) or its own (a duplicated
        // key): said, not hidden behind the one answered.
        const elsewhere =
          key === undefined
            ? []
            : tables.flatMap((t, s) => {
                const first = t.keyToIndex.get(key)
                const all = t.keyCopies.get(key) ?? (first === undefined ? [] : [first])
                return all.filter((g) => s !== target.s || g !== target.g).map((g) => ({ split: t.name, index: g }))
              })
        const also = elsewhere.length > 0 ? { elsewhere } : {}
        const listing = await registry.listing(d, filter)
        const p = listing.positionOf(target.s, target.g)
        if (p === null) return { position: null, sample, ...also }
        if (pageSize === undefined) return { position: p, sample, ...also }
        return { position: p, sample, page: pageOf(d, tables, listing, Math.floor(p / pageSize) * pageSize, pageSize), ...also }
      },
      async 'datasets.sample'({ datasetId, split, index }) {
        const d = registry.get(datasetId)
        const t = await registry.split(d, split)
        if (index >= t.shardOf.length) throw new UserFacingError(`Split ${split} has ${t.shardOf.length} samples; there is no sample ${index}`)
        return describeSample(d, t, index, registry.row(d, t, index))
      }
    },
    async dispose(): Promise<void> {
      await recentWritten
    }
  }
}

async function describeSample(d: OpenedDataset, t: SplitTable, g: number, row: ReturnType<ReturnType<typeof registryFor>['row']>): Promise<SampleDetail> {
  const shard = t.shards[t.shardOf[g]!]!
  const inShard = t.inShard[g]!
  const sample = await readSampleAt(shard.location, shard.index!, inShard)
  const fields: SampleField[] = []
  for (const name of Object.keys(sample.fields).sort()) {
    const bytes = sample.fields[name]!
    fields.push(await describeField(name, bytes))
  }
  return { ...row, url: shard.location.url, indexInShard: inShard, fields }
}

const imageExtensions = new Set(['jpg', 'jpeg', 'png', 'webp', 'npy'])

/** One field for the detail view: what it is, its size, and its value or image summary (webdataset's decoders by extension). */
async function describeField(name: string, bytes: Uint8Array): Promise<SampleField> {
  const ext = name.split('.').pop()!.toLowerCase()
  const base = { name, bytes: bytes.byteLength }
  if (imageExtensions.has(ext)) {
    try {
      return { ...base, kind: 'image', image: await summarizeImage(bytes, ext) }
    } catch (err) {
      return { ...base, kind: ext === 'npy' ? 'array' : 'image', error: `${name} could not be decoded: ${err instanceof Error ? err.message : String(err)}` }
    }
  }
  const decoded = await decodeField(name, bytes)
  switch (decoded.kind) {
    case 'integer':
      return { ...base, kind: 'label', text: String(decoded.value) }
    case 'text':
      return { ...base, kind: 'text', text: decoded.value.slice(0, 4000) }
    case 'json':
      return { ...base, kind: 'json', text: JSON.stringify(decoded.value, null, 2).slice(0, 4000) }
    case 'problem':
      return { ...base, kind: /^(cls|cls2|index)$/.test(ext) ? 'label' : 'binary', text: Buffer.from(bytes.subarray(0, 200)).toString('latin1'), error: `${decoded.message}: expected ${decoded.expected}, found ${decoded.found}` }
    default: {
      // Unknown extensions: show them as text when they are printable UTF-8 (ids, captions, wnids).
      const text = Buffer.from(bytes).toString('utf8')
      return /^[\P{Cc}\n\r\t]*$/u.test(text) ? { ...base, kind: 'text', text: text.slice(0, 4000) } : { ...base, kind: 'binary' }
    }
  }
}

async function inventoryOf(d: OpenedDataset, tables: SplitTable[]): Promise<DatasetInventory> {
  {
    const splits = tables.map((t) => {
      const shards: InventoryShard[] = t.shards.map((shard) => {
        const histogram: number[] = []
        for (let j = 0; j < shard.count; j++) {
          const label = t.labels[shard.first + j]!
          if (label >= 0 && label <= MAX_CLASS_ID) {
            while (histogram.length <= label) histogram.push(0)
            histogram[label]! += 1
          }
        }
        const problems = shard.index?.problems.map((p) => p.message) ?? [shard.error ?? 'unreadable']
        const status = !shard.index ? (shard.missing ? 'missing' : 'unreadable') : problems.length ? 'problems' : 'ok'
        return {
          split: t.name,
          name: shard.name,
          url: shard.location.url,
          bytes: shard.index?.bytes ?? 0,
          samples: shard.count,
          fields: shard.fields,
          status,
          problems,
          classHistogram: histogram
        } satisfies InventoryShard
      })
      const classHistogram: number[] = []
      for (const s of shards) s.classHistogram.forEach((n, c) => (classHistogram[c] = (classHistogram[c] ?? 0) + n))
      return {
        name: t.name,
        shards,
        samples: shards.reduce((a, s) => a + s.samples, 0),
        bytes: shards.reduce((a, s) => a + s.bytes, 0),
        classHistogram: Array.from(classHistogram, (n) => n ?? 0)
      }
    })
    const warnings = await coverageOf(
      d,
      tables.map((t) => ({ name: t.name, locations: t.shards.map((s) => s.location) }))
    )
    return { datasetId: d.summary.datasetId, splits, warnings }
  }
}

/**
 * Shard-like files next to the local shards that no pattern of the dataset names: the
 * post-mortem's "val-000000.tar covers 1 of 2 shards". All splits are checked together,
 * so train shards beside val shards in one folder do not count as missing from val.
 */
async function coverageOf(d: OpenedDataset, splits: Array<{ name: string; locations: ShardLocation[] }>): Promise<CoverageWarning[]> {
  const splitOfPattern = new Map<string, string>()
  const locations = splits.flatMap((t) => t.locations)
  for (const t of splits) for (const location of t.locations) splitOfPattern.set(location.pattern, t.name)
  const gaps = await findCoverageGaps(locations, d.summary.folder ?? process.cwd())
  return gaps.map((gap) => {
    const split = [...new Set(gap.patterns.map((p) => splitOfPattern.get(p) ?? ''))].filter(Boolean).join(' + ')
    return { split, pattern: gap.pattern, message: `${split} ${gap.message}`.trim(), uncovered: gap.uncovered }
  })
}

/** Directories and shard files under a typed prefix; never reads a file's content. */
export async function completePath(prefix: string, limit: number): Promise<PathEntry[]> {
  const typed = expandHome(prefix.trim() || '/')
  const absolute = resolve(typed)
  const dir = typed.endsWith('/') || typed.endsWith(sep) ? absolute : dirname(absolute)
  const start = typed.endsWith('/') || typed.endsWith(sep) ? '' : basename(absolute)
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null)
  if (!entries) return []
  const out: PathEntry[] = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.name.startsWith(start)) continue
    if (e.name.startsWith('.') && !start.startsWith('.')) continue
    const path = join(dir, e.name)
    let isDir = e.isDirectory()
    if (e.isSymbolicLink()) isDir = (await stat(path).catch(() => null))?.isDirectory() ?? false
    if (isDir) out.push({ path, name: e.name, kind: 'directory' })
    else if ((e.isFile() || e.isSymbolicLink()) && SHARD_FILE.test(e.name)) out.push({ path, name: e.name, kind: 'shard' })
    if (out.length >= limit) break
  }
  return out
}
