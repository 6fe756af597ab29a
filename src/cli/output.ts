import { rmSync } from 'node:fs'
import type { SingleBar } from 'cli-progress'

/** The largest image side the size flags take (`import --resize`, `train --image-shape`). */
export const MAX_IMAGE_SIDE = 4096

/** Exit codes shared by every subcommand. 130 (128 + SIGINT): a run the user stopped with Ctrl-C, its summary written. */
export const ExitCode = { Clean: 0, Problems: 1, Usage: 2, Interrupted: 130 } as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure to report to the user as one line, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Usage
  ) {
    super(message)
  }
}

/** Set by a command to the exit code its result deserves. */
export type SetExitCode = (code: ExitCode) => void

/** Progress bars and live lines only on a terminal; quiet when piped or with --json. */
export function isInteractive(json: boolean | undefined): boolean {
  return !json && Boolean(process.stderr.isTTY)
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/**
 * A progress bar on stderr (cli-progress's shades_classic look), or none when `show` is false.
 * cli-progress takes ~25 ms to load, so it is loaded only when a bar is shown.
 */
export async function progressBar(show: boolean, format: string): Promise<SingleBar | undefined> {
  if (!show) return undefined
  const { SingleBar, Presets } = (await import('cli-progress')).default
  return new SingleBar({ stream: process.stderr, format, hideCursor: true }, Presets.shades_classic)
}

/**
 * While a command writes a dataset folder (make-demo, import): Ctrl-C or SIGTERM removes
 * what it had staged, says that the folder is as it was, and exits 130. Returns the
 * function that takes the handlers off again.
 */
export function leaveFolderAsItWasOnInterrupt(dir: string, staging: string): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(staging, { recursive: true, force: true })
    process.stderr.write(`\nshardscope: stopped (${signal}); ${dir} is as it was before\n`)
    process.exit(ExitCode.Interrupted)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
