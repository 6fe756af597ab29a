/**
 * Handlers for the 'verify.*' methods of the contract (src/shared/contract/verify.ts).
 * Each verification runs in its own process through ctx.processHost; progress and
 * the outcome go out as verify.* events; the report is written atomically under
 * ctx.stateDir/verify/<jobId>/. Cancelling ends the process.
 */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Handlers } from '../../shared/contract'
import type { VerificationReport } from '../../shared/contract/verify'
import { startVerificationProcess, VerificationFailed, type ChildVerification } from '../verify/run-child'
import { writeReport } from '../verify/report'
import type { ServiceContext } from './context'

type VerifyHandlers = Pick<Handlers, 'verify.start' | 'verify.cancel' | 'verify.report'>

interface Job {
  state: 'running' | 'done' | 'failed' | 'cancelled'
  run: ChildVerification
  report: VerificationReport | null
  reportPath: string | null
  message: string | null
}

export function createVerifyService(ctx: ServiceContext): { handlers: VerifyHandlers; dispose(): Promise<void> } {
  const jobs = new Map<string, Job>()

  const handlers: VerifyHandlers = {
    async 'verify.start'(request) {
      const jobId = randomUUID()
      const run = startVerificationProcess(ctx.processHost, request, (p) => ctx.emit('verify.progress', { jobId, ...p }), `verifier ${jobId.slice(0, 8)}`)
      const job: Job = { state: 'running', run, report: null, reportPath: null, message: null }
      jobs.set(jobId, job)
      run.result.then(
        async (report) => {
          try {
            const { reportPath, summaryPath } = await writeReport(report, join(ctx.stateDir, 'verify', jobId))
            Object.assign(job, { state: 'done', report, reportPath })
            ctx.emit('verify.done', { jobId, reportPath, summaryPath, report })
          } catch (err) {
            Object.assign(job, { state: 'failed', report, message: `the report could not be written: ${(err as Error).message}` })
            ctx.emit('verify.failed', { jobId, message: job.message!, cancelled: false })
          }
        },
        (err: unknown) => {
          const cancelled = err instanceof VerificationFailed && err.reason === 'cancelled'
          Object.assign(job, { state: cancelled ? 'cancelled' : 'failed', message: (err as Error).message })
          ctx.emit('verify.failed', { jobId, message: job.message!, cancelled })
          if (err instanceof VerificationFailed && err.reason === 'crashed') ctx.emit('system.problem', { source: 'verifier', message: job.message! })
        }
      )
      return { jobId }
    },
    async 'verify.cancel'({ jobId }) {
      const job = jobs.get(jobId)
      if (!job || job.state !== 'running') return { cancelled: false }
      job.run.cancel()
      return { cancelled: true }
    },
    async 'verify.report'({ jobId }) {
      const job = jobs.get(jobId)
      if (!job) return { state: 'unknown', report: null, reportPath: null, message: null }
      return { state: job.state, report: job.report, reportPath: job.reportPath, message: job.message }
    }
  }

  return {
    handlers,
    async dispose() {
      for (const job of jobs.values()) if (job.state === 'running') job.run.cancel()
    }
  }
}
