import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { useVirtualizer, type VirtualItem } from '@tanstack/react-virtual'
import type { SampleRow } from '@shared/contract/datasets'
import { formatCount } from '../../app/errors'
import { afterNextPaint } from '../../app/paint'
import { useDatasets, useDatasetId } from '../datasets/store'
import { useInventory } from '../inventory/store'
import { NoDataset } from '../inventory/InventoryView'
import { classLabel } from '../inventory/sort'
import { CELL_HEIGHT, OVERSCAN_ROWS, chosenShardValue, describeFilter, gridColumns, lastGridSize, moveSelection, problemChoices, shardChoices } from './pages'
import type { ThumbnailUrl } from './thumbnails'
import { useBrowser } from './store'
import { SampleDetailPanel } from './SampleDetailPanel'

export function BrowserView(): React.JSX.Element {
  // The app shell binds the browser to the open dataset (App.tsx), before this view mounts.
  const datasetId = useDatasetId()
  const detailOpen = useBrowser((s) => s.detailOpen)
  if (!datasetId) return <NoDataset />
  return (
    <div className="view browser-view">
      <FilterBar datasetId={datasetId} />
      <div className="browser-body">
        <SampleGrid />
        {detailOpen && <SampleDetailPanel datasetId={datasetId} />}
      </div>
    </div>
  )
}

