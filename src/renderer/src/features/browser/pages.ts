/**
 * The grid's window onto a filtered listing of up to millions of samples: which
 * pages a visible range needs, a bounded cache of fetched pages (least recently used
 * pages go first), and grid geometry. Pure, so it is tested without a browser.
 */
import type { SampleFilter, SampleRow } from '@shared/contract/datasets'
import { formatCount, plural } from '../../app/errors'
import { classLabel } from '../inventory/sort'

export const PAGE_SIZE = 200

/** Page numbers covering positions [first, last] (inclusive), clamped to the listing. */
export function pagesForRange(first: number, last: number, total: number, pageSize = PAGE_SIZE): number[] {
  if (total <= 0 || last < first) return []
  const lo = Math.max(0, first)
  const hi = Math.min(total - 1, last)
  if (hi < lo) return []
  const pages: number[] = []
  for (let p = Math.floor(lo / pageSize); p <= Math.floor(hi / pageSize); p++) pages.push(p)
  return pages
}

/** Fetched pages of one listing; at most `capacity` pages are kept so memory stays flat while scrolling 100,000 samples. */
export class PageCache {
  private pages = new Map<number, SampleRow[]>()
  constructor(
    readonly capacity = 40,
    readonly pageSize = PAGE_SIZE
  ) {}

  has(page: number): boolean {
    return this.pages.has(page)
  }

  put(page: number, rows: SampleRow[]): void {
    this.pages.delete(page)
    this.pages.set(page, rows)
    while (this.pages.size > this.capacity) {
      const oldest = this.pages.keys().next().value as number
      this.pages.delete(oldest)
    }
  }

  /** The row at a listing position, or undefined while its page is not fetched; reading a page marks it recently used. */
  row(position: number): SampleRow | undefined {
    const page = Math.floor(position / this.pageSize)
    const rows = this.pages.get(page)
    if (!rows) return undefined
    this.pages.delete(page)
    this.pages.set(page, rows)
    return rows[position - page * this.pageSize]
  }

  get size(): number {
    return this.pages.size
  }

  /** The image field a split's rows here have (the first found), or undefined; marks nothing as used. */
  imageFieldOf(split: string): string | undefined {
    for (const rows of this.pages.values()) {
      const field = rows.find((r) => r.split === split && r.imageField)?.imageField
      if (field) return field
    }
    return undefined
  }
}

/** Columns that fit a width, at least one. */
export function columnsFor(widthPx: number, cellWidthPx: number): number {
  return Math.max(1, Math.floor(widthPx / cellWidthPx))
}

/** A grid cell's size in CSS pixels. */
export const CELL_WIDTH = 116
export const CELL_HEIGHT = 136
/** Rows rendered beyond the screen. */
export const OVERSCAN_ROWS = 1
/** The grid's inner padding, taken from its width before columns are counted. */
const GRID_PADDING = 8

/** The columns of a grid this wide. */
export function gridColumns(widthPx: number): number {
  return columnsFor(widthPx - GRID_PADDING, CELL_WIDTH)
}

/** Cells the grid renders at the top of a listing: the rows on screen and the overscan. */
export function cellsOnScreen(size: { width: number; height: number }): number {
  return gridColumns(size.width) * (Math.ceil(size.height / CELL_HEIGHT) + OVERSCAN_ROWS)
}

/**
 * The grid's size in CSS pixels when it was last measured; before that, a guess from the
 * window less the layout's margins. Kept outside React so the first render of Browse
 * (and the store asking for the first screen's images) use it.
 */
export const lastGridSize =
  typeof window === 'undefined'
    ? { width: 800, height: 600 }
    : { width: Math.max(CELL_WIDTH, window.innerWidth - 210), height: Math.max(CELL_HEIGHT, window.innerHeight - 120) }

/** Where keyboard navigation moves the selection in a grid of `columns` columns. */
export function moveSelection(position: number, key: string, columns: number, total: number, rowsPerPage = 5): number {
  if (total <= 0) return 0
  const delta: Record<string, number> = {
    ArrowLeft: -1,
    ArrowRight: 1,
    ArrowUp: -columns,
    ArrowDown: columns,
    PageUp: -columns * rowsPerPage,
    PageDown: columns * rowsPerPage
  }
  if (key === 'Home') return 0
  if (key === 'End') return total - 1
  const d = delta[key]
  if (d === undefined) return position
  return Math.min(total - 1, Math.max(0, position + d))
}

/**
 * What the user typed in "jump to": a bare number is a sample index in the split
 * being shown (or the first split); `split:123` names the split; anything else is a key.
 */
export function parseJumpTarget(text: string, defaultSplit: string | undefined): { key: string } | { split: string; index: number } | null {
  const t = text.trim()
  if (!t) return null
  const m = /^(?:([\w.-]+):)?#?(\d+)$/.exec(t)
  if (m) {
    const split = m[1] ?? defaultSplit
    if (split) return { split, index: Number(m[2]) }
  }
  return { key: t }
}

