import type { Command } from 'commander'
import type { SetExitCode } from '../output'

/** A subcommand adds itself to the program and reports its outcome through setExitCode. */
export type RegisterCommand = (program: Command, setExitCode: SetExitCode) => void

/**
 * One line per subcommand file, loaded only when needed: `shardscope inventory` must not
 * pay for loading TensorFlow.js, sharp or the serve host (measured: the CLI took ~1 s to
 * start with every command imported up front, most of it before any shard was read).
 * `--help`, `--version` and unknown commands load every subcommand file, so each file
 * imports only what its options need and loads the modules that do the work inside its
 * action (measured, median of 3: `--help` 0.85 → 0.16 s, `--version` 0.82 → 0.16 s).
 */
const commands: Record<string, () => Promise<RegisterCommand>> = {
  backends: async () => (await import('./backends')).registerBackends,
  'make-demo': async () => (await import('./make-demo')).registerMakeDemo,
  import: async () => (await import('./import')).registerImport,
  verify: async () => (await import('./verify')).registerVerify,
  serve: async () => (await import('./serve')).registerServe,
  train: async () => (await import('./train')).registerTrain,
  inventory: async () => (await import('./inventory')).registerInventory
}

/** The registrations `argv` needs: its subcommand's alone, or every one (help, version, a typo). */
export async function commandsFor(argv: readonly string[]): Promise<RegisterCommand[]> {
  const named = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? [commands[argv[0]]!] : Object.values(commands)
  return Promise.all(named.map((load) => load()))
}
