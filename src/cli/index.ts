/**
 * The `shardscope` command line. Each subcommand lives in ./commands/<name>.ts and
 * registers itself on the program; this file only assembles them and maps the
 * outcome to the exit codes every command shares:
 *   0 clean · 1 problems found (findings, failed health check) · 2 usage or I/O error.
 */
import { Command, CommanderError } from 'commander'
import { commandsFor } from './commands'
import { ExitCode, CliError } from './output'

/** What the usual file-system errors mean, in words (the code follows in brackets). */
const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EEXIST: 'already exists (as a file where a folder is needed, or the other way round)',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  ENOENT: 'no such file or folder',
  ENOSPC: 'no space left on the device',
  EROFS: 'on a read-only file system',
  EMFILE: 'too many open files (raise ulimit -n)'
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
  program
    .name('shardscope')
    .description('Inspect, verify, browse and train on WebDataset shards.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
  let exitCode: number = ExitCode.Clean
  for (const register of await commandsFor(argv)) {
    register(program, (code) => {
      exitCode = code
    })
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return err.exitCode === 0 ? ExitCode.Clean : ExitCode.Usage
    }
    if (err instanceof CliError) {
      process.stderr.write(`shardscope: ${err.message}\n`)
      return err.exitCode
    }
    const e = err as NodeJS.ErrnoException
    if (e?.code && e.path) {
      // Folders are made level by level (core/folders.ts), so a mkdir that finds no parent
      // means the parent takes no new folders, as /proc does: not a missing path.
      const reason = e.code === 'ENOENT' && e.syscall === 'mkdir' ? 'cannot make a folder here (its parent takes no new folders)' : (SYSTEM_ERRORS[e.code] ?? e.message)
      process.stderr.write(`shardscope: ${e.path}: ${reason} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''})\n`)
      return ExitCode.Usage
    }
    throw err
  }
}

// Run when executed as the CLI bundle (not when imported by tests).
if (process.env.SHARDSCOPE_CLI_MAIN === '1') {
  // A reader that stops early (`| head`) closes the pipe: the rest of the output is dropped,
  // and the command still finishes its work (an import, a run) and exits with its own code.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err
    })
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(`shardscope: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exitCode = ExitCode.Usage
    }
  )
}