/**
 * Why a jump found nothing, in words that say how to ask instead: indexes count within a
 * split, so with all splits shown a bare number means the first split's sample.
 */
export function noSampleMessage(
  text: string,
  target: { key: string } | { split: string; index: number },
  filter: SampleFilter,
  existsOutsideFilter: boolean,
  splits: ReadonlyArray<{ name: string; samples?: number }>
): string {
  const t = text.trim()
  if (existsOutsideFilter) return `Sample ${t} is not among the samples this filter shows; clear the filter to see it.`
  if ('index' in target) {
    const size = splits.find((s) => s.name === target.split)?.samples
    const range = size === undefined ? '' : size === 0 ? ' (it is empty)' : ` (it has ${formatCount(size)}: 0 … ${formatCount(size - 1)})`
    // Another split to name, where the index exists in it (or its size is not known yet).
    const other = splits.find((s) => s.name !== target.split && (s.samples === undefined || target.index < s.samples))
    const implicit = !/^[\w.-]+:/.test(t) && filter.split === undefined && other !== undefined
    return `No sample ${target.index} in ${target.split}${range}${implicit ? `: indexes count within each split; type another split's name first, e.g. ${other.name}:${target.index}` : ''}.`
  }
  // Every split was looked in: a key the filter hides is answered as outside the filter above.
  return `No sample with key ${t}.`
}

/**
 * After a jump to a key that more than one sample has: which one the grid shows, and how to
 * reach the others (a sample in both train and val flatters the validation figures; a key
 * twice in one split is one sample to webdataset's loaders, which group by key).
 */
export function otherCopiesMessage(key: string, shown: { split: string; index: number }, elsewhere: ReadonlyArray<{ split: string; index: number }>): string {
  const others = elsewhere.map((e) => `${e.split}:${e.index}`)
  const them = others.length === 1 ? `the other is ${others[0]}` : `the others are ${others.join(', ')}`
  const splits = new Set([shown.split, ...elsewhere.map((e) => e.split)]).size
  const where = splits > 1 ? `is in ${splits} splits` : `names ${elsewhere.length + 1} samples in ${shown.split}`
  return `Key ${key} ${where}: this is ${shown.split}:${shown.index}; ${them} (type it to jump there).`
}

/** A Shard filter choice: the shard's split and name, the option's value naming both, and its text. */
export interface ShardChoice {
  split: string
  name: string
  value: string
  label: string
}

/**
 * The Shard filter's choices: the shards of the split shown (of every split under "all"),
 * each with its split, since two splits may hold files of one name (a val pattern naming a
 * train shard); such a name is followed by its split.
 */
export function shardChoices(splits: ReadonlyArray<{ name: string; shards: ReadonlyArray<{ name: string }> }>, split: string | undefined): ShardChoice[] {
  const listed = splits.filter((s) => split === undefined || s.name === split).flatMap((s) => s.shards.map((sh) => ({ split: s.name, name: sh.name })))
  const count = new Map<string, number>()
  for (const c of listed) count.set(c.name, (count.get(c.name) ?? 0) + 1)
  return listed.map((c) => ({ ...c, value: JSON.stringify([c.split, c.name]), label: count.get(c.name)! > 1 ? `${c.name} (${c.split})` : c.name }))
}

/** The choice the filter names ('' for all): its split's shard, or the first of that name when no split is set. */
export function chosenShardValue(choices: readonly ShardChoice[], filter: SampleFilter): string {
  if (filter.shard === undefined) return ''
  return choices.find((c) => c.name === filter.shard && (filter.split === undefined || c.split === filter.split))?.value ?? ''
}

/** The Problem filter's choices: the value `datasets.samples` takes, and the words the user reads. */
export const problemChoices: ReadonlyArray<readonly [string, string]> = [
  ['', 'any or none'],
  ['any', 'any problem'],
  ['no-label', 'no readable label'],
  ['non-adjacent-key', 'non-adjacent key'],
  ['duplicate-field', 'duplicate field'],
  ['truncated', 'truncated shard']
]

/** One line describing a filter, shown above the grid ("val · shard val-000001.tar · class 3 dog"). */
export function describeFilter(filter: SampleFilter, classNames: readonly string[]): string {
  const parts: string[] = []
  if (filter.split) parts.push(filter.split)
  if (filter.shard) parts.push(`shard ${filter.shard}`)
  if (filter.classId !== undefined) parts.push(`class ${classLabel(filter.classId, classNames)}`)
  if (filter.problem) parts.push(problemChoices.find(([value]) => value === filter.problem)?.[1] ?? `problem ${filter.problem}`)
  if (filter.keys) parts.push(plural(filter.keys.length, 'chosen sample'))
  return parts.length ? parts.join(' · ') : 'all samples'
}

