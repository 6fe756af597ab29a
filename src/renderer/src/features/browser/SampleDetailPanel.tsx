import type { SampleField } from '@shared/contract/datasets'
import { getClient } from '../../api/client'
import { formatBytes } from '../../app/errors'
import { useBrowser } from './store'

/** Every field of the selected sample: images at full size with shape and pixel statistics, labels, text, raw sizes. */
export function SampleDetailPanel({ datasetId }: { datasetId: string }): React.JSX.Element {
  const detail = useBrowser((s) => s.detail)
  const error = useBrowser((s) => s.detailError)
  const close = useBrowser((s) => s.closeDetail)
  const client = getClient()
  return (
    <aside className="detail-panel" aria-label="Sample detail" data-testid="sample-detail">
      <header className="row">
        <h3 className="mono">{detail?.key ?? 'Loading…'}</h3>
        <button className="link" onClick={close} aria-label="Close detail">
          ✕
        </button>
      </header>
      {error && <div className="banner error small">{error}</div>}
      {detail && (
        <>
          <dl className="facts">
            <dt>Split</dt>
            <dd>{detail.split}</dd>
            <dt>Shard</dt>
            <dd className="mono" title={detail.url}>
              {detail.url.startsWith('http') ? detail.url : detail.shard}
            </dd>
            <dt>Index</dt>
            <dd>
              {detail.index} (#{detail.indexInShard} in shard)
            </dd>
            <dt>Label</dt>
            <dd data-testid="detail-label">
              {detail.label ?? '—'} {detail.className ?? ''}
            </dd>
          </dl>
          {detail.fields.map((f) => (
            <FieldView key={f.name} field={f} src={f.kind === 'image' && !f.error ? client.mediaUrl(datasetId, detail.split, detail.index, f.name, 'full') : null} />
          ))}
        </>
      )}
    </aside>
  )
}

function FieldView({ field, src }: { field: SampleField; src: string | null }): React.JSX.Element {
  const img = field.image
  return (
    <section className="field" data-testid={`field-${field.name}`}>
      <div className="row">
        <strong className="mono">.{field.name}</strong>
        <span className="muted small">
          {field.kind} · {formatBytes(field.bytes)}
        </span>
      </div>
      {src && (
        <div className="full-image">
          <img src={src} alt={`.${field.name}`} style={img ? { width: Math.min(256, img.width * 4), imageRendering: img.width <= 128 ? 'pixelated' : 'auto' } : undefined} />
        </div>
      )}
      {img && (
        <table className="kv small">
          <tbody>
            <tr>
              <td>shape</td>
              <td className="mono">
                {img.height}×{img.width}×{img.channels} {img.format}
              </td>
            </tr>
            <tr>
              <td>pixels</td>
              <td className="mono">
                min {img.min.toFixed(2)} · max {img.max.toFixed(2)} · mean {img.mean.toFixed(2)} · std {img.std.toFixed(2)}
              </td>
            </tr>
          </tbody>
        </table>
      )}
      {field.text !== undefined && <pre className="field-text">{field.text}</pre>}
      {field.error && <div className="problem-text small">{field.error}</div>}
    </section>
  )
}
