/**
 * `shardscope backends [--json]`: every TensorFlow.js compute backend, available or the
 * exact reason not, and which one `--backend auto` would take and why.
 */
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { ExitCode, printJson } from '../output'

export const registerBackends: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('backends')
    .description('List the compute backends for training (cuda, webgpu, wasm, cpu): available, or why not.')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { initBackend, listBackends } = await import('../../core/train/backends')
      const backends = await listBackends()
      let auto: { name: string; reason: string } | { error: string }
      try {
        const chosen = await initBackend('auto')
        auto = { name: chosen.name, reason: chosen.reason }
      } catch (err) {
        auto = { error: err instanceof Error ? err.message : String(err) }
      }
      if (opts.json) {
        printJson({ backends, auto })
      } else {
        for (const b of backends) {
          process.stdout.write(`${b.name.padEnd(7)} ${b.available ? 'available    ' : 'not available'}  ${b.reason}\n`)
        }
        process.stdout.write('name' in auto ? `auto → ${auto.name}: ${auto.reason}\n` : `auto → none: ${auto.error}\n`)
      }
      setExitCode('name' in auto ? ExitCode.Clean : ExitCode.Problems)
    })
}
