/**
 * The verifier in its own process, started through the Node process host as the
 * CLI and the serve host start it: progress streams, the report comes back, cancel
 * ends the process; and the verify service around it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../demo'
import { nodeProcessHost } from '../process'
import { createVerifyService } from '../services/verify'
import type { EventSink } from '../../shared/contract'
import { startVerificationProcess, VerificationFailed } from './run-child'
import type { VerifyProgressUpdate } from './verify-dataset'

const root = mkdtempSync(join(tmpdir(), 'shardscope-verify-process-'))
const demo = join(root, 'demo')
afterAll(() => rmSync(root, { recursive: true, force: true }))
beforeAll(async () => {
  await generateDemo(demo, { train: 300, val: 100, classes: 4, size: 16, shardMaxcount: 50, seed: 5, faults: ['label-offset'] })
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('verifier process', () => {
  it('runs in a child process, streams progress and returns the report', async () => {
    const progress: VerifyProgressUpdate[] = []
    const run = startVerificationProcess(nodeProcessHost, { datasetDir: demo, threads: 1, batchSize: 16 }, (p) => progress.push(p))
    expect(run.child.pid).not.toBe(process.pid)
    const report = await run.result
    expect(report.samplesVerified).toBe(400)
    expect(report.findings.map((f) => f.code)).toEqual(['label-offset'])
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.at(-1)!.samplesDone).toBe(400)
    expect(progress.some((p) => p.currentShard?.endsWith('.tar'))).toBe(true)
    await expect.poll(() => isAlive(run.child.pid!), { timeout: 10_000 }).toBe(false)
  }, 120_000)

  it('cancel ends the child process and the run fails as cancelled', async () => {
    let cancelled = false
    const exited = new Promise<string | null>((resolve) => {
      const run = startVerificationProcess(nodeProcessHost, { datasetDir: demo, threads: 1 }, () => {
        if (cancelled) return
        cancelled = true
        run.cancel()
      })
      run.child.onExit((_code, signal) => resolve(signal))
      run.result.catch((err: unknown) => {
        expect(err).toBeInstanceOf(VerificationFailed)
        expect((err as VerificationFailed).reason).toBe('cancelled')
      })
    })
    expect(await exited).toBe('SIGKILL')
    expect(cancelled).toBe(true)
  }, 120_000)

  it('the verify service runs a job in its own process and writes the report atomically under the state folder', async () => {
    const stateDir = join(root, 'state')
    const events: Array<{ name: string; payload: unknown }> = []
    const emit: EventSink = (name, payload) => void events.push({ name, payload })
    const service = createVerifyService({ processHost: nodeProcessHost, emit, stateDir, demoDir: demo, host: 'serve' })
    const { jobId } = await service.handlers['verify.start']({ datasetDir: demo, splits: [], batchSize: 16, maxOffenders: 5, maxImagePixels: 1_000_000, threads: 1 })
    await expect.poll(() => events.find((e) => e.name === 'verify.done' || e.name === 'verify.failed'), { timeout: 120_000, interval: 200 }).toBeDefined()
    const done = events.find((e) => e.name === 'verify.done')!.payload as { jobId: string; reportPath: string; summaryPath: string }
    expect(done.jobId).toBe(jobId)
    expect(done.reportPath).toBe(join(stateDir, 'verify', jobId, 'report.json'))
    const written = JSON.parse(readFileSync(done.reportPath, 'utf8'))
    expect(written.version).toBe(1)
    expect(written.findings[0].code).toBe('label-offset')
    expect(written.findings[0].offenders.length).toBeLessThanOrEqual(5)
    expect(readFileSync(done.summaryPath, 'utf8')).toMatch(/Validation labels look 1-based/)
    expect(events.some((e) => e.name === 'verify.progress' && (e.payload as { jobId: string }).jobId === jobId)).toBe(true)
    const state = await service.handlers['verify.report']({ jobId })
    expect(state.state).toBe('done')
    expect(state.reportPath).toBe(done.reportPath)
    expect(existsSync(join(demo, 'report.json'))).toBe(false)
    await service.dispose()
  }, 150_000)
})
