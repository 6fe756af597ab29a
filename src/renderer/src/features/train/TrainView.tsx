import { useEffect, useMemo } from 'react'
import type { RunSummary } from '@shared/contract/train'
import { formatCount } from '../../app/errors'
import { useDatasets } from '../datasets/store'
import { NoDataset } from '../inventory/InventoryView'
import { Chart, download, palette, type ChartLine } from './Chart'
import { BackendChoices } from './BackendChoices'
import { describeBackend, runCounters, type RunCounters } from './run-metrics'
import { histogram, toCsv } from './series'
import { changedSettings, runLabel, useTrain, whyNoRerun, whyNoStart, type TrainForm } from './store'

export function TrainView(): React.JSX.Element {
  const dataset = useDatasets((s) => s.current)
  const loadRuns = useTrain((s) => s.loadRuns)
  useEffect(() => {
    void loadRuns()
  }, [loadRuns])
  if (!dataset) return <NoDataset />
  return (
    <div className="view train-view">
      <header className="view-header">
        <h2>Train</h2>
        <span className="muted">Simulated distributed training: a parameter server and workers in their own processes.</span>
      </header>
      <TrainError />
      <div className="train-layout">
        <TrainFormCard />
        <div className="train-main">
          <ActiveRun />
          <Charts />
          <RunsTable />
        </div>
      </div>
    </div>
  )
}

function TrainError(): React.JSX.Element | null {
  const error = useTrain((s) => s.error)
  return error ? (
    <div className="banner error" role="alert">
      {error}
    </div>
  ) : null
}

function NumberField({ label, field, step, min }: { label: string; field: keyof TrainForm; step?: number; min?: number }): React.JSX.Element {
  const value = useTrain((s) => s.form[field]) as number
  const setForm = useTrain((s) => s.setForm)
  return (
    <label>
      {label}
      <input aria-label={label} type="number" value={value} step={step ?? 1} min={min ?? 0} onChange={(e) => setForm({ [field]: Number(e.target.value) } as Partial<TrainForm>)} />
    </label>
  )
}

