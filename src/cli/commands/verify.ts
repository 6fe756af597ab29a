/**
 * `shardscope verify [DATASET_DIR] [--train P --val P] [--remote-train P --remote-val P]
 * [--manifest dataset.json] [--base DIR] [--json FILE]`: verify a dataset in the
 * verifier's own process, a progress bar on a terminal, the human summary on stdout.
 * Exit 0 clean, 1 findings (errors or warnings), 2 could not run.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode, isInteractive, progressBar } from '../output'
import type { SplitRequest, VerifyRequestInput } from '../../shared/contract/verify'

interface VerifyFlags {
  train?: string
  val?: string
  remoteTrain?: string
  remoteVal?: string
  manifest?: string
  base?: string
  json?: string
  threads?: number
  batchSize?: number
}

function positive(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${option} must be a whole number ≥ 1, got "${value}"`)
    return n
  }
}

/** The request the flags describe; patterns given on the command line override dataset.json's. */
export function verifyRequestFromFlags(datasetDir: string | undefined, flags: VerifyFlags): VerifyRequestInput {
  const splits: SplitRequest[] = []
  const split = (name: string, pattern?: string, remotePattern?: string) => {
    if (pattern) splits.push({ name, pattern, ...(remotePattern ? { remotePattern } : {}) })
    else if (remotePattern) throw new CliError(`--remote-${name} needs --${name} (or a dataset folder whose dataset.json names the ${name} pattern)`)
  }
  if (!datasetDir && !flags.manifest) {
    split('train', flags.train, flags.remoteTrain)
    split('val', flags.val, flags.remoteVal)
  } else {
    for (const name of ['train', 'val'] as const) {
      const pattern = name === 'train' ? flags.train : flags.val
      const remote = name === 'train' ? flags.remoteTrain : flags.remoteVal
      if (pattern || remote) splits.push({ name, ...(pattern ? { pattern } : {}), ...(remote ? { remotePattern: remote } : {}) })
    }
  }
  if (splits.length === 0 && !datasetDir && !flags.manifest) throw new CliError('nothing to verify: give a dataset folder, --manifest, or --train/--val patterns')
  return {
    ...(datasetDir ? { datasetDir: resolve(datasetDir) } : {}),
    ...(flags.manifest ? { manifestPath: resolve(flags.manifest) } : {}),
    ...(flags.base ? { base: resolve(flags.base) } : {}),
    splits,
    ...(flags.threads ? { threads: flags.threads } : {}),
    ...(flags.batchSize ? { batchSize: flags.batchSize } : {})
  }
}

export const registerVerify: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('verify')
    .description('Verify shards: coverage, readability, structure, images, labels, counts, pixel statistics, train vs val, copy vs copy; findings in plain words.')
    .argument('[dataset]', 'dataset folder: its dataset.json supplies patterns, counts, classes, shape and normalisation; without one, its shard files are verified split by split')
    .option('--train <pattern>', 'training shards, e.g. "train/train-{000000..000009}.tar"')
    .option('--val <pattern>', 'validation shards')
    .option('--remote-train <pattern>', 'another copy of the training shards to compare with (bucket, mirror)')
    .option('--remote-val <pattern>', 'another copy of the validation shards to compare with')
    .option('--manifest <file>', 'a dataset.json to check against')
    .option('--base <dir>', 'folder relative patterns resolve against (default: the dataset folder, else the current folder)')
    .option('--json <file>', 'also write the full report as JSON to this file ("-" prints it instead of the summary)')
    .option('--threads <n>', 'decoding threads (default: all cores)', positive('--threads'))
    .option('--batch-size <n>', 'batch size for label diversity (default 64)', positive('--batch-size'))
    .action(async (dataset: string | undefined, flags: VerifyFlags) => {
      const request = verifyRequestFromFlags(dataset, flags)
      const { planVerification, VerifyInputError } = await import('../../core/verify/verify-dataset')
      try {
        planVerification(request) // a bad folder, dataset.json or pattern: say so before starting a process
      } catch (err) {
        if (err instanceof VerifyInputError) throw new CliError(err.message, ExitCode.Usage)
        throw err
      }
      const { nodeProcessHost } = await import('../../core/process/node-host')
      const { startVerificationProcess, VerificationFailed } = await import('../../core/verify/run-child')
      const { summarizeReport } = await import('../../core/verify/report')
      const { writeFileAtomic } = await import('../../core/atomic-write')
      const bar = await progressBar(isInteractive(flags.json === '-'), 'verify [{bar}] {percentage}% | {samples} samples | {rate}/s | ETA {etaText} | {shard}')
      bar?.start(100, 0, { samples: 0, rate: 0, etaText: '?', shard: '' })
      const run = startVerificationProcess(nodeProcessHost, request, (p) =>
        bar?.update(Math.round((p.fraction ?? 0) * 100), {
          samples: p.samplesDone.toLocaleString('en-US'),
          rate: p.samplesPerSecond.toLocaleString('en-US'),
          etaText: p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)} s`,
          shard: p.currentShard ? p.currentShard.slice(-40) : ''
        })
      )
      const onSigint = () => run.cancel()
      process.once('SIGINT', onSigint)
      let report
      try {
        report = await run.result
      } catch (err) {
        // Ctrl-C ends the verifier's processes and the command with 130, as `train` and `import` do.
        if (err instanceof VerificationFailed) throw new CliError(err.message, err.reason === 'cancelled' ? ExitCode.Interrupted : ExitCode.Usage)
        throw err
      } finally {
        process.off('SIGINT', onSigint)
        bar?.stop()
      }
      if (flags.json === '-') process.stdout.write(JSON.stringify(report, null, 2) + '\n')
      else {
        if (flags.json) await writeFileAtomic(resolve(flags.json), JSON.stringify(report, null, 2) + '\n')
        process.stdout.write(summarizeReport(report))
      }
      setExitCode(report.counts.errors + report.counts.warnings > 0 ? ExitCode.Problems : ExitCode.Clean)
    })
}
