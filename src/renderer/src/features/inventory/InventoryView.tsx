import { startTransition, useEffect, useMemo, useState } from 'react'
import type { DatasetInventory, InventoryShard } from '@shared/contract/datasets'
import { useNavigation } from '../../app/navigation'
import { afterNextPaint } from '../../app/paint'
import { formatBytes, formatCount, plural } from '../../app/errors'
import { useDatasets, useDatasetId } from '../datasets/store'
import { useBrowser } from '../browser/store'
import { declaredClassCount, expectedSamplesOf, missingShardLines, sortShards, summarizeHistogram, unlabelledIn, type ShardColumn } from './sort'
import { useInventory } from './store'

export function InventoryView(): React.JSX.Element {
  const datasetId = useDatasetId()
  const load = useInventory((s) => s.load)
  const inventory = useInventory((s) => s.inventory)
  const loading = useInventory((s) => s.loading)
  const error = useInventory((s) => s.error)
  useEffect(() => {
    if (datasetId) void load(datasetId)
  }, [datasetId, load])
  const complete = useCompleteAfterPaint(inventory)

  if (!datasetId) return <NoDataset />
  return (
    <div className="view inventory-view">
      <header className="view-header">
        <h2>Inventory</h2>
        <button onClick={() => void load(datasetId, true)} disabled={loading}>
          Reload
        </button>
      </header>
      {loading && <div className="banner info">Reading shards…</div>}
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {inventory && (
        <>
          <MissingShards inventory={inventory} />
          {inventory.warnings.length > 0 && (
            <ul className="warnings" aria-label="Coverage warnings">
              {inventory.warnings.map((w, i) => (
                <li key={i} className="banner warn" data-testid="coverage-warning">
                  {w.message}
                  {/* The message names the first three; the rest here. */}
                  {w.uncovered.length > 3 && <span className="muted"> ({w.uncovered.slice(3).join(', ')})</span>}
                </li>
              ))}
            </ul>
          )}
          <div className="split-cards">
            {inventory.splits.map((s) => (
              <div className="stat-card" key={s.name} data-testid={`split-${s.name}`}>
                <div className="stat-title">{s.name}</div>
                <div className="stat-value" data-testid={`split-${s.name}-samples`}>
                  {formatCount(s.samples)}
                </div>
                <div className="muted small">
                  samples · <span data-testid={`split-${s.name}-shards`}>{s.shards.length}</span> {s.shards.length === 1 ? 'shard' : 'shards'} · {formatBytes(s.bytes)}
                </div>
                <SplitNotes split={s} />
              </div>
            ))}
          </div>
          <div className="inventory-body">
            <ShardTable complete={complete} />
            <ClassHistogram complete={complete} />
          </div>
        </>
      )}
    </div>
  )
}

/** Beside a shard's fields: how many of its samples have no class id the histogram counts. */
function UnlabelledNote({ shard }: { shard: InventoryShard }): React.JSX.Element | null {
  const unlabelled = unlabelledIn(shard)
  return unlabelled > 0 ? <span className="warn-text"> ({formatCount(unlabelled)} unlabelled)</span> : null
}

/** What a split card adds when the counts are not what they should be: unlabelled samples, and another count than dataset.json gives. */
function SplitNotes({ split }: { split: DatasetInventory['splits'][number] }): React.JSX.Element | null {
  const expected = useDatasets((s) => expectedSamplesOf(s.current?.manifest, split.name))
  const unlabelled = unlabelledIn(split)
  if (unlabelled === 0 && (expected === undefined || expected === split.samples)) return null
  return (
    <div className="small warn-text" data-testid={`split-${split.name}-notes`}>
      {[unlabelled > 0 && `${formatCount(unlabelled)} unlabelled`, expected !== undefined && expected !== split.samples && `dataset.json expects ${formatCount(expected)}`].filter(Boolean).join(' · ')}
    </div>
  )
}

/**
 * Rows of the shard table shown in the first paint of a new inventory; the rest and the
 * class histogram follow a frame later, as a transition. Rendering all of a 110-shard
 * dataset's rows and 200 histogram bars at once held the first paint back (a ≈ 150 ms
 * task here); as one urgent render after it, they held back a click on another view
 * just as long (≈ 50 ms of rendering, 80 ms of layout and paint), which a transition yields to.
 */
const firstPaintRows = 30

/** False for a new inventory until the frame after it was painted. */
function useCompleteAfterPaint(inventory: unknown): boolean {
  const [completeFor, setCompleteFor] = useState<unknown>(null)
  useEffect(() => {
    if (!inventory) return
    return afterNextPaint(() => startTransition(() => setCompleteFor(inventory)))
  }, [inventory])
  return inventory !== null && completeFor === inventory
}

export function NoDataset(): React.JSX.Element {
  const view = useNavigation((s) => s.view)
  const openDatasetFor = useNavigation((s) => s.openDatasetFor)
  const openDemo = useDatasets((s) => s.openDemo)
  return (
    <div className="view empty-view">
      <p>No dataset is open.</p>
      <div className="row">
        <button className="primary" onClick={() => void openDemo()}>
          Open the demo dataset
        </button>
        <button onClick={() => openDatasetFor(view)}>Open a folder…</button>
      </div>
    </div>
  )
}

const columns: Array<{ column: ShardColumn; label: string; numeric?: boolean }> = [
  { column: 'split', label: 'Split' },
  { column: 'name', label: 'Shard' },
  { column: 'bytes', label: 'Size', numeric: true },
  { column: 'samples', label: 'Samples', numeric: true },
  { column: 'fields', label: 'Fields' },
  { column: 'status', label: 'Status' }
]

