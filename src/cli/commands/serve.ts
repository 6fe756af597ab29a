/**
 * `shardscope serve [--port N] [--open] [--state-dir DIR] [--demo] [DATASET]`: the
 * UI in a browser, for a headless training box. Prints the URL (with its access
 * token) and runs until Ctrl-C / SIGTERM, then ends every child process.
 */
import { spawn } from 'node:child_process'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode } from '../output'

/** Where serve keeps index caches, reports, runs and recent datasets unless told otherwise. */
export function defaultStateDir(): string {
  return process.env.SHARDSCOPE_STATE_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'shardscope')
}

export const registerServe: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('serve')
    .description('Serve the ShardScope UI to a browser on 127.0.0.1 (URL with an access token is printed).')
    .argument('[dataset]', 'a dataset folder to open at start')
    .option('--port <n>', 'port to listen on (default: a free one)', (v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be a whole number from 0 to 65535, got "${v}"`)
      return n
    })
    .option('--open', 'open the default browser at the URL')
    .option('--demo', 'open the built-in demo dataset at start (generated on first use)')
    .option('--state-dir <dir>', 'where index caches, reports and runs are written', defaultStateDir())
    .action(async (dataset: string | undefined, opts: { port?: number; open?: boolean; demo?: boolean; stateDir: string }) => {
      const { startServeHost } = await import('../serve/host')
      const stateDir = resolve(opts.stateDir)
      let host
      try {
        host = await startServeHost({ port: opts.port ?? 0, stateDir })
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        if (e.code === 'EADDRINUSE') throw new CliError(`port ${opts.port} is in use; choose another with --port or leave it out`)
        throw err
      }
      let url = host.url
      const startWith = dataset ? { method: 'datasets.open' as const, input: { folder: resolve(dataset) } } : opts.demo ? { method: 'datasets.openDemo' as const, input: {} } : null
      if (startWith) {
        if (startWith.method === 'datasets.openDemo') process.stderr.write('shardscope: preparing the demo dataset…\n')
        const handler = host.services.handlers[startWith.method] as (input: unknown) => Promise<{ datasetId: string; name: string }>
        try {
          const summary = await handler(startWith.input)
          url += `&dataset=${summary.datasetId}`
          process.stderr.write(`shardscope: opened ${summary.name}\n`)
        } catch (err) {
          await host.close()
          throw new CliError(err instanceof Error ? err.message : String(err))
        }
      }
      process.stdout.write(`ShardScope is serving at ${url}\n`)
      process.stderr.write('shardscope: only this machine can connect (127.0.0.1); press Ctrl-C to stop.\n')
      if (opts.open) openBrowser(url)
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          process.stderr.write('shardscope: stopping…\n')
          host.close().then(done, done)
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      setExitCode(ExitCode.Clean)
      // Stopped: reads still waiting on a slow or silent server (background indexing of remote
      // shards) must not keep the process up for their timeout. A timer that holds nothing up itself.
      setTimeout(() => process.exit(), 1000).unref()
    })
}

/** xdg-open / open / start where there is one; a headless box just keeps the printed URL. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true })
    child.on('error', () => process.stderr.write(`shardscope: no browser to open here; open the URL above yourself.\n`))
    // xdg-open is there but found no browser (a headless box): it says so only in its exit code.
    child.on('exit', (code) => code !== 0 && process.stderr.write(`shardscope: ${cmd} could not open a browser (exit code ${code}); open the URL above yourself.\n`))
    child.unref()
  } catch {
    process.stderr.write(`shardscope: no browser to open here; open the URL above yourself.\n`)
  }
}
