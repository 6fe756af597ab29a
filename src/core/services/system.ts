/**
 * The 'system.*' methods: what hosts the back end, the compute backends a training
 * run could use (probed in a child process: loading TensorFlow.js, Dawn and the WASM
 * runtime is not work for the main process), and the folder dialog, which only a
 * host with a native dialog (Electron's main process) answers.
 */
import type { Handlers } from '../../shared/contract'
import type { BackendList } from '../../shared/contract/system'
import type { ServiceContext } from './context'
import { UserFacingError } from './dispatch'

/** Probing Dawn on a software Vulkan driver takes seconds on a busy machine; give up well after that. */
const probeTimeoutMs = 90_000

export function createSystemService(ctx: ServiceContext): { handlers: Pick<Handlers, 'system.info' | 'system.backends' | 'system.chooseFolder'> } {
  let backends: Promise<BackendList> | null = null
  return {
    handlers: {
      async 'system.info'() {
        return {
          version: process.env.npm_package_version ?? '0.1.0',
          host: ctx.host,
          platform: `${process.platform}-${process.arch}`,
          demoDatasetPath: ctx.demoDir
        }
      },
      async 'system.backends'() {
        // The machine does not change while the app runs: probe once, forget a failed probe.
        backends ??= probeBackends(ctx).catch((err: unknown) => {
          backends = null
          throw err
        })
        return backends
      },
      async 'system.chooseFolder'() {
        return { supported: false, folder: null }
      }
    }
  }
}

function probeBackends(ctx: ServiceContext): Promise<BackendList> {
  return new Promise<BackendList>((resolve, reject) => {
    const child = ctx.processHost.spawn('backends', { name: 'backend probe' })
    let settled = false
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn()
    }
    const timer = setTimeout(() => {
      finish(() => reject(new UserFacingError(`Probing the compute backends took over ${probeTimeoutMs / 1000} s`)))
      child.kill()
    }, probeTimeoutMs)
    child.onMessage((message) => finish(() => resolve(message as BackendList)))
    child.onExit((code, signal) =>
      finish(() => reject(new UserFacingError(`The backend probe ended before answering (${signal ?? `exit code ${code}`})`)))
    )
  })
}
