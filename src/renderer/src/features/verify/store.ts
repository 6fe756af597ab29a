/** One verification at a time for the opened dataset: start, cancel, progress, the report. */
import { create } from 'zustand'
import type { DatasetSummary } from '@shared/contract/datasets'
import type { VerificationReport, VerifyProgress } from '@shared/contract/verify'
import { getClient } from '../../api/client'
import { describeError } from '../../app/errors'
import { verifyRequestFor } from './findings'

type Phase = 'idle' | 'running' | 'done' | 'failed' | 'cancelled'

interface VerifyState {
  datasetId: string | null
  jobId: string | null
  phase: Phase
  progress: VerifyProgress | null
  report: VerificationReport | null
  reportPath: string | null
  error: string | null
  start(dataset: DatasetSummary): Promise<void>
  cancel(): Promise<void>
  /** Forget the report when another dataset is opened. */
  setDataset(datasetId: string | null): void
  listen(): () => void
}

export const useVerify = create<VerifyState>((set, get) => ({
  datasetId: null,
  jobId: null,
  phase: 'idle',
  progress: null,
  report: null,
  reportPath: null,
  error: null,
  async start(dataset) {
    set({ datasetId: dataset.datasetId, phase: 'running', progress: null, report: null, reportPath: null, error: null, jobId: null })
    try {
      const { jobId } = await getClient().call('verify.start', verifyRequestFor(dataset))
      // The job may already have finished (tiny dataset) before its id came back.
      if (get().phase === 'running') set({ jobId })
      const r = await getClient().call('verify.report', { jobId })
      if (r.state !== 'running' && get().jobId === jobId && get().phase === 'running') {
        if (r.report) set({ phase: r.report.cancelled ? 'cancelled' : 'done', report: r.report, reportPath: r.reportPath })
        else set({ phase: r.state === 'cancelled' ? 'cancelled' : 'failed', error: r.message })
      }
    } catch (err) {
      set({ phase: 'failed', error: describeError(err) })
    }
  },
  async cancel() {
    const { jobId } = get()
    if (!jobId) return
    try {
      await getClient().call('verify.cancel', { jobId })
      if (get().phase === 'running') set({ phase: 'cancelled' })
    } catch (err) {
      set({ error: describeError(err) })
    }
  },
  setDataset(datasetId) {
    if (datasetId !== get().datasetId && get().phase !== 'running') set({ datasetId, phase: 'idle', report: null, progress: null, error: null, jobId: null })
  },
  listen() {
    const client = getClient()
    // Events of a job whose id has not come back yet are taken while we are running.
    const mine = (jobId: string) => get().phase === 'running' && (get().jobId === null || get().jobId === jobId)
    const offs = [
      client.on('verify.progress', (p) => {
        if (mine(p.jobId)) set({ progress: p, jobId: p.jobId })
      }),
      client.on('verify.done', (e) => {
        if (mine(e.jobId)) set({ jobId: e.jobId, phase: e.report.cancelled ? 'cancelled' : 'done', report: e.report, reportPath: e.reportPath })
      }),
      client.on('verify.failed', (e) => {
        if (mine(e.jobId)) set({ jobId: e.jobId, phase: e.cancelled ? 'cancelled' : 'failed', error: e.cancelled ? null : e.message })
      })
    ]
    return () => offs.forEach((off) => off())
  }
}))

/**
 * The nav badge: errors and warnings of the report, only while the dataset it was made for
 * is the one open (another dataset has not been verified yet); null when there is none.
 */
export function findingCountFor(state: Pick<VerifyState, 'datasetId' | 'report'>, datasetId: string | null): number | null {
  if (!state.report || state.datasetId === null || state.datasetId !== datasetId) return null
  return state.report.counts.errors + state.report.counts.warnings
}