function TrainFormCard(): React.JSX.Element {
  const form = useTrain((s) => s.form)
  const setForm = useTrain((s) => s.setForm)
  const start = useTrain((s) => s.start)
  const stop = useTrain((s) => s.stop)
  const rerun = useTrain((s) => s.rerun)
  const dataset = useDatasets((s) => s.current)
  const active = useTrain((s) => s.runs.find((r) => r.id === s.activeRunId))
  const running = active?.status === 'running'
  const startRefusal = useTrain((s) => whyNoStart(s, dataset))
  const rerunRefusal = useTrain((s) => whyNoRerun(s, dataset))
  const stopping = useTrain((s) => s.stopping !== null && s.stopping === s.activeRunId)
  return (
    <section className="card train-form" aria-label="Simulation settings">
      <h3>Simulation</h3>
      <NumberField label="Workers" field="workers" min={1} />
      <label>
        Mode
        <select aria-label="Mode" value={form.mode} onChange={(e) => setForm({ mode: e.target.value as TrainForm['mode'] })}>
          <option value="async">async (apply on arrival)</option>
          <option value="sync">sync (one step, all workers)</option>
          <option value="ssp">bounded staleness (SSP)</option>
        </select>
      </label>
      {form.mode === 'ssp' && <NumberField label="Staleness bound" field="staleness" />}
      <NumberField label="Batch" field="batch" min={1} />
      <NumberField label="Learning rate" field="lr" step={0.01} />
      <label>
        Optimizer
        <select aria-label="Optimizer" value={form.optimizer} onChange={(e) => setForm({ optimizer: e.target.value as TrainForm['optimizer'] })}>
          <option value="sgd">SGD + momentum</option>
          <option value="adam">Adam</option>
        </select>
      </label>
      <NumberField label="Epochs" field="epochs" min={1} />
      <BackendChoices value={form.backend} onChange={(backend) => setForm({ backend })} />
      {active && (
        <div className="backend-note" data-testid="backend-note">
          {describeBackend(active)}
          {active.warnings.filter((w) => /backend|cuda|webgpu|wasm/i.test(w)).map((w, i) => (
            <div key={i}>{w}</div>
          ))}
        </div>
      )}
      <label>
        Speed factors
        <input aria-label="Speed factors" placeholder="1, 1, 0.5" value={form.speed} onChange={(e) => setForm({ speed: e.target.value })} />
      </label>
      <NumberField label="Latency (ms)" field="latencyMs" />
      <label>
        Crash injection
        <input aria-label="Crash injection" placeholder="worker@step, e.g. 1@20" value={form.crash} onChange={(e) => setForm({ crash: e.target.value })} />
      </label>
      <NumberField label="Validate every" field="validateEvery" />
      <NumberField label="Max batches/epoch" field="maxBatchesPerEpoch" />
      <NumberField label="Seed" field="seed" />
      <div className="buttons">
        <button
          className="primary"
          disabled={startRefusal !== null}
          onClick={() => dataset && void start(dataset)}
          title={startRefusal ?? 'Start a new run with the settings above; the charts show it alone (tick runs in the Runs table to overlay them)'}
        >
          Start
        </button>
        <button
          disabled={!running || stopping}
          onClick={() => void stop()}
          title={stopping ? 'The run writes a checkpoint before it ends (after a validation under way), so that it can be resumed' : undefined}
        >
          {stopping ? 'Stopping…' : 'Stop'}
        </button>
        <button
          disabled={rerunRefusal !== null}
          onClick={() => dataset && void rerun(dataset)}
          title={rerunRefusal ?? `Start a new run with the settings above, on ${dataset?.name ?? 'the dataset'} as it is now; the run shown stays on the charts, dashed, for comparison`}
        >
          Re-run with these settings
        </button>
      </div>
      {active && !running && <RerunChanges config={active.config} />}
    </section>
  )
}

/** What a Re-run changes from the run shown, so that edits to the form are never silently left out. */
function RerunChanges({ config }: { config: RunSummary['config'] }): React.JSX.Element {
  const form = useTrain((s) => s.form)
  const changes = changedSettings(form, config)
  return (
    <p className="muted small" data-testid="rerun-changes">
      {changes.length > 0 ? `Re-run changes: ${changes.join(' · ')}` : 'Re-run: the same settings as the run shown.'}
    </p>
  )
}

function ActiveRun(): React.JSX.Element | null {
  const runId = useTrain((s) => s.activeRunId)
  const run = useTrain((s) => s.runs.find((r) => r.id === s.activeRunId))
  useTrain((s) => s.rev)
  const metrics = runId ? useTrain.getState().metricsOf(runId) : undefined
  if (!runId) return <p className="muted">Start a simulation to see its curves here.</p>
  return (
    <div className="active-run">
      <div className="row">
        <strong className="mono">{runLabel(run, runId)}</strong>
        <span className={`badge status-${run?.status === 'failed' ? 'unreadable' : run?.status === 'finished' ? 'ok' : 'problems'}`} data-testid="run-status">
          {run?.status ?? 'starting'}
        </span>
        {run && <RunCountsLine run={run} />}
      </div>
      <HealthBadges run={run} />
      {run?.error && <div className="banner error small">{run.error}</div>}
      {metrics && metrics.crashes.length > 0 && (
        <div className="banner warn small">
          {metrics.crashes.map((c, i) => (
            <div key={i}>
              Worker {c.worker} crashed in step {c.step}
              {c.code !== null ? ` (exit code ${c.code})` : ''}
              {c.restarted ? '; restarted' : '; the run went on without it'}.
            </div>
          ))}
        </div>
      )}
      {metrics && metrics.warnings.length > 0 && <div className="banner warn small">{metrics.warnings.join(' · ')}</div>}
    </div>
  )
}

