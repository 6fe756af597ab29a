/**
 * `shardscope make-demo OUT [--train N --val N --classes N --size N --shard-maxcount N
 * --seed N --fault NAME … --val-format jpg|npy] [--json]`: write the synthetic demo
 * dataset (Tiny-ImageNet layout), with the post-mortem's faults planted on request.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode, isInteractive, leaveFolderAsItWasOnInterrupt, printJson, progressBar } from '../output'
import { plural } from '../../shared/words'
import { DEFAULT_DEMO_OPTIONS, FAULT_NAMES, isFaultName, type DemoOptions, type FaultName } from '../../core/demo/options'


/** Commander parser for a whole number ≥ min, naming the option in its message. */
export function wholeNumber(option: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new CliError(`${option} must be a whole number ≥ ${min}, got "${value}"`)
    return n
  }
}

/** The demo's own options under their flag names, plus the repeatable --fault and --json. */
type MakeDemoFlags = Pick<DemoOptions, 'train' | 'val' | 'classes' | 'size' | 'shardMaxcount' | 'seed'> &
  Required<Pick<DemoOptions, 'valFormat'>> & {
    fault?: FaultName[]
    json?: boolean
  }

export const registerMakeDemo: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('make-demo')
    .description('Write the synthetic demo dataset (64×64 JPEG + cls shards, wnids.txt, words.txt, dataset.json), optionally with planted faults.')
    .argument('<out>', 'output folder (new, empty, or an earlier ShardScope dataset)')
    .option('--train <n>', 'train samples', wholeNumber('--train'), DEFAULT_DEMO_OPTIONS.train)
    .option('--val <n>', 'val samples', wholeNumber('--val'), DEFAULT_DEMO_OPTIONS.val)
    .option('--classes <n>', 'number of classes', wholeNumber('--classes'), DEFAULT_DEMO_OPTIONS.classes)
    .option('--size <n>', 'image height and width in pixels', wholeNumber('--size', 8), DEFAULT_DEMO_OPTIONS.size)
    .option('--shard-maxcount <n>', 'most samples per shard', wholeNumber('--shard-maxcount'), DEFAULT_DEMO_OPTIONS.shardMaxcount)
    .option('--seed <n>', 'random seed (same seed, same bytes)', wholeNumber('--seed', 0), DEFAULT_DEMO_OPTIONS.seed)
    .option(
      '--fault <name>',
      `plant a fault (repeatable): ${FAULT_NAMES.join(', ')}`,
      (value: string, previous: FaultName[] | undefined) => {
        if (!isFaultName(value)) throw new CliError(`unknown fault "${value}"; known faults: ${FAULT_NAMES.join(', ')}`)
        return [...(previous ?? []), value]
      }
    )
    .option('--val-format <format>', 'val images as jpg, or npy (float32, already normalised)', (v: string) => {
      if (v !== 'jpg' && v !== 'npy') throw new CliError(`--val-format must be jpg or npy, got "${v}"`)
      return v
    }, 'jpg')
    .option('--json', 'print the result as JSON')
    .action(async (out: string, flags: MakeDemoFlags) => {
      const { generateDemo } = await import('../../core/demo/generate')
      const { OutputFolderRefused, stagingFolder, writeDatasetFolder } = await import('../../core/importer')
      const dir = resolve(out)
      const bar = await progressBar(isInteractive(flags.json), 'make-demo {split} [{bar}] {value}/{total} samples')
      let barSplit = ''
      let result
      const keepHandlers = leaveFolderAsItWasOnInterrupt(dir, stagingFolder(dir))
      try {
        result = await writeDatasetFolder(dir, (staging) => generateDemo(staging, {
          train: flags.train,
          val: flags.val,
          classes: flags.classes,
          size: flags.size,
          shardMaxcount: flags.shardMaxcount,
          seed: flags.seed,
          faults: flags.fault ?? [],
          valFormat: flags.valFormat,
          onProgress: bar
            ? ({ split, done, total }) => {
                if (split !== barSplit) {
                  if (barSplit) bar.stop()
                  barSplit = split
                  bar.start(total, 0, { split })
                }
                bar.update(done, { split })
              }
            : undefined
        }))
      } catch (err) {
        if (err instanceof RangeError || err instanceof OutputFolderRefused) throw new CliError(err.message)
        throw err
      } finally {
        keepHandlers()
        bar?.stop()
      }
      const shards = (list: { name: string; samples: number; bytes: number }[]) => list.map(({ name, samples, bytes }) => ({ name, samples, bytes }))
      if (flags.json) {
        printJson({
          out: dir,
          manifest: result.manifest,
          faults: result.faults,
          shards: { train: shards(result.shards.train), val: shards(result.shards.val), remoteVal: shards(result.shards.remoteVal) },
          seconds: result.seconds,
          samplesPerSecond: result.samplesPerSecond
        })
      } else {
        const m = result.manifest
        process.stdout.write(`Wrote ${dir}\n`)
        process.stdout.write(`  train: ${m.splits.train.expectedSamples} samples in ${plural(result.shards.train.length, 'shard')} (${m.splits.train.pattern})\n`)
        process.stdout.write(`  val:   ${m.splits.val.expectedSamples} samples in ${plural(result.shards.val.length, 'shard')} (${m.splits.val.pattern})\n`)
        process.stdout.write(`  ${plural(m.classes, 'class', 'classes')}, ${m.imageShape.join('×')} images, ${result.samplesPerSecond.toFixed(0)} samples/s\n`)
        for (const f of result.faults) process.stdout.write(`  fault ${f.name}: ${f.detail}\n`)
        if (result.faults.length > 0) process.stdout.write('  (ground truth in faults.json)\n')
      }
      setExitCode(ExitCode.Clean)
    })
}
