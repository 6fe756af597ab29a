import { useCallback, useEffect, useRef, useState } from 'react'
import type { PathEntry } from '@shared/contract/datasets'
import { getClient } from '../../api/client'
import { useNavigation } from '../../app/navigation'
import { formatCount } from '../../app/errors'
import { describeRecentSource, pathFromDrop, splitsFromForm, useDatasets } from './store'

export function DatasetsView(): React.JSX.Element {
  const opening = useDatasets((s) => s.opening)
  const error = useDatasets((s) => s.error)
  const current = useDatasets((s) => s.current)
  const loadRecent = useDatasets((s) => s.loadRecent)
  const dismissError = useDatasets((s) => s.dismissError)
  useEffect(() => {
    void loadRecent()
  }, [loadRecent])

  return (
    <div className="view datasets-view">
      <header className="view-header">
        <h2>Datasets</h2>
        {current && (
          <span className="muted">
            Open: <strong data-testid="current-dataset">{current.name}</strong>
          </span>
        )}
      </header>
      {opening && <IndexingBanner label={opening} />}
      {error && (
        <div className="banner error dismissible" role="alert">
          <span>{error}</span>
          <button type="button" className="link" aria-label="Dismiss the error" onClick={dismissError}>
            ×
          </button>
        </div>
      )}
      <div className="cards">
        <DemoCard />
        <FolderCard />
        <PatternsCard />
        <RecentCard />
      </div>
    </div>
  )
}

function IndexingBanner({ label }: { label: string }): React.JSX.Element {
  const progress = useDatasets((s) => s.indexProgress)
  const rows = Object.values(progress)
  return (
    <div className="banner info" role="status">
      Opening {label}…
      {rows.map((p) => (
        <span key={p.split} className="index-progress">
          {' '}
          {p.split}: {p.shardsDone}/{p.shardsTotal} shards indexed, {formatCount(p.samples)} samples
        </span>
      ))}
    </div>
  )
}

/** After an open: the Inventory, or the view that sent the user here for a dataset. */
function useShowOpened() {
  const showOpened = useNavigation((s) => s.showOpened)
  return (ok: boolean) => {
    if (ok) showOpened()
  }
}

function DemoCard(): React.JSX.Element {
  const openDemo = useDatasets((s) => s.openDemo)
  const busy = useDatasets((s) => s.opening !== null)
  const after = useShowOpened()
  return (
    <section className="card">
      <h3>Demo dataset</h3>
      <p className="muted">Tiny-ImageNet layout: 64×64 JPEGs with class labels, generated on first use.</p>
      <button className="primary" disabled={busy} onClick={() => void openDemo().then(after)}>
        Open the demo dataset
      </button>
    </section>
  )
}

