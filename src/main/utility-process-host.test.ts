import { fork as forkChild, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ChildHandle } from '../core/process/host'
import { createUtilityProcessHost, type ForkUtility, type UtilityChild } from './utility-process-host'

/**
 * Electron's utilityProcess.fork, played by a real Node child process: the same
 * process-entry module, the same arguments, Electron's event names and exit-code-only
 * `exit` event. Only Electron itself is replaced.
 */
const forkWithNode: ForkUtility = (modulePath, args, options) => {
  const child: ChildProcess = forkChild(modulePath, args ?? [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: options?.env as NodeJS.ProcessEnv
  })
  const utility: UtilityChild = {
    get pid() {
      return child.pid
    },
    postMessage: (message: unknown) => void child.send(message as never),
    kill: () => child.kill('SIGKILL'),
    on: (_event: 'message', listener: (message: unknown) => void) => child.on('message', listener),
    once: ((event: 'exit' | 'spawn', listener: (code?: number) => void) =>
      event === 'exit' ? child.once('exit', (code) => listener(code ?? 1)) : child.once('spawn', () => listener())) as UtilityChild['once']
  }
  return utility
}

const entry = join(import.meta.dirname, '..', 'core', 'process', 'entry.ts')
const host = createUtilityProcessHost(forkWithNode, entry)

function nextMessage(handle: ChildHandle, match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => handle.onMessage((m) => match(m as Record<string, unknown>) && resolve(m as Record<string, unknown>)))
}
function exitOf(handle: ChildHandle): Promise<[number | null, string | null]> {
  return new Promise((resolve) => handle.onExit((code, signal) => resolve([code, signal])))
}
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

afterEach(async () => {
  await host.killAll()
})

describe('createUtilityProcessHost', () => {
  it('starts a child with its role, exchanges structured messages, and reports its exit code', async () => {
    const echo = host.spawn('echo', { name: 'echo 1' })
    expect(host.kind).toBe('electron')
    await nextMessage(echo, (m) => m.ready === true)
    const bytes = new Float32Array([1.5, -2, 3])
    const answered = nextMessage(echo, (m) => 'echo' in m)
    echo.send({ hello: 'worker', bytes }, [bytes.buffer])
    const answer = await answered
    expect(answer.echo).toEqual({ hello: 'worker', bytes: new Float32Array([1.5, -2, 3]) })
    const exited = exitOf(echo)
    echo.send({ exit: 3 })
    expect(await exited).toEqual([3, null])
    expect(host.running).toBe(0)
  }, 60_000)

  it('ends every running child on killAll (app quit) and reports each as killed', async () => {
    const children = [host.spawn('echo', { name: 'echo a' }), host.spawn('echo', { name: 'echo b' })]
    await Promise.all(children.map((c) => nextMessage(c, (m) => m.ready === true)))
    const pids = children.map((c) => c.pid!)
    expect(pids.every(isAlive)).toBe(true)
    const exits = children.map(exitOf)
    await host.killAll()
    expect(await Promise.all(exits)).toEqual([
      [null, 'SIGKILL'],
      [null, 'SIGKILL']
    ])
    expect(host.running).toBe(0)
    expect(pids.some(isAlive)).toBe(false)
  }, 60_000)

  it('reports a crash of a child it did not kill with the exit code, not as a kill', async () => {
    const echo = host.spawn('echo', { name: 'echo crash' })
    await nextMessage(echo, (m) => m.ready === true)
    const exited = exitOf(echo)
    process.kill(echo.pid!, 'SIGKILL')
    const [code, signal] = await exited
    expect(signal).toBeNull()
    expect(code).not.toBe(0)
  }, 60_000)
})