/**
 * Live while a run goes on: re-read on each metrics tick (its summary says 0 until the end),
 * from points only when they are all here (a run followed from mid-way would count too few).
 */
function useRunCounters(run: RunSummary): RunCounters {
  useTrain((s) => (run.status === 'running' ? s.rev : 0))
  const train = useTrain.getState()
  return runCounters(run, train.hasAllPoints(run.id) ? train.metricsOf(run.id) : undefined)
}

function RunCountsLine({ run }: { run: RunSummary }): React.JSX.Element {
  const c = useRunCounters(run)
  return (
    <span className="muted small" data-testid="run-counts">
      {formatCount(c.updates)} updates · {formatCount(c.samples)} samples · {c.samplesPerSecond.toFixed(0)} samples/s · {describeBackend(run)}
    </span>
  )
}

function RunCountCells({ run }: { run: RunSummary }): React.JSX.Element {
  const c = useRunCounters(run)
  return (
    <>
      <td className="num">{formatCount(c.updates)}</td>
      <td className="num">{c.samplesPerSecond.toFixed(0)}</td>
    </>
  )
}

const healthNames: Record<string, string> = {
  'validation-loss': 'validation loss < 10',
  'validation-accuracy': 'accuracy above chance',
  'training-loss-falling': 'training loss falling',
  checkpoints: 'checkpoints written'
}

function HealthBadges({ run }: { run: RunSummary | undefined }): React.JSX.Element {
  const checks = run?.health ?? []
  if (checks.length === 0 && run && run.status !== 'running') {
    return (
      <div className="health muted small" data-testid="health">
        Not judged: the run {run.status === 'stopped' ? 'was stopped' : 'failed'} before its end, where health is checked.
      </div>
    )
  }
  if (checks.length === 0)
    return (
      <div className="health">
        {Object.values(healthNames).map((n) => (
          <span key={n} className="health-badge pending">
            {n}: pending
          </span>
        ))}
      </div>
    )
  return (
    <div className="health" data-testid="health">
      {checks.map((h) => (
        <span key={h.name} className={`health-badge ${h.passed ? 'ok' : 'failed'}`} title={[h.detail, ...h.causes].join('\n')}>
          {h.passed ? '✓' : '✗'} {healthNames[h.name] ?? h.name}
        </span>
      ))}
      {checks
        .filter((h) => !h.passed)
        .map((h) => (
          <div key={`${h.name}-why`} className="small problem-text" style={{ flexBasis: '100%' }}>
            {h.detail}
            {h.causes.length > 0 && <> Likely causes: {h.causes.join('; ')}</>}
          </div>
        ))}
    </div>
  )
}

