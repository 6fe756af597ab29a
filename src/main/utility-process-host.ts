/**
 * The process host's Electron implementation: each verifier, parameter server and
 * worker is a `utilityProcess` running out/main/process-entry.js (which builds its
 * ParentPort from `process.parentPort`). Children are tracked, so a cancelled job or
 * a quitting app ends every one of them (killAll), and a child's exit code reaches
 * the service through ChildHandle.onExit.
 *
 * Electron's utilityProcess.postMessage transfers only MessagePortMain objects; other
 * transferables (ArrayBuffers) are structured-cloned, once, main → child. The trainer
 * relays through the parent, so no server↔worker ports are wired (see report).
 */
import type { ChildHandle, ProcessHost, ProcessRole, SpawnOptions } from '../core/process/host'

/** The members of Electron's UtilityProcess the host uses. */
export type UtilityChild = Pick<Electron.UtilityProcess, 'postMessage' | 'kill' | 'pid'> & {
  on(event: 'message', listener: (message: unknown) => void): unknown
  once(event: 'exit', listener: (code: number) => void): unknown
  once(event: 'spawn', listener: () => void): unknown
}

/** `utilityProcess.fork` as Electron types it (the module namespace's one function we need). */
export type ForkUtility = (modulePath: string, args?: string[], options?: Electron.ForkOptions) => UtilityChild

export interface UtilityProcessHost extends ProcessHost {
  /** Children still running. */
  readonly running: number
  /** Ends every running child (app quit); resolves when all have exited or after `timeoutMs`. */
  killAll(timeoutMs?: number): Promise<void>
}

export function createUtilityProcessHost(fork: ForkUtility, entry: string): UtilityProcessHost {
  const live = new Map<ChildHandle, Promise<void>>()

  function spawn(role: ProcessRole, options: SpawnOptions): ChildHandle {
    const child = fork(entry, [role, options.name], {
      serviceName: `ShardScope ${options.name}`,
      stdio: 'inherit',
      env: { ...process.env, ...options.env, SHARDSCOPE_ROLE: role }
    })
    let exited = false
    const exitListeners: Array<(code: number | null, signal: string | null) => void> = []
    let killed = false
    const ended = new Promise<void>((resolve) => {
      child.once('exit', (code) => {
        exited = true
        live.delete(handle)
        // utilityProcess reports a kill as a non-zero code with no signal; say it was a kill.
        for (const l of exitListeners) l(killed ? null : code, killed ? 'SIGKILL' : null)
        resolve()
      })
    })
    const handle: ChildHandle = {
      role,
      get pid() {
        return child.pid
      },
      send(message) {
        if (!exited) child.postMessage(message)
      },
      onMessage(listener) {
        child.on('message', listener)
      },
      onExit(listener) {
        exitListeners.push(listener)
      },
      kill() {
        if (exited) return
        killed = true
        child.kill()
      }
    }
    live.set(handle, ended)
    return handle
  }

  return {
    kind: 'electron',
    spawn,
    get running() {
      return live.size
    },
    async killAll(timeoutMs = 5000) {
      const waits = [...live.entries()].map(([handle, ended]) => {
        handle.kill()
        return ended
      })
      await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, timeoutMs).unref())])
    }
  }
}
