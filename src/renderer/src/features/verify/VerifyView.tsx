import { useEffect, useMemo } from 'react'
import { describeOffender, type Finding } from '@shared/contract/verify'
import { useNavigation } from '../../app/navigation'
import { formatCount, formatDuration, plural } from '../../app/errors'
import { useDatasets } from '../datasets/store'
import { useInventory } from '../inventory/store'
import { useBrowser } from '../browser/store'
import { NoDataset } from '../inventory/InventoryView'
import { browseLinkText, checkBadge, describeProgress, filterForFinding, shardName } from './findings'
import { useVerify } from './store'

export function VerifyView(): React.JSX.Element {
  const dataset = useDatasets((s) => s.current)
  const setDataset = useVerify((s) => s.setDataset)
  const phase = useVerify((s) => s.phase)
  const error = useVerify((s) => s.error)
  const start = useVerify((s) => s.start)
  const cancel = useVerify((s) => s.cancel)
  const report = useVerify((s) => s.report)
  const reportPath = useVerify((s) => s.reportPath)
  useEffect(() => setDataset(dataset?.datasetId ?? null), [dataset, setDataset])
  if (!dataset) return <NoDataset />
  return (
    <div className="view verify-view">
      <header className="view-header">
        <h2>Verify</h2>
        {phase === 'running' ? (
          <button onClick={() => void cancel()}>Cancel</button>
        ) : (
          <button className="primary" onClick={() => void start(dataset)}>
            {report ? 'Verify again' : 'Start verification'}
          </button>
        )}
      </header>
      {phase === 'running' && <ProgressLine />}
      {phase === 'cancelled' && <div className="banner warn">Verification cancelled.</div>}
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {report && (
        <>
          <div className={`banner ${report.counts.errors > 0 ? 'error' : report.counts.warnings > 0 ? 'warn' : 'ok'}`} data-testid="verify-summary">
            {report.counts.errors === 0 && report.counts.warnings === 0
              ? `No problems found in ${formatCount(report.samplesVerified)} samples.`
              : `${plural(report.counts.errors, 'error')}, ${plural(report.counts.warnings, 'warning')}, ${plural(report.counts.infos, 'note')} in ${plural(report.samplesVerified, 'sample')}.`}{' '}
            <span className="muted small">
              {formatDuration(report.durationSeconds)} · {formatCount(Math.round(report.samplesPerSecond))} samples/s · {plural(report.decodeThreads, 'decode thread')}
              {reportPath && <> · report {reportPath}</>}
            </span>
          </div>
          <div className="verify-body">
            <section className="card checks-card">
              <h3>Checks</h3>
              <ul className="checks" aria-label="Checks">
                {report.checks.map((c) => (
                  <li key={c.check} data-testid={`check-${c.check}`}>
                    <span className={`badge check-${checkBadge(c.check, c.status, report.findings)}`}>{checkBadge(c.check, c.status, report.findings)}</span>{' '}
                    <strong>{c.check}</strong> <span className="muted small">{c.note}</span>
                  </li>
                ))}
              </ul>
              <h3>Splits</h3>
              <table className="data-table small">
                <thead>
                  <tr>
                    <th>Split</th>
                    <th className="num">Samples</th>
                    <th className="num">Expected</th>
                    <th>Shapes</th>
                    <th>Normalised pixels (min / mean / max)</th>
                  </tr>
                </thead>
                <tbody>
                  {report.splits.map((s) => (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td className="num">{formatCount(s.samples)}</td>
                      <td className="num">{s.expectedSamples === undefined ? '—' : formatCount(s.expectedSamples)}</td>
                      <td className="mono">{Object.keys(s.imageShapes).join(', ')}</td>
                      <td className="mono">
                        {s.pixelsNormalised
                          ? `${fmt(Math.min(...s.pixelsNormalised.min))} / ${fmt(avg(s.pixelsNormalised.mean))} / ${fmt(Math.max(...s.pixelsNormalised.max))}`
                          : '—'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            <Findings findings={report.findings} />
          </div>
        </>
      )}
      {!report && phase === 'idle' && (
        <p className="muted">
          Checks coverage of the URL patterns, readability, sample structure, every image, labels, counts, pixel statistics, train vs val, and local vs remote copies.
        </p>
      )}
    </div>
  )
}

function ProgressLine(): React.JSX.Element {
  const progress = useVerify((s) => s.progress)
  const fraction = progress?.fraction ?? null
  return (
    <div className="progress-block" data-testid="verify-progress">
      <div className="progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}>
        <div className={`progress-fill${fraction === null ? ' indeterminate' : ''}`} style={{ width: `${Math.round((fraction ?? 0.3) * 100)}%` }} />
      </div>
      <div className="small muted">
        {progress ? describeProgress(progress) : 'Starting the verifier…'}
        {progress?.currentShard && <> · {shardName(progress.currentShard)}</>}
      </div>
    </div>
  )
}

function Findings({ findings }: { findings: Finding[] }): React.JSX.Element {
  const inventory = useInventory((s) => s.inventory)
  const showSamples = useBrowser((s) => s.showSamples)
  const show = useNavigation((s) => s.show)
  const splitOfShard = useMemo(() => {
    const byUrl = new Map<string, string>()
    for (const split of inventory?.splits ?? []) for (const shard of split.shards) {
      byUrl.set(shard.url, split.name)
      byUrl.set(shard.name, split.name)
    }
    return (url: string) => (inventory ? (byUrl.get(url) ?? byUrl.get(shardName(url)) ?? null) : undefined)
  }, [inventory])
  return (
    <section className="card findings-card">
      <h3>Findings</h3>
      {findings.length === 0 && <p className="muted">None.</p>}
      <ol className="findings" aria-label="Findings">
        {findings.map((f, i) => {
          const filter = filterForFinding(f, splitOfShard)
          return (
            <li key={i} className={`finding severity-${f.severity}`} data-testid="finding" data-code={f.code} data-check={f.check}>
              <div className="finding-title">
                <span className={`badge sev-${f.severity}`}>{f.severity}</span> {f.title}
              </div>
              {f.evidence.length > 0 && (
                <ul className="evidence small">
                  {f.evidence.map((e, j) => (
                    <li key={j}>{e}</li>
                  ))}
                </ul>
              )}
              {f.offenders.length > 0 && (
                <details className="offenders small" data-testid="finding-offenders">
                  <summary>
                    {f.offenders.length < f.offenderCount ? `the first ${f.offenders.length} of ${formatCount(f.offenderCount)} offending items` : `the ${plural(f.offenders.length, 'offending item')}`}
                  </summary>
                  <ul>
                    {f.offenders.map((o, j) => (
                      <li key={j}>{describeOffender(o)}</li>
                    ))}
                  </ul>
                </details>
              )}
              {f.fix && <div className="fix small">Fix: {f.fix}</div>}
              <div className="small muted">
                {f.check} · {formatCount(f.offenderCount)} offending {f.offenderCount === 1 ? 'item' : 'items'}
                {filter && (
                  <>
                    {' · '}
                    <button
                      className="link"
                      data-testid="show-finding-samples"
                      onClick={() => {
                        showSamples(filter, `Finding: ${f.title}`)
                        show('browse')
                      }}
                    >
                      {browseLinkText(filter, f)}
                    </button>
                  </>
                )}
              </div>
            </li>
          )
        })}
      </ol>
    </section>
  )
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—')
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN)
