/**
 * Entry point of every child process: `process-entry <role> <name>`. Builds the
 * ParentPort for whichever host started us (Node fork or Electron utilityProcess)
 * and hands it to the role's module.
 */
import { isProcessRole, type ParentPort, type ProcessRole } from './host'

type RoleModule = { run(port: ParentPort): Promise<void> | void }

const roleModules: Record<ProcessRole, () => Promise<RoleModule>> = {
  echo: () => import('./echo-role'),
  verifier: () => import('../verify/process-role'),
  'parameter-server': () => import('../train/parameter-server-role'),
  worker: () => import('../train/worker-role'),
  backends: () => import('../services/backends-role')
}

/** Electron's utilityProcess exposes process.parentPort; Node's fork exposes process.send. */
const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort

function parentPort(): ParentPort {
  if (electronPort) {
    return {
      send: (message, transfer) => electronPort.postMessage(message, transfer as never),
      onMessage: (listener) => electronPort.on('message', (event) => listener(event.data))
    }
  }
  if (!process.send) throw new Error('process-entry must be started by a process host (no IPC channel)')
  return {
    send: (message) => void process.send?.(message),
    onMessage: (listener) => void process.on('message', listener)
  }
}

interface ElectronParentPort {
  postMessage(message: unknown, transfer?: unknown[]): void
  on(event: 'message', listener: (event: { data: unknown }) => void): void
}

async function main(): Promise<void> {
  const role = process.argv[2]
  if (!isProcessRole(role)) {
    console.error(`process-entry: unknown role ${JSON.stringify(role)}`)
    process.exit(2)
  }
  process.title = `shardscope ${process.argv[3] ?? role}`
  if (!electronPort && (role === 'parameter-server' || role === 'worker')) {
    // A terminal's Ctrl-C reaches the whole process group, but a training run is stopped by its
    // parent: it ends the workers, then has the parameter server write the checkpoint to resume
    // from, which a server dead of the same Ctrl-C could not. So these two leave the signals to
    // the parent, and end with it: when the channel to a forked child closes, the parent is gone.
    // Not under Electron: no terminal there, and utilityProcess.kill() ends a child by SIGTERM.
    process.on('SIGINT', () => {})
    process.on('SIGTERM', () => {})
    process.on('disconnect', () => process.exit(0))
  }
  const mod = await roleModules[role]()
  await mod.run(parentPort())
}

main().catch((err: unknown) => {
  console.error(`process-entry (${process.argv[2]}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
