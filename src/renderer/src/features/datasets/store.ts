/**
 * The opened dataset and how the user got to it: open a folder or URL patterns, the
 * demo, the recent list, and indexing progress while a split is indexed on first
 * open. Other features read `current` and load their own data for its id.
 */
import { create } from 'zustand'
import type { DatasetSource, DatasetSummary, FirstPageRequest, OpenedDatasetAnswer, RecentDataset, SamplePage } from '@shared/contract/datasets'
import { getClient } from '../../api/client'
import { describeError, plural } from '../../app/errors'

export interface IndexProgress {
  split: string
  shardsDone: number
  shardsTotal: number
  samples: number
  shard?: string
  done: boolean
}

interface DatasetsState {
  current: DatasetSummary | null
  recent: RecentDataset[]
  /** What is being opened, for the busy line ("Opening demo…"); null when idle. */
  opening: string | null
  error: string | null
  /** Per split, while the open call indexes shards. */
  indexProgress: Record<string, IndexProgress>
  open(source: DatasetSource, label?: string): Promise<boolean>
  openDemo(): Promise<boolean>
  /** Hides the error of the last open (the user read it, or is typing another path). */
  dismissError(): void
  loadRecent(): Promise<void>
  /**
   * `shardscope serve DATASET` (and Electron's File menu) open a dataset before the page
   * loads and name it in the URL (`&dataset=ID`): show that one. When the back end no
   * longer has it (restarted), the most recent dataset is reopened.
   */
  restoreFromUrl(): Promise<void>
  /** Starts listening to indexing events; returns the unsubscribe. */
  listen(): () => void
}

/** What each open asks to be answered with besides the summary, and who takes it; set by the app shell. */
interface FirstPageHook {
  request(): FirstPageRequest | undefined
  /** Called with the open's first page before the dataset becomes `current`. */
  received(datasetId: string, page: SamplePage): void
}
let firstPageHook: FirstPageHook | null = null

/**
 * Every open from now on asks for the first page `hook.request` describes (the sample grid's
 * first screen), and hands it to `hook.received`, so that the view showing the dataset has
 * it with the open's one answer.
 */
export function askWithEachOpen(hook: FirstPageHook): void {
  firstPageHook = hook
}

export const useDatasets = create<DatasetsState>((set, get) => {
  async function run(label: string, call: (firstPage: FirstPageRequest | undefined) => Promise<OpenedDatasetAnswer>): Promise<boolean> {
    set({ opening: label, error: null, indexProgress: {} })
    try {
      const { firstPage, ...current } = await call(firstPageHook?.request())
      if (firstPage) firstPageHook?.received(current.datasetId, firstPage)
      // The recent list is read again when the Datasets view shows it, not now, while the new dataset's first screen loads.
      set({ current, opening: null })
      return true
    } catch (err) {
      set({ opening: null, error: describeError(err) })
      return false
    }
  }
  return {
    current: null,
    recent: [],
    opening: null,
    error: null,
    indexProgress: {},
    open: (source, label) => run(label ?? source.name ?? source.folder ?? 'dataset', (firstPage) => getClient().call('datasets.open', { ...source, firstPage })),
    openDemo: () => run('the demo dataset', (firstPage) => getClient().call('datasets.openDemo', { firstPage })),
    dismissError: () => set({ error: null }),
    async loadRecent() {
      try {
        const { items } = await getClient().call('datasets.recent', {})
        set({ recent: items })
      } catch (err) {
        set({ error: describeError(err) })
      }
    },
    async restoreFromUrl() {
      const wanted = new URLSearchParams(window.location.search).get('dataset')
      if (!wanted || get().current) return
      const opened = await getClient()
        .call('datasets.get', { datasetId: wanted })
        .catch(() => null)
      if (opened) {
        set({ current: opened })
        void get().loadRecent()
        return
      }
      await get().loadRecent()
      const latest = get().recent[0]
      if (latest) await run(latest.name, (firstPage) => getClient().call('datasets.open', { ...latest.source, firstPage }))
    },
    listen() {
      return getClient().on('datasets.indexProgress', (p) => {
        set((s) => ({ indexProgress: { ...s.indexProgress, [p.split]: p } }))
      })
    }
  }
})

/** The opened dataset's id, or null: what other features key their loads on. */
export const useDatasetId = (): string | null => useDatasets((s) => s.current?.datasetId ?? null)

/**
 * Splits the user typed in the patterns form, ready for `datasets.open`. Empty rows
 * are dropped; a row's patterns are separated by new lines (`::` is left to the engine).
 */
export function splitsFromForm(rows: ReadonlyArray<{ name: string; patterns: string; remotePatterns: string }>) {
  const lines = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
  return rows
    .map((r) => ({ name: r.name.trim(), patterns: lines(r.patterns), remotePatterns: lines(r.remotePatterns) }))
    .filter((r) => r.name && r.patterns.length > 0)
}

/**
 * A path dropped on the window. Electron (≥ 32) gives a dropped file's or folder's path
 * only through the preload's `pathOf` (webUtils.getPathForFile); a browser gives none,
 * only dropped text (a path or a file:// URL).
 */
export function pathFromDrop(dt: DataTransfer, pathOf: ((file: File) => string) | undefined = globalThis.window?.shardscopeFiles?.pathOf): string | null {
  const file = dt.files?.[0]
  if (file && pathOf) {
    const path = pathOf(file)
    if (path) return path
  }
  const text = dt.getData('text/plain') || dt.getData('text/uri-list')
  const first = text.split('\n')[0]?.trim()
  if (!first) return null
  return first.startsWith('file://') ? decodeURIComponent(first.slice('file://'.length)) : first
}

/**
 * Where a recent dataset lives, beside its name (two can share one: two demo folders, pattern
 * sets named after their splits): its folder, or its first pattern and how many more.
 */
export function describeRecentSource(source: RecentDataset['source']): string {
  if (source.folder) return source.folder
  const patterns = (source.splits ?? []).flatMap((s) => s.patterns)
  if (patterns.length === 0) return 'no patterns'
  return patterns.length === 1 ? patterns[0]! : `${patterns[0]} and ${plural(patterns.length - 1, 'more pattern')}`
}
