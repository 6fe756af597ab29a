/**
 * The Backend field of the Train form: each compute backend, whether this machine can
 * use it and why not, and what `auto` will pick — known before a run starts
 * (system.backends probes once, in a child process, on first open of the Train view).
 */
import { useEffect, useState } from 'react'
import type { BackendList } from '@shared/contract/system'
import { getClient } from '../../api/client'
import { describeError } from '../../app/errors'
import type { TrainForm } from './store'

const labels: Record<string, string> = { cuda: 'CUDA', webgpu: 'WebGPU', wasm: 'WASM', cpu: 'CPU' }

let probe: Promise<BackendList> | null = null

function probeBackends(): Promise<BackendList> {
  probe ??= getClient()
    .call('system.backends', {})
    .catch((err: unknown) => {
      probe = null
      throw err
    })
  return probe
}

export function BackendChoices({ value, onChange }: { value: TrainForm['backend']; onChange(backend: TrainForm['backend']): void }): React.JSX.Element {
  const [list, setList] = useState<BackendList | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    probeBackends().then(
      (l) => live && setList(l),
      (err: unknown) => live && setError(describeError(err))
    )
    return () => {
      live = false
    }
  }, [])
  const statusOf = (name: string) => list?.backends.find((b) => b.name === name)
  return (
    <>
      <label>
        Backend
        <select aria-label="Backend" value={value} onChange={(e) => onChange(e.target.value as TrainForm['backend'])}>
          <option value="auto">auto{list?.auto ? ` (${labels[list.auto.name] ?? list.auto.name})` : ' (fastest that works)'}</option>
          {Object.entries(labels).map(([name, label]) => {
            const status = statusOf(name)
            return (
              <option key={name} value={name} disabled={status ? !status.available : false}>
                {label}
                {status && !status.available ? ' — unavailable' : ''}
              </option>
            )
          })}
        </select>
      </label>
      <div className="backend-list small" data-testid="backend-list" aria-label="Compute backends">
        {!list && !error && <span className="muted">Checking which backends work here…</span>}
        {error && <span className="warn-text">Backends not checked: {error}</span>}
        {list && (
          <ul>
            {list.backends.map((b) => (
              <li key={b.name} data-backend={b.name} data-available={b.available} title={b.reason}>
                <strong>{labels[b.name] ?? b.name}</strong> {b.available ? '✓' : '✗'} <span className="muted">{b.reason}</span>
              </li>
            ))}
          </ul>
        )}
        {list?.auto && (
          <div className="muted backend-auto" data-testid="backend-auto" title={list.auto.reason}>
            auto picks {labels[list.auto.name] ?? list.auto.name}: {list.auto.reason}
          </div>
        )}
      </div>
    </>
  )
}
