/**
 * The sample browser: the filter, the paged listing behind the virtualized grid,
 * the selected sample and its detail. Pages live in a bounded cache outside React
 * state; `pagesVersion` ticks when one arrives so only the grid re-renders.
 */
import { create } from 'zustand'
import type { FirstPageRequest, SampleDetail, SampleFilter, SamplePage, SampleRow } from '@shared/contract/datasets'
import { getClient } from '../../api/client'
import { describeError } from '../../app/errors'
import { whenIdle } from '../../app/paint'
import { useDatasets } from '../datasets/store'
import { useInventory } from '../inventory/store'
import { PAGE_SIZE, PageCache, cellsOnScreen, lastGridSize, noSampleMessage, otherCopiesMessage, pagesForRange, parseJumpTarget } from './pages'
import { ThumbnailSource, type ThumbnailUrl } from './thumbnails'

interface BrowserState {
  datasetId: string | null
  filter: SampleFilter
  /** Why this filter is shown when it came from elsewhere ("Finding: …", "Shard …"). */
  origin: string | null
  /** Samples matching the filter; null until the first page answers. */
  total: number | null
  pagesVersion: number
  /** Ticks when a batch of thumbnails arrives (serve mode), so the grid re-renders once per batch. */
  thumbnailsVersion: number
  selected: number | null
  detailOpen: boolean
  detail: SampleDetail | null
  detailError: string | null
  error: string | null
  /** A word about the last jump that is not an error (the key is in other splits too). */
  notice: string | null
  /** Ask the grid to bring a position into view; seq changes on every request. */
  scrollRequest: { position: number; seq: number } | null
  /** Shows this dataset's samples (unfiltered), starting from its first page when the open answered with it. */
  setDataset(datasetId: string | null): void
  /** What an open asks for so that this grid has its first screen with the open's answer. */
  firstPageRequest(): FirstPageRequest
  /** An open's first page, for `setDataset` of that dataset to start from. */
  receiveFirstPage(datasetId: string, page: SamplePage): void
  showSamples(filter: SampleFilter, origin?: string | null): void
  setFilter(patch: Partial<SampleFilter>): void
  ensureRange(first: number, last: number): void
  row(position: number): SampleRow | undefined
  /** The grid's image URL for a row (see ./thumbnails.ts). */
  thumbnailUrl(row: SampleRow): ThumbnailUrl
  /** Asks for the images of the rows at these listing positions (those whose page is here). */
  loadThumbnails(first: number, last: number): void
  select(position: number, scroll?: boolean): void
  openDetail(position?: number): void
  closeDetail(): void
  jump(text: string): Promise<boolean>
}

