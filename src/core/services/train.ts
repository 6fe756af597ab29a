/**
 * Handlers for the `train.*` methods (src/shared/contract/train.ts). Runs live under
 * ctx.stateDir/runs; each runs in its own processes through ctx.processHost. Metric
 * points are batched: one `train.metrics` event per run every FLUSH_MS at most, so
 * neither Electron IPC nor a WebSocket carries one message per step.
 */
import { join } from 'node:path'
import type { Handlers } from '../../shared/contract'
import type { MetricPoint, RunSummary, TrainConfig } from '../../shared/contract/train'
import { ensureDemoDataset } from '../demo'
import { compareRuns, listRuns, readMetrics, readRunConfig, resolveTrainConfig, runTraining } from '../train'
import type { ServiceContext } from './context'

const FLUSH_MS = 200

interface LiveRun {
  controller: AbortController
  done: Promise<RunSummary>
}

export function createTrainService(ctx: ServiceContext) {
  const runsDir = join(ctx.stateDir, 'runs')
  const live = new Map<string, LiveRun>()

  const start = (config: TrainConfig): Promise<{ runId: string; dir: string }> =>
    new Promise((resolveStart, rejectStart) => {
      const controller = new AbortController()
      let pending: MetricPoint[] = []
      let runId = ''
      const flush = () => {
        if (pending.length === 0 || !runId) return
        ctx.emit('train.metrics', { runId, points: pending })
        pending = []
      }
      const timer = setInterval(flush, FLUSH_MS)
      const done = runTraining({
        host: ctx.processHost,
        config,
        runsDir,
        signal: controller.signal,
        onPoints: (points) => pending.push(...points),
        onStart: (run) => {
          runId = run.id
          live.set(run.id, { controller, done })
          resolveStart({ runId: run.id, dir: run.dir })
        },
        // Again once the server is up: the backend `auto` chose shows while the run goes on.
        onRunning: (summary) => ctx.emit('train.status', { runId: summary.id, summary })
      })
      done
        .then((summary) => {
          flush()
          ctx.emit('train.status', { runId: summary.id, summary })
        })
        .catch((err: unknown) => {
          rejectStart(err)
          ctx.emit('system.problem', { source: 'training', message: (err as Error).message })
        })
        .finally(() => {
          clearInterval(timer)
          live.delete(runId)
        })
    })

  const dirOf = (runId: string): string => {
    if (!/^[\w.-]+$/.test(runId)) throw new Error(`"${runId}" is not a run id`)
    return join(runsDir, runId)
  }

  const handlers: Pick<Handlers, 'train.start' | 'train.stop' | 'train.rerun' | 'train.list' | 'train.metrics' | 'train.compare'> = {
    'train.start': async ({ config, datasetDir }) => {
      let dir = datasetDir ?? config.datasetDir
      if (!dir && !config.train) {
        // No dataset named: the built-in demo, generated on first use.
        await ensureDemoDataset(ctx.demoDir)
        dir = ctx.demoDir
      }
      return start(await resolveTrainConfig({ ...config, datasetDir: dir }))
    },
    'train.stop': async ({ runId }) => {
      const run = live.get(runId)
      if (!run) return { stopped: false }
      run.controller.abort()
      await run.done.catch(() => undefined)
      return { stopped: true }
    },
    'train.rerun': async ({ runId, changes }) => {
      const earlier = await readRunConfig(dirOf(runId))
      return start(await resolveTrainConfig({ ...earlier, ...changes }))
    },
    'train.list': async () => ({ runs: await listRuns(runsDir) }),
    'train.metrics': async ({ runId, from }) => readMetrics(dirOf(runId), from),
    'train.compare': async ({ runIds }) => compareRuns(runIds.map(dirOf))
  }

  return {
    handlers,
    async dispose(): Promise<void> {
      for (const run of live.values()) run.controller.abort()
      await Promise.all([...live.values()].map((r) => r.done.catch(() => undefined)))
    }
  }
}