function Charts(): React.JSX.Element | null {
  const rev = useTrain((s) => s.rev)
  const activeRunId = useTrain((s) => s.activeRunId)
  const overlay = useTrain((s) => s.overlay)
  const runs = useTrain((s) => s.runs)
  const metricsOf = useTrain((s) => s.metricsOf)
  const shown = useMemo(() => (activeRunId ? [activeRunId, ...overlay.filter((r) => r !== activeRunId)] : overlay), [activeRunId, overlay])

  const lines = useMemo(() => {
    const active = activeRunId ? metricsOf(activeRunId) : undefined
    const label = (id: string) => runLabel(runs.find((r) => r.id === id), id)
    const perRun = (pick: (id: string) => ChartLine['series'] | undefined): ChartLine[] =>
      shown.flatMap((id, i) => {
        const series = pick(id)
        return series ? [{ label: label(id), color: palette[i % palette.length]!, series, dash: i > 0 }] : []
      })
    return {
      workerLoss: (active?.workerLoss ?? []).map((series, w) => ({ label: `worker ${w}`, color: palette[w % palette.length]!, series })),
      valLoss: perRun((id) => metricsOf(id)?.valLoss),
      valTop1: perRun((id) => metricsOf(id)?.valTop1),
      throughput: perRun((id) => metricsOf(id)?.throughput),
      staleness: active ? [{ label: 'updates', color: palette[0]!, series: histogram(active.staleness) }] : []
    }
    // rev: the series grow in place; a new rev means new points.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rev, shown, runs, activeRunId, metricsOf])

  if (!activeRunId) return null
  const exportCsv = () => {
    const m = metricsOf(activeRunId)
    if (!m) return
    const csv = toCsv(m.points.map((p) => ({ ...p }) as Record<string, string | number | boolean | null>))
    download(URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), `run-${activeRunId}-metrics.csv`)
  }
  return (
    <>
      <div className="row">
        <span className="muted small">Dashed lines: earlier runs overlaid for comparison.</span>
        <button style={{ marginLeft: 'auto' }} onClick={exportCsv}>
          Export metrics CSV
        </button>
      </div>
      <div className="charts">
        <Chart title="Training loss per worker" testId="chart-train-loss" lines={lines.workerLoss} rev={rev} xLabel="worker step" yLabel="loss" integerX />
        <Chart title="Validation loss" testId="chart-val-loss" lines={lines.valLoss} rev={rev} xLabel="server version" yLabel="loss" logY integerX />
        <Chart title="Validation accuracy (top-1)" testId="chart-val-acc" lines={lines.valTop1} rev={rev} xLabel="server version" yLabel="top-1" integerX />
        <Chart title="Throughput" testId="chart-throughput" lines={lines.throughput} rev={rev} xLabel="seconds" yLabel="samples/s" />
        <Chart title="Staleness of updates" testId="chart-staleness" lines={lines.staleness} rev={rev} xLabel="staleness (versions)" yLabel="updates" bars integerX />
      </div>
    </>
  )
}

function RunsTable(): React.JSX.Element | null {
  const runs = useTrain((s) => s.runs)
  const activeRunId = useTrain((s) => s.activeRunId)
  const overlay = useTrain((s) => s.overlay)
  const watch = useTrain((s) => s.watch)
  const toggleOverlay = useTrain((s) => s.toggleOverlay)
  if (runs.length === 0) return null
  return (
    <section className="card">
      <h3>Runs</h3>
      <table className="data-table runs-table small" aria-label="Runs">
        <thead>
          <tr>
            <th>Overlay</th>
            <th>Run</th>
            <th>Status</th>
            <th>Workers</th>
            <th>Backend</th>
            <th className="num">Updates</th>
            <th className="num">Samples/s</th>
            <th className="num">Val loss</th>
            <th className="num">Top-1</th>
            <th>Health</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid="run-row" className={r.id === activeRunId ? 'active' : ''} onClick={() => void watch(r.id)} style={{ cursor: 'pointer', fontWeight: r.id === activeRunId ? 600 : undefined }}>
              <td onClick={(e) => e.stopPropagation()}>
                <input type="checkbox" aria-label={`Overlay ${r.id}`} checked={overlay.includes(r.id) || r.id === activeRunId} disabled={r.id === activeRunId} onChange={() => toggleOverlay(r.id)} />
              </td>
              <td className="mono">{r.id}</td>
              <td>{r.status}</td>
              <td>
                {r.config.workers} × {r.config.mode}
                {r.config.mode === 'ssp' ? ` s=${r.config.staleness}` : ''}
              </td>
              <td>{r.backend}</td>
              <RunCountCells run={r} />
              <td className="num">{r.finalValidation ? formatLoss(r.finalValidation.loss) : '—'}</td>
              <td className="num">{r.finalValidation ? `${(r.finalValidation.top1 * 100).toFixed(1)}%` : '—'}</td>
              <td>
                {r.status === 'running' ? (
                  '…'
                ) : r.health.length === 0 ? (
                  <span className="muted" title="Health is judged at a run's end; this run did not reach it">not judged</span>
                ) : r.healthy ? (
                  <span className="badge check-pass">healthy</span>
                ) : (
                  <span className="badge check-fail">unhealthy</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

function formatLoss(v: number): string {
  return v >= 1000 ? v.toExponential(2) : v.toFixed(3)
}