export const useBrowser = create<BrowserState>((set, get) => {
  let cache = new PageCache()
  let inFlight = new Set<number>()
  /** Bumped on every filter or dataset change so answers to stale requests are dropped. */
  let generation = 0
  let scrollSeq = 0
  let detailSeq = 0
  let thumbnails: ThumbnailSource | null = null
  /** An open's first page until the browser binds to its dataset (held once, not in state). */
  let opened: { datasetId: string; page: SamplePage } | null = null
  const thumbnailSource = (): ThumbnailSource =>
    (thumbnails ??= new ThumbnailSource(getClient(), () => set((s) => ({ thumbnailsVersion: s.thumbnailsVersion + 1 }))))

  /** A new listing; starting from its first page when that is here already (an open's answer), else asking for it. */
  function reset(patch: Partial<BrowserState>, firstPage?: SamplePage | null): void {
    cache = new PageCache()
    inFlight = new Set()
    generation++
    set({ total: null, selected: null, detail: null, detailOpen: false, error: null, notice: null, pagesVersion: 0, scrollRequest: null, ...patch })
    const { datasetId } = get()
    if (firstPage && datasetId) receivePage(datasetId, 0, firstPage)
    else get().ensureRange(0, PAGE_SIZE - 1)
  }

  /** How many thumbnails come with a new listing's first page where images are fetched in batches (serve mode). */
  function firstScreenThumbnails(): number {
    return thumbnailSource().batched ? cellsOnScreen(lastGridSize) : 0
  }

  function receivePage(datasetId: string, page: number, result: SamplePage): void {
    if (result.thumbnails) thumbnailSource().accept(datasetId, result.items, result.thumbnails)
    inFlight.delete(page)
    cache.put(page, result.items)
    set((s) => ({ total: result.total, pagesVersion: s.pagesVersion + 1 }))
    // A detail asked for before its page arrived (a jump far down) loads now.
    const { detailOpen, detail, selected } = get()
    if (detailOpen && !detail && selected !== null && Math.floor(selected / PAGE_SIZE) === page) void loadDetail(selected)
  }

  function fetchPage(page: number): void {
    const { datasetId, filter } = get()
    if (!datasetId || inFlight.has(page) || cache.has(page)) return
    inFlight.add(page)
    const gen = generation
    // A new listing's first screen comes with its images where they are fetched in batches
    // (serve mode): asking for them only once the page is back cost a round trip through a
    // page busy rendering the view it opens on, and a second render.
    const firstScreen = page === 0 && get().total === null ? firstScreenThumbnails() : 0
    getClient()
      .call('datasets.samples', { datasetId, filter, offset: page * PAGE_SIZE, limit: PAGE_SIZE, thumbnails: firstScreen })
      .then((result) => {
        if (gen === generation) receivePage(datasetId, page, result)
      })
      .catch((err) => {
        if (gen !== generation) return
        inFlight.delete(page)
        set({ error: describeError(err), total: get().total ?? 0 })
      })
  }

  async function loadDetail(position: number): Promise<void> {
    const { datasetId } = get()
    const row = cache.row(position)
    if (!datasetId || !row) return
    const seq = ++detailSeq
    set({ detailError: null })
    try {
      const detail = await getClient().call('datasets.sample', { datasetId, split: row.split, index: row.index })
      if (seq === detailSeq) set({ detail })
    } catch (err) {
      if (seq === detailSeq) set({ detail: null, detailError: describeError(err) })
    }
  }

  return {
    datasetId: null,
    filter: {},
    origin: null,
    total: null,
    pagesVersion: 0,
    thumbnailsVersion: 0,
    selected: null,
    detailOpen: false,
    detail: null,
    detailError: null,
    error: null,
    notice: null,
    scrollRequest: null,
    setDataset(datasetId) {
      const first = opened?.datasetId === datasetId ? opened.page : null
      opened = null
      if (datasetId === get().datasetId) return
      reset({ datasetId, filter: {}, origin: null }, first)
    },
    firstPageRequest: () => ({ limit: PAGE_SIZE, thumbnails: firstScreenThumbnails() }),
    receiveFirstPage(datasetId, page) {
      opened = { datasetId, page }
    },
    showSamples(filter, origin = null) {
      // Called from other views before the browser has mounted: bind the open dataset now, so mounting does not reset the filter.
      reset({ filter, origin, datasetId: useDatasets.getState().current?.datasetId ?? get().datasetId })
    },
    setFilter(patch) {
      const filter: SampleFilter = { ...get().filter, ...patch }
      for (const k of Object.keys(filter) as Array<keyof SampleFilter>) if (filter[k] === undefined || filter[k] === '') delete filter[k]
      // Changing the split invalidates a shard chosen in another split (choosing a shard names its split too).
      if ('split' in patch && !('shard' in patch) && filter.shard && patch.split !== get().filter.split) delete filter.shard
      reset({ filter, origin: filter.keys ? get().origin : null })
    },
    ensureRange(first, last) {
      const total = get().total
      const pages = total === null ? [Math.floor(Math.max(0, first) / PAGE_SIZE)] : pagesForRange(first, last, total)
      for (const p of pages) fetchPage(p)
    },
    row: (position) => cache.row(position),
    thumbnailUrl(row) {
      const { datasetId } = get()
      return datasetId ? thumbnailSource().url(datasetId, row) : undefined
    },
    loadThumbnails(first, last) {
      const { datasetId, total } = get()
      if (!datasetId || total === null) return
      const rowsIn = (from: number, to: number): SampleRow[] => {
        const rows: SampleRow[] = []
        for (let p = Math.max(0, from); p <= Math.min(total - 1, to); p++) {
          const r = cache.row(p)
          if (r) rows.push(r)
        }
        return rows
      }
      const source = thumbnailSource()
      // What is on screen first, in its own batch; once it is in and the page is idle (its
      // images decoded and painted), the rest of its pages, so scrolling on finds its images
      // here and costs a request per page rather than one per row, without that larger
      // answer competing with the screen's.
      const pageStart = Math.floor(Math.max(0, first) / PAGE_SIZE) * PAGE_SIZE
      const pageEnd = (Math.floor(Math.max(0, last) / PAGE_SIZE) + 1) * PAGE_SIZE - 1
      const gen = generation
      void source.request(datasetId, rowsIn(first, last)).then(() =>
        whenIdle(() => {
          if (gen === generation) void source.request(datasetId, rowsIn(pageStart, pageEnd))
        })
      )
    },
    select(position, scroll = true) {
      const total = get().total ?? 0
      if (total === 0) return
      const p = Math.min(total - 1, Math.max(0, position))
      set({ selected: p, ...(scroll ? { scrollRequest: { position: p, seq: ++scrollSeq } } : {}) })
      get().ensureRange(p, p)
      if (get().detailOpen) void loadDetail(p)
    },
    openDetail(position) {
      const p = position ?? get().selected
      if (p === null || p === undefined) return
      set({ selected: p, detailOpen: true, detail: null })
      void loadDetail(p)
    },
    closeDetail: () => set({ detailOpen: false }),
    async jump(text) {
      const { datasetId, filter } = get()
      if (!datasetId) return false
      const target = parseJumpTarget(text, filter.split ?? cache.row(0)?.split)
      if (!target) return false
      // A jump by index names the sample already: its image is asked for while the back end
      // locates it, in the field the split's rows here use (if the sample's differs, the
      // request after the answer gets it).
      if ('index' in target) {
        const imageField = cache.imageFieldOf(target.split)
        if (imageField) void thumbnailSource().request(datasetId, [{ split: target.split, index: target.index, imageField }])
      }
      try {
        const gen = generation
        set({ notice: null })
        const { position, sample, page, elsewhere } = await getClient().call('datasets.locate', { datasetId, filter, ...target, pageSize: PAGE_SIZE })
        if (gen !== generation) return false
        // The target's image first, in a batch of its own; its page came with the answer, so the grid can show its row at once.
        if (sample && position !== null) void thumbnailSource().request(datasetId, [sample])
        if (page && !cache.has(page.offset / PAGE_SIZE)) {
          cache.put(page.offset / PAGE_SIZE, page.items)
          set((s) => ({ total: page.total, pagesVersion: s.pagesVersion + 1 }))
        }
        if (position === null) {
          const counted = useInventory.getState().inventory
          const splits = (useDatasets.getState().current?.splits ?? []).map((s) => ({ name: s.name, samples: counted?.datasetId === datasetId ? counted.splits.find((c) => c.name === s.name)?.samples : undefined }))
          set({ error: noSampleMessage(text, target, filter, sample !== null, splits) })
          return false
        }
        set({ error: null, notice: 'key' in target && sample && elsewhere ? otherCopiesMessage(target.key, sample, elsewhere) : null })
        get().ensureRange(position, position)
        get().select(position)
        return true
      } catch (err) {
        set({ error: describeError(err) })
        return false
      }
    }
  }
})