function FolderCard(): React.JSX.Element {
  const open = useDatasets((s) => s.open)
  const dismissError = useDatasets((s) => s.dismissError)
  const busy = useDatasets((s) => s.opening !== null)
  const after = useShowOpened()
  const [path, setPath] = useState('')
  // The list with the text it completes: the box may hold newer text than the last answer.
  const [completion, setCompletion] = useState<{ prefix: string; entries: PathEntry[] }>({ prefix: '', entries: [] })
  const entries = completion.entries
  const clearEntries = () => setCompletion({ prefix: '', entries: [] })
  const [highlight, setHighlight] = useState(-1)
  const [dragOver, setDragOver] = useState(false)
  const requestSeq = useRef(0)
  const inputRef = useRef<HTMLInputElement>(null)
  const completionTimer = useRef<ReturnType<typeof setTimeout>>(undefined)
  // Only Electron has a native folder dialog; in a browser the path field (with completion) is the way.
  const dialogSupported = !!window.shardscope

  /** Asks for the completions of `prefix`; an answer overtaken by a newer question is dropped. */
  const complete = useCallback((prefix: string): Promise<PathEntry[] | null> => {
    clearTimeout(completionTimer.current)
    const seq = ++requestSeq.current
    return getClient()
      .call('datasets.completePath', { prefix, limit: 30 })
      .then((r) => r.entries)
      .catch(() => [])
      .then((list) => {
        if (seq !== requestSeq.current) return null
        setCompletion({ prefix, entries: list })
        setHighlight(-1)
        return list
      })
  }, [])

  useEffect(() => {
    if (!path) return
    const t = (completionTimer.current = setTimeout(() => void complete(path), 120))
    return () => clearTimeout(t)
  }, [path, complete])

  const openFolder = (folder: string) => {
    // No completion list pops up (nor is asked for) once the folder is being opened.
    clearTimeout(completionTimer.current)
    requestSeq.current++
    clearEntries()
    if (folder.trim()) void open({ folder: folder.trim() }).then(after)
  }
  const accept = (entry: PathEntry) => {
    setPath(entry.kind === 'directory' ? entry.path.replace(/\/?$/, '/') : entry.path)
  }

  return (
    <section
      className={`card drop-zone${dragOver ? ' drag-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault()
        setDragOver(true)
      }}
      onDragLeave={() => setDragOver(false)}
      onDrop={(e) => {
        e.preventDefault()
        setDragOver(false)
        const dropped = pathFromDrop(e.dataTransfer)
        if (dropped) {
          setPath(dropped)
          openFolder(dropped)
        }
      }}
    >
      <h3>Open a shard folder</h3>
      <p className="muted">Type a path (Tab completes){dialogSupported ? ', choose one' : ''} or drop a folder here. Splits come from dataset.json or from shard names like train-000000.tar.</p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault()
          openFolder(path)
        }}
      >
        <div className="completion">
          <input
            ref={inputRef}
            aria-label="Folder path"
            placeholder="/data/tiny-imagenet-wds"
            value={path}
            spellCheck={false}
            onChange={(e) => {
              setPath(e.target.value)
              // A new path: the error about the last one no longer stands.
              dismissError()
              if (!e.target.value) clearEntries()
            }}
            onKeyDown={(e) => {
              if (entries.length === 0) return
              if (e.key === 'ArrowDown') {
                e.preventDefault()
                setHighlight((h) => Math.min(entries.length - 1, h + 1))
              } else if (e.key === 'ArrowUp') {
                e.preventDefault()
                setHighlight((h) => Math.max(0, h - 1))
              } else if (e.key === 'Tab') {
                e.preventDefault()
                if (completion.prefix === path) {
                  const pick = entries[Math.max(0, highlight)]
                  if (pick) accept(pick)
                } else {
                  // The list answers older text (a paste, fast typing): complete what the box holds now.
                  const typed = path
                  void complete(typed).then((list) => {
                    if (list?.[0] && inputRef.current?.value === typed) accept(list[0])
                  })
                }
              } else if (e.key === 'Enter' && highlight >= 0) {
                const pick = entries[highlight]
                if (pick) {
                  e.preventDefault()
                  accept(pick)
                }
              } else if (e.key === 'Escape') clearEntries()
            }}
          />
          {entries.length > 0 && (
            <ul className="completion-list" role="listbox">
              {entries.map((entry, i) => (
                <li
                  key={entry.path}
                  role="option"
                  aria-selected={i === highlight}
                  className={i === highlight ? 'active' : ''}
                  onMouseDown={(e) => {
                    e.preventDefault()
                    accept(entry)
                  }}
                >
                  <span className="entry-kind">{entry.kind === 'directory' ? '📁' : '▤'}</span> {entry.name}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button className="primary" type="submit" disabled={busy || !path.trim()}>
          Open folder
        </button>
        {dialogSupported && (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void getClient()
                .call('system.chooseFolder', { title: 'Open a folder of shards' })
                .then(({ folder }) => {
                  if (folder) {
                    setPath(folder)
                    openFolder(folder)
                  }
                })
            }
          >
            Choose…
          </button>
        )}
      </form>
    </section>
  )
}

interface SplitRow {
  name: string
  patterns: string
  remotePatterns: string
}

function PatternsCard(): React.JSX.Element {
  const open = useDatasets((s) => s.open)
  const busy = useDatasets((s) => s.opening !== null)
  const after = useShowOpened()
  const [name, setName] = useState('')
  const [rows, setRows] = useState<SplitRow[]>([
    { name: 'train', patterns: '', remotePatterns: '' },
    { name: 'val', patterns: '', remotePatterns: '' }
  ])
  const splits = splitsFromForm(rows)
  const update = (i: number, patch: Partial<SplitRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)))

  return (
    <section className="card wide">
      <h3>Open URL patterns</h3>
      <p className="muted">
        Brace patterns as in WebDataset: <code>file:data/train/train-{'{000000..000002}'}.tar</code>, plain paths, http(s)://, gs://. One pattern
        per line; remote copies are compared by the verifier.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (splits.length > 0) void open({ splits, ...(name.trim() ? { name: name.trim() } : {}) }, name.trim() || 'patterns').then(after)
        }}
      >
        <table className="pattern-table">
          <thead>
            <tr>
              <th>Split</th>
              <th>Patterns (the copy you train on)</th>
              <th>Other copies to compare (optional)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Split ${i + 1} name`} value={r.name} onChange={(e) => update(i, { name: e.target.value })} />
                </td>
                <td>
                  <textarea
                    aria-label={`${r.name || 'split'} patterns`}
                    rows={1}
                    spellCheck={false}
                    value={r.patterns}
                    onChange={(e) => update(i, { patterns: e.target.value })}
                  />
                </td>
                <td>
                  <textarea
                    aria-label={`${r.name || 'split'} remote patterns`}
                    rows={1}
                    spellCheck={false}
                    value={r.remotePatterns}
                    onChange={(e) => update(i, { remotePatterns: e.target.value })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="row">
          <input aria-label="Dataset name" placeholder="Name (optional)" value={name} onChange={(e) => setName(e.target.value)} />
          <button type="button" onClick={() => setRows((rs) => [...rs, { name: '', patterns: '', remotePatterns: '' }])}>
            Add split
          </button>
          <button className="primary" type="submit" disabled={busy || splits.length === 0}>
            Open patterns
          </button>
        </div>
      </form>
    </section>
  )
}

function RecentCard(): React.JSX.Element {
  const recent = useDatasets((s) => s.recent)
  const open = useDatasets((s) => s.open)
  const busy = useDatasets((s) => s.opening !== null)
  const after = useShowOpened()
  return (
    <section className="card">
      <h3>Recent</h3>
      {recent.length === 0 && <p className="muted">Datasets you open appear here.</p>}
      <ul className="recent-list">
        {recent.map((r) => (
          <li key={`${r.name}-${r.openedAt}`}>
            <button
              className="link"
              disabled={busy}
              title={r.source.folder ?? r.source.splits?.map((s) => s.patterns.join(' ')).join(' · ')}
              onClick={() => {
                const source = { ...r.source, splits: r.source.splits?.map((s) => ({ ...s })) }
                void open(source, r.name).then(after)
              }}
            >
              {r.name}
            </button>
            {/* Two datasets can share a name (two demo folders): where each lives tells them apart. */}
            <span className="muted small mono"> {describeRecentSource(r.source)}</span>
            <span className="muted small"> · {new Date(r.openedAt).toLocaleString()}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}