function FilterBar({ datasetId }: { datasetId: string }): React.JSX.Element {
  const filter = useBrowser((s) => s.filter)
  const origin = useBrowser((s) => s.origin)
  const total = useBrowser((s) => s.total)
  const error = useBrowser((s) => s.error)
  const notice = useBrowser((s) => s.notice)
  const setFilter = useBrowser((s) => s.setFilter)
  const showSamples = useBrowser((s) => s.showSamples)
  const jump = useBrowser((s) => s.jump)
  const splits = useDatasets((s) => s.current?.splits ?? emptySplits)
  const classNames = useDatasets((s) => s.current?.classNames ?? emptyNames)
  const inventory = useInventory((s) => s.inventory)
  const loadInventory = useInventory((s) => s.load)
  const [jumpText, setJumpText] = useState('')
  // The shard list comes from the inventory: asked for once the first page of samples is on
  // screen, so that its answer does not hold up the first screen's images at the back end.
  const firstPageShown = useBrowser((s) => s.total !== null)
  useEffect(() => {
    if (firstPageShown) return afterNextPaint(() => void loadInventory(datasetId))
  }, [datasetId, firstPageShown, loadInventory])

  const shards = useMemo(() => shardChoices(inventory?.splits ?? [], filter.split), [inventory, filter.split])
  const chosenShard = chosenShardValue(shards, filter)
  const classCount = Math.max(classNames.length, ...(inventory?.splits.map((s) => s.classHistogram.length) ?? [0]))
  // Hundreds of classes and shards: their <option>s are made in the first idle moment after
  // the first screen of samples (or when a list is used before that), not on the way to it.
  const [listsUsed, setListsUsed] = useState(false)
  const showLists = (): void => setListsUsed(true)
  useEffect(() => {
    if (!firstPageShown || listsUsed) return
    const idle = requestIdleCallback(() => setListsUsed(true), { timeout: 2000 })
    return () => cancelIdleCallback(idle)
  }, [firstPageShown, listsUsed])

  return (
    <div className="filter-bar">
      <label>
        Split
        <select aria-label="Split filter" value={filter.split ?? ''} onChange={(e) => setFilter({ split: e.target.value || undefined })} disabled={!!filter.keys}>
          <option value="">all</option>
          {splits.map((s) => (
            <option key={s.name}>{s.name}</option>
          ))}
        </select>
      </label>
      <label>
        Shard
        <select
          aria-label="Shard filter"
          value={chosenShard}
          onChange={(e) => {
            const choice = shards.find((c) => c.value === e.target.value)
            setFilter(choice ? { split: choice.split, shard: choice.name } : { shard: undefined })
          }}
          onFocus={showLists}
          onPointerDown={showLists}
          disabled={!!filter.keys}
        >
          <option value="">all</option>
          {(listsUsed ? shards : shards.filter((c) => c.value === chosenShard)).map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Class
        <select
          aria-label="Class filter"
          value={filter.classId ?? ''}
          onChange={(e) => setFilter({ classId: e.target.value === '' ? undefined : Number(e.target.value) })}
          onFocus={showLists}
          onPointerDown={showLists}
          disabled={!!filter.keys}
        >
          <option value="">all</option>
          {(listsUsed ? Array.from({ length: classCount }, (_, id) => id) : filter.classId === undefined ? [] : [filter.classId]).map((id) => (
            <option key={id} value={id}>
              {classLabel(id, classNames)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Problem
        <select aria-label="Problem filter" value={filter.problem ?? ''} onChange={(e) => setFilter({ problem: e.target.value || undefined })} disabled={!!filter.keys}>
          {problemChoices.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <form
        className="jump"
        onSubmit={(e) => {
          e.preventDefault()
          void jump(jumpText)
        }}
      >
        <input
          aria-label="Jump to key or index"
          placeholder="Jump to key or index"
          title="A sample key, an index within the split shown (or the first split), or split:index such as val:164"
          value={jumpText}
          onChange={(e) => setJumpText(e.target.value)}
        />
        <button type="submit">Go</button>
      </form>
      <div className="filter-summary">
        <span data-testid="grid-total">{total === null ? '…' : formatCount(total)}</span> {total === 1 ? 'sample' : 'samples'} · {origin ?? describeFilter(filter, classNames)}{' '}
        {(origin || Object.keys(filter).length > 0) && (
          <button className="link" onClick={() => showSamples({}, null)}>
            clear
          </button>
        )}
        {' '}
        <span className="grid-hint small">double-click or Enter shows a sample&apos;s fields; arrows move</span>
      </div>
      {error && (
        <div className="banner error small" role="alert">
          {error}
        </div>
      )}
      {notice && (
        <div className="banner warn small" role="status" data-testid="jump-notice">
          {notice}
        </div>
      )}
    </div>
  )
}

function SampleGrid(): React.JSX.Element {
  // Null while the listing's first page is on its way: an empty grid then, not "no sample matches".
  const listed = useBrowser((s) => s.total)
  const total = listed ?? 0
  const pagesVersion = useBrowser((s) => s.pagesVersion)
  const selected = useBrowser((s) => s.selected)
  const scrollRequest = useBrowser((s) => s.scrollRequest)
  const { ensureRange, loadThumbnails, select, openDetail, closeDetail } = useBrowser.getState()
  const parentRef = useRef<HTMLDivElement>(null)
  // The width the grid had last time: opening Browse again renders the right columns at once, not a guess and then again.
  const [width, setWidth] = useState(lastGridSize.width)

  useLayoutEffect(() => {
    const el = parentRef.current
    if (!el) return
    const measure = (): void => {
      lastGridSize.height = el.clientHeight
      setWidth((lastGridSize.width = el.clientWidth))
    }
    measure()
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  const columns = gridColumns(width)
  const rowCount = Math.ceil(total / columns)
  // TanStack Virtual re-renders through its own state; the React Compiler just skips this component.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rowCount,
    getScrollElement: () => parentRef.current,
    estimateSize: () => CELL_HEIGHT,
    // The first render already has the rows on screen, instead of none and then again once the grid is measured.
    initialRect: { ...lastGridSize },
    // Re-render after the scroll event, not synchronously inside it: the frame is not held up by React.
    useFlushSync: false,
    // One row beyond the screen: more would queue images ahead of the visible ones (a browser opens 6 connections per host).
    overscan: OVERSCAN_ROWS
  })
  const items = virtualizer.getVirtualItems()
  // getVirtualItems returns the same array while the visible range holds, so a scroll within a row re-renders nothing below.
  const rows = useMemo(() => <GridRows items={items} columns={columns} total={total} selected={selected} />, [items, columns, total, selected])
  const firstRow = items[0]?.index ?? 0
  const lastRow = items[items.length - 1]?.index ?? 0

  useEffect(() => {
    if (total > 0) ensureRange(firstRow * columns, (lastRow + 1) * columns - 1)
  }, [firstRow, lastRow, columns, total, ensureRange])

  // Images of the rows on screen (and the overscan row), once their page is here: one batch per change in serve mode.
  useEffect(() => {
    if (total > 0) loadThumbnails(firstRow * columns, (lastRow + 1) * columns - 1)
  }, [firstRow, lastRow, columns, total, pagesVersion, loadThumbnails])

  // Before paint: a jump shows the target's rows in the next frame, not the old rows with a new selection first.
  useLayoutEffect(() => {
    if (scrollRequest) virtualizer.scrollToIndex(Math.floor(scrollRequest.position / columns), { align: 'auto' })
  }, [scrollRequest, columns, virtualizer])

  return (
    <div
      ref={parentRef}
      className="sample-grid"
      tabIndex={0}
      role="grid"
      aria-label="Samples"
      aria-rowcount={rowCount}
      data-testid="sample-grid"
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault()
          openDetail()
        } else if (e.key === 'Escape') closeDetail()
        else {
          const next = moveSelection(selected ?? 0, e.key, columns, total, Math.max(1, Math.floor((parentRef.current?.clientHeight ?? 600) / CELL_HEIGHT)))
          if (next !== (selected ?? 0) || selected === null) {
            if (e.key.startsWith('Arrow') || e.key.startsWith('Page') || e.key === 'Home' || e.key === 'End') {
              e.preventDefault()
              select(next)
            }
          }
        }
      }}
    >
      {/* Cells share the row's width evenly: no strip left over at the right of a wide window. */}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative', width: '100%', ['--columns' as string]: columns }}>{rows}</div>
      {listed === 0 && <div className="muted grid-empty">No sample matches this filter.</div>}
    </div>
  )
}

/** The rows on screen; the same elements (so React skips them) until the visible range, a page, an image batch or the selection changes. */
function GridRows({ items, columns, total, selected }: { items: VirtualItem[]; columns: number; total: number; selected: number | null }): React.JSX.Element {
  useBrowser((s) => s.pagesVersion)
  useBrowser((s) => s.thumbnailsVersion)
  const { row, thumbnailUrl, select, openDetail } = useBrowser.getState()
  return (
    <>
      {items.map((vr) => (
        <div key={vr.key} className="grid-row" role="row" style={{ position: 'absolute', top: 0, left: 0, height: CELL_HEIGHT, transform: `translateY(${vr.start}px)` }}>
          {Array.from({ length: columns }, (_, c) => {
            const position = vr.index * columns + c
            if (position >= total) return null
            const sample = row(position)
            return (
              <SampleCell
                key={c}
                position={position}
                sample={sample}
                selected={position === selected}
                src={sample ? thumbnailUrl(sample) : undefined}
                onSelect={select}
                onOpen={openDetail}
              />
            )
          })}
        </div>
      ))}
    </>
  )
}

interface CellProps {
  position: number
  sample: SampleRow | undefined
  selected: boolean
  src: ThumbnailUrl
  onSelect(position: number, scroll?: boolean): void
  onOpen(position: number): void
}

/** Memoised: while scrolling, only cells that enter the screen (or whose page arrives) render. */
const SampleCell = memo(function SampleCell({ position, sample, selected, src, onSelect, onOpen }: CellProps): React.JSX.Element {
  return (
    <div
      className={`sample-cell${selected ? ' selected' : ''}`}
      role="gridcell"
      aria-selected={selected}
      data-position={position}
      data-key={sample?.key}
      data-split={sample?.split}
      data-index={sample?.index}
      data-label={sample?.label ?? ''}
      onClick={() => onSelect(position, false)}
      onDoubleClick={() => onOpen(position)}
    >
      <div className="thumb">
        {src === 'broken' ? (
          <span className="thumb-broken small">cannot decode</span>
        ) : src ? (
          <Thumbnail key={src} src={src} alt={sample?.key ?? ''} priority={selected} />
        ) : (
          <span className="muted small">{sample && !sample.imageField ? 'no image' : ''}</span>
        )}
      </div>
      <div className="cell-label" title={sample ? `${sample.key} · ${sample.shard}` : undefined}>
        {sample ? (
          <>
            <span className="label-id">{sample.label ?? '—'}</span> <span className="class-name">{sample.className ?? ''}</span>
          </>
        ) : (
          '…'
        )}
      </div>
    </div>
  )
})

/** A thumbnail, or a plain note when the image does not decode (the verifier's corrupt samples). */
function Thumbnail({ src, alt, priority }: { src: string; alt: string; priority: boolean }): React.JSX.Element {
  const [broken, setBroken] = useState(false)
  if (broken) return <span className="thumb-broken small">cannot decode</span>
  // The selected sample (a jump target) loads ahead of its neighbours.
  return (
    <img src={src} alt={alt} width={96} height={96} loading="eager" decoding="async" fetchPriority={priority ? 'high' : 'auto'} draggable={false} onError={() => setBroken(true)} />
  )
}

const emptySplits: never[] = []
const emptyNames: string[] = []
