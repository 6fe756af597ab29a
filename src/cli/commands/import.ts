/**
 * `shardscope import SRC OUT [--shard-maxcount N --shard-maxsize BYTES --seed N
 * --val-fraction F] [--json]`: image folders (one per class, or Tiny ImageNet as
 * downloaded) → shuffled WebDataset shards + dataset.json. Exit 1 when some images
 * were bad (named, left out), 0 when all imported.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode, isInteractive, leaveFolderAsItWasOnInterrupt, printJson, progressBar, MAX_IMAGE_SIDE } from '../output'
import { wholeNumber } from './make-demo'
import { plural } from '../../shared/words'

/** Bytes with an optional k/M/G suffix (powers of 1000, as webdataset's maxsize is given): `3e9`, `500M`. */
export function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMgG]?)B?$/.exec(value.trim())
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[2] ?? '').toLowerCase()] ?? 1
  const n = m ? Math.floor(Number(m[1]) * scale) : NaN
  if (!Number.isFinite(n) || n < 1024) throw new CliError(`--shard-maxsize must be a byte count of at least 1024 (e.g. 500M, 3e9; k, M and G are powers of 1000, so 1k is 1,000 bytes), got "${value}"`)
  return n
}

/** `64x64` (width × height) or `64` (square). */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)(?:[x×](\d+))?$/.exec(value.trim())
  const width = Number(m?.[1])
  const height = Number(m?.[2] ?? m?.[1])
  if (!m || !(width >= 1 && height >= 1 && width <= MAX_IMAGE_SIDE && height <= MAX_IMAGE_SIDE)) throw new CliError(`--resize takes WIDTHxHEIGHT or one side for a square, 1 to ${MAX_IMAGE_SIDE} pixels (e.g. 64x64), got "${value}"`)
  return { width, height }
}

interface ImportFlags {
  shardMaxcount: number
  shardMaxsize?: number
  seed: number
  valFraction: number
  resize?: { width: number; height: number }
  json?: boolean
}

export const registerImport: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('import')
    .description('Import an image folder (one subfolder per class, or raw Tiny ImageNet) into WebDataset shards with dataset.json.')
    .argument('<src>', 'source folder: SRC/<class>/*.jpg, SRC/{train,val}/<class>/*.jpg, or Tiny ImageNet (wnids.txt, train/, val/)')
    .argument('<out>', 'output folder (new, empty, or an earlier ShardScope dataset)')
    .option('--shard-maxcount <n>', 'most samples per shard', wholeNumber('--shard-maxcount'), 1000)
    .option('--shard-maxsize <bytes>', 'most bytes per shard (k/M/G suffixes)', parseBytes)
    .option('--seed <n>', 'shuffle seed', wholeNumber('--seed', 0), 0)
    .option('--val-fraction <f>', 'share held out for val when SRC has no val folder', (v: string) => {
      const f = Number(v)
      // dataset.json names a val split, so some images must be held out for it.
      if (!(f > 0 && f < 1)) throw new CliError(`--val-fraction must be above 0 and below 1 (a dataset needs a val split), got "${v}"`)
      return f
    }, 0.1)
    .option('--resize <WxH>', 'scale images of another size to cover WxH and centre-crop them (re-encoded); default: keep every image as it is', parseSize)
    .option('--json', 'print the result as JSON')
    .action(async (src: string, out: string, flags: ImportFlags) => {
      const { ImportRefused, OutputFolderRefused, importImageFolder, stagingFolder } = await import('../../core/importer')
      const bar = await progressBar(isInteractive(flags.json), 'import [{bar}] {value}/{total} images | {eta_formatted} left')
      let started = false
      let result
      const outDir = resolve(out)
      const keepHandlers = leaveFolderAsItWasOnInterrupt(outDir, stagingFolder(outDir))
      try {
        result = await importImageFolder(resolve(src), outDir, {
          shardMaxcount: flags.shardMaxcount,
          shardMaxsize: flags.shardMaxsize,
          seed: flags.seed,
          valFraction: flags.valFraction,
          resize: flags.resize,
          onProgress: bar
            ? ({ done, total }) => {
                if (!started) {
                  started = true
                  bar.start(total, 0)
                }
                bar.update(done)
              }
            : undefined
        })
      } catch (err) {
        if (err instanceof ImportRefused || err instanceof OutputFolderRefused) throw new CliError(err.message)
        throw err
      } finally {
        keepHandlers()
        bar?.stop()
      }
      const shards = (list: { name: string; samples: number; bytes: number }[]) => list.map(({ name, samples, bytes }) => ({ name, samples, bytes }))
      if (flags.json) {
        printJson({
          out: outDir,
          layout: result.layout,
          imported: result.imported,
          badImages: result.badImages,
          oddShapes: result.oddShapes,
          reencoded: result.reencoded,
          manifest: result.manifest,
          shards: { train: shards(result.shards.train), val: shards(result.shards.val) },
          seconds: result.seconds
        })
      } else {
        const m = result.manifest
        process.stdout.write(`Imported ${src} (${result.layout}) into ${outDir}\n`)
        process.stdout.write(`  train: ${plural(result.imported.train, 'image')} in ${plural(result.shards.train.length, 'shard')} (${m.splits.train.pattern})\n`)
        process.stdout.write(`  val:   ${plural(result.imported.val, 'image')} in ${plural(result.shards.val.length, 'shard')} (${m.splits.val.pattern})\n`)
        const shape = m.imageShape.join('×')
        process.stdout.write(`  ${plural(m.classes, 'class', 'classes')}, ${result.oddShapes.length > 0 ? 'mostly ' : ''}${shape} ${m.imageField} (height×width×channels)\n`)
        for (const [from, n] of Object.entries(result.reencoded.from)) process.stdout.write(`  ${plural(n, `${from} image`)} re-encoded as ${m.imageField}, so every sample has .${m.imageField}\n`)
        if (result.reencoded.resized > 0) process.stdout.write(`  ${plural(result.reencoded.resized, 'image')} resized to ${m.imageShape[1]}x${m.imageShape[0]} (--resize width x height)\n`)
        if (result.reencoded.madeRgb > 0) process.stdout.write(`  ${plural(result.reencoded.madeRgb, 'greyscale or CMYK image')} made RGB, as ImageFolder's convert("RGB") does\n`)
        if (result.oddShapes.length > 0) {
          const fix = flags.resize ? '' : `; --resize ${m.imageShape[1]}x${m.imageShape[0]} makes them one size`
          process.stdout.write(
            `  ${result.oddShapes.length} of ${result.imported.train + result.imported.val} images ${result.oddShapes.length === 1 ? 'is' : 'are'} not ${shape}, e.g. ${result.oddShapes[0]!.file}: imported as they are, training skips them and verify reports them${fix}\n`
          )
        }
        for (const b of result.badImages.slice(0, 20)) process.stdout.write(`  left out ${b.file}: ${b.reason}\n`)
        if (result.badImages.length > 20) process.stdout.write(`  … and ${result.badImages.length - 20} more left out (see --json)\n`)
      }
      setExitCode(result.badImages.length > 0 ? ExitCode.Problems : ExitCode.Clean)
    })
}