function ShardTable({ complete }: { complete: boolean }): React.JSX.Element {
  const inventory = useInventory((s) => s.inventory)
  const sort = useInventory((s) => s.sort)
  const sortBy = useInventory((s) => s.sortBy)
  const showSamples = useBrowser((s) => s.showSamples)
  const show = useNavigation((s) => s.show)
  const rows = useMemo(() => sortShards(inventory?.splits.flatMap((s) => s.shards) ?? [], sort), [inventory, sort])
  const browseShard = (shard: InventoryShard) => {
    showSamples({ split: shard.split, shard: shard.name })
    show('browse')
  }
  return (
    <table className="data-table shard-table" aria-label="Shards">
      <thead>
        <tr>
          {columns.map((c) => (
            <th
              key={c.column}
              className={c.numeric ? 'num sortable' : 'sortable'}
              aria-sort={sort.column === c.column ? (sort.descending ? 'descending' : 'ascending') : 'none'}
              onClick={() => sortBy(c.column)}
            >
              {c.label}
              {sort.column === c.column ? (sort.descending ? ' ▼' : ' ▲') : ''}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {(complete ? rows : rows.slice(0, firstPaintRows)).map((s) => (
          <tr key={s.url} data-testid="shard-row" onDoubleClick={() => browseShard(s)} title="Double-click to browse this shard's samples">
            <td>{s.split}</td>
            <td className="mono">{s.name}</td>
            <td className="num">{formatBytes(s.bytes)}</td>
            <td className="num" data-testid="shard-samples">
              {formatCount(s.samples)}
            </td>
            <td className="mono">
              {s.fields.join(' ')}
              <UnlabelledNote shard={s} />
            </td>
            <td>
              <span className={`badge status-${s.status}`}>{s.status}</span>
              {s.problems.length > 0 && <div className="small problem-text">{s.problems.join('; ')}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function ClassHistogram({ complete }: { complete: boolean }): React.JSX.Element | null {
  const inventory = useInventory((s) => s.inventory)
  const split = useInventory((s) => s.histogramSplit)
  const showHistogramOf = useInventory((s) => s.showHistogramOf)
  const classNames = useDatasets((s) => s.current?.classNames ?? emptyNames)
  const showSamples = useBrowser((s) => s.showSamples)
  const show = useNavigation((s) => s.show)
  const data = inventory?.splits.find((s) => s.name === split)
  const classCount = useDatasets((s) => declaredClassCount(s.current?.manifest))
  const summary = useMemo(() => summarizeHistogram(data?.classHistogram ?? [], classNames, classCount), [data, classNames, classCount])
  if (!inventory || !data) return null
  const width = 420
  const height = 160
  const barWidth = summary.bars.length > 0 ? width / summary.bars.length : 0
  return (
    <section className="card histogram-card">
      <div className="row">
        <h3>Class histogram</h3>
        <select aria-label="Histogram split" value={split ?? ''} onChange={(e) => showHistogramOf(e.target.value)}>
          {inventory.splits.map((s) => (
            <option key={s.name}>{s.name}</option>
          ))}
        </select>
      </div>
      {!complete ? null : summary.classes === 0 ? (
        <p className="muted">No labels in this split.</p>
      ) : (
        <>
          <svg className="histogram" width={width} height={height} role="img" aria-label={`Class histogram of ${split}`}>
            {summary.bars.map((b) => {
              const h = summary.max > 0 ? (b.count / summary.max) * (height - 4) : 0
              return (
                <rect
                  key={b.classId}
                  x={b.classId * barWidth}
                  y={height - h}
                  width={Math.max(1, barWidth - (barWidth > 3 ? 1 : 0))}
                  height={h}
                  className={b.outside ? 'bar outside' : b.count === 0 ? 'bar empty' : 'bar'}
                  onClick={() => {
                    showSamples({ split: data.name, classId: b.classId })
                    show('browse')
                  }}
                >
                  <title>
                    {b.label}: {formatCount(b.count)}
                  </title>
                </rect>
              )
            })}
          </svg>
          <p className="muted small">
            {plural(summary.classes, 'class', 'classes')} · {summary.min === summary.max ? formatCount(summary.min) : `${formatCount(summary.min)}–${formatCount(summary.max)}`} samples per class
            {summary.empty > 0 && <strong className="warn-text"> · {plural(summary.empty, 'class has', 'classes have')} no sample</strong>}
            {summary.outOfRange.samples > 0 && (
              <strong className="warn-text" data-testid="labels-out-of-range">
                {' '}
                · {plural(summary.outOfRange.samples, 'sample carries', 'samples carry')} {summary.outOfRange.labels.length === 1 ? 'label' : 'labels'} {summary.outOfRange.labels.join(', ')}, outside 0…
                {(classCount ?? 1) - 1}
              </strong>
            )}
            . Click a bar to browse that class.
          </p>
        </>
      )}
    </section>
  )
}

const emptyNames: string[] = []

/** Shards the patterns name that do not exist or cannot be read, said once on top (each row also says it). */
function MissingShards({ inventory }: { inventory: DatasetInventory }): React.JSX.Element | null {
  const lines = missingShardLines(inventory)
  if (lines.length === 0) return null
  return (
    <ul className="warnings" aria-label="Missing shards">
      {lines.map((l) => (
        <li key={l.split} className="banner warn" data-testid="missing-shards">
          <strong>{l.split}:</strong> {l.text}.
        </li>
      ))}
    </ul>
  )
}
