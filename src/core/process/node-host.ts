import { fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildHandle, ProcessHost, ProcessRole, SpawnOptions } from './host'

/**
 * Where the child entry lives. Built: `out/main/process-entry.js` beside the bundle
 * that imports this. From source (vitest, tsx): `src/core/process/entry.ts`, run
 * through tsx's loader.
 */
export function resolveProcessEntry(): { entry: string; execArgv: string[] } {
  const here = dirname(fileURLToPath(import.meta.url))
  // The bundler may put this module in a shared chunk one folder down.
  for (const built of [join(here, 'process-entry.js'), join(here, '..', 'process-entry.js')]) {
    if (existsSync(built)) return { entry: built, execArgv: [] }
  }
  const source = join(here, 'entry.ts')
  if (existsSync(source)) return { entry: source, execArgv: ['--import', 'tsx'] }
  const fromBundle = join(here, '..', '..', 'src', 'core', 'process', 'entry.ts')
  return { entry: fromBundle, execArgv: ['--import', 'tsx'] }
}

export const nodeProcessHost: ProcessHost = {
  kind: 'node',
  spawn(role: ProcessRole, options: SpawnOptions): ChildHandle {
    const { entry, execArgv } = resolveProcessEntry()
    const child = fork(entry, [role, options.name], {
      execArgv,
      // 'advanced' keeps typed arrays and Maps intact (structured clone) instead of JSON.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env, SHARDSCOPE_ROLE: role }
    })
    let exited = false
    const exitListeners: Array<(code: number | null, signal: string | null) => void> = []
    const reportExit = (code: number | null, signal: string | null) => {
      if (exited) return
      exited = true
      for (const l of exitListeners) l(code, signal)
    }
    child.once('exit', reportExit)
    // 'error' comes when a send races the child's death (a Ctrl-C reaching a child still starting,
    // before it ignores the signal); its end is reported by 'exit'. Unheard, it would crash the
    // parent. A child that never started has no 'exit' to come: it is reported as ended here.
    child.on('error', () => {
      if (child.pid === undefined) reportExit(null, null)
    })
    return {
      role,
      pid: child.pid,
      send(message) {
        if (!exited && child.connected) child.send(message as never)
      },
      onMessage(listener) {
        child.on('message', listener)
      },
      onExit(listener) {
        exitListeners.push(listener)
      },
      kill() {
        if (!exited) child.kill('SIGKILL')
      }
    }
  }
}
