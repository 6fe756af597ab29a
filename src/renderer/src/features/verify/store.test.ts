import { describe, expect, it, vi } from 'vitest'
import type { DatasetSummary } from '@shared/contract/datasets'
import { findingCountFor, useVerify } from './store'

const datasetOf = (id: string): DatasetSummary => ({ datasetId: id, name: id, folder: `/data/${id}`, splits: [], classNames: [], manifest: null }) as unknown as DatasetSummary

describe('the nav badge', () => {
  it('counts the findings of the dataset verified, and none for another dataset opened after it', async () => {
    const report = { cancelled: false, counts: { errors: 3, warnings: 1 } }
    vi.stubGlobal('window', {
      shardscope: {
        call: async (method: string) => {
          if (method === 'verify.start') return { jobId: 'job-a' }
          if (method === 'verify.report') return { state: 'done', report, reportPath: '/state/report.json', message: null }
          throw new Error(`unexpected ${method}`)
        },
        on: () => () => {}
      }
    })
    await useVerify.getState().start(datasetOf('a'))
    expect(useVerify.getState().phase).toBe('done')
    expect(findingCountFor(useVerify.getState(), 'a')).toBe(4)
    // Dataset b opens; its Verify view has not been shown, so the report of a is still held.
    expect(findingCountFor(useVerify.getState(), 'b')).toBeNull()
    expect(findingCountFor(useVerify.getState(), null)).toBeNull()
  })
})
