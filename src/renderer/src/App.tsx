/**
 * The app shell: a left nav over the five views (Datasets, Inventory, Verify,
 * Browse, Train). Each view lives in its feature folder with its own store; the
 * shell only switches between them and starts the event listeners once.
 */
import { useEffect, useState } from 'react'
import { getClient } from './api/client'
import type { ConnectionState } from './api/ws-client'
import { useNavigation, views, type ViewName } from './app/navigation'
import { formatCount } from './app/errors'
import { DatasetsView } from './features/datasets/DatasetsView'
import { askWithEachOpen, useDatasets } from './features/datasets/store'
import { InventoryView } from './features/inventory/InventoryView'
import { VerifyView } from './features/verify/VerifyView'
import { findingCountFor, useVerify } from './features/verify/store'
import { BrowserView } from './features/browser/BrowserView'
import { useBrowser } from './features/browser/store'
import { TrainView } from './features/train/TrainView'
import { useTrain } from './features/train/store'
import { useInventory } from './features/inventory/store'

const viewComponents: Record<ViewName, () => React.JSX.Element> = {
  datasets: DatasetsView,
  inventory: InventoryView,
  verify: VerifyView,
  browse: BrowserView,
  train: TrainView
}

export function App(): React.JSX.Element {
  const view = useNavigation((s) => s.view)
  useEffect(() => {
    // The browser binds to a dataset the moment it opens. Each open asks for the grid's first
    // page and images with it, so they come in the open's answer: the grid does not wait for a
    // second round trip, asked for from a page busy rendering the view after the open.
    askWithEachOpen({ request: () => useBrowser.getState().firstPageRequest(), received: (datasetId, page) => useBrowser.getState().receiveFirstPage(datasetId, page) })
    const bindBrowser = useDatasets.subscribe((s) => useBrowser.getState().setDataset(s.current?.datasetId ?? null))
    // The Electron menu's Re-run does what the Train view's button does, there.
    const menu = getClient().on('system.menuCommand', ({ command }) => {
      if (command !== 'rerun-simulation') return
      useNavigation.getState().show('train')
      void useTrain.getState().rerunAsked(useDatasets.getState().current)
    })
    const offs = [bindBrowser, menu, useDatasets.getState().listen(), useVerify.getState().listen(), useTrain.getState().listen()]
    void useDatasets
      .getState()
      .restoreFromUrl()
      .then(() => {
        if (useDatasets.getState().current) useNavigation.getState().show('inventory')
      })
    return () => offs.forEach((off) => off())
  }, [])
  const View = viewComponents[view]
  return (
    <div className="app">
      <Nav />
      <main className="main">
        <ConnectionNotice />
        <View />
      </main>
    </div>
  )
}

/** In serve mode: says when the host cannot be reached, or refuses this page (restarted with a new token). */
function ConnectionNotice(): React.JSX.Element | null {
  const [state, setState] = useState<ConnectionState>('connected')
  useEffect(() => {
    const client = getClient() as Partial<{ onConnection: (l: (s: ConnectionState) => void) => () => void }>
    return client.onConnection?.(setState)
  }, [])
  if (state === 'connected') return null
  return (
    <div className="banner warn connection-notice" role="alert">
      {state === 'refused'
        ? 'The ShardScope host restarted and no longer accepts this page: open the URL `shardscope serve` printed (it carries the new access token).'
        : 'Lost the connection to the ShardScope host (stopped, or restarting); reconnecting… What is on screen may be out of date.'}
    </div>
  )
}

function Nav(): React.JSX.Element {
  const view = useNavigation((s) => s.view)
  const show = useNavigation((s) => s.show)
  const dataset = useDatasets((s) => s.current)
  const samples = useInventory((s) => s.inventory?.splits.reduce((n, sp) => n + sp.samples, 0) ?? null)
  const verifyPhase = useVerify((s) => s.phase)
  const findings = useVerify((s) => findingCountFor(s, dataset?.datasetId ?? null))
  const running = useTrain((s) => s.runs.some((r) => r.status === 'running'))
  return (
    <nav className="nav" aria-label="Views">
      <div className="brand">
        Shard<span>Scope</span>
      </div>
      {views.map((v) => (
        <button key={v.name} className={`nav-item${view === v.name ? ' active' : ''}`} aria-current={view === v.name ? 'page' : undefined} onClick={() => show(v.name)}>
          {v.label}
          {v.name === 'verify' && verifyPhase === 'running' && <span className="dot running" title="running" />}
          {v.name === 'verify' && findings !== null && findings > 0 && <span className="count">{findings}</span>}
          {v.name === 'train' && running && <span className="dot running" title="training" />}
        </button>
      ))}
      <div className="nav-footer small">
        {dataset ? (
          <>
            <div className="muted">Dataset</div>
            <div className="dataset-name" title={dataset.folder ?? undefined}>
              {dataset.name}
            </div>
            {samples !== null && <div className="muted">{formatCount(samples)} samples</div>}
          </>
        ) : (
          <div className="muted">No dataset open</div>
        )}
      </div>
    </nav>
  )
}
