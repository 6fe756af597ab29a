/**
 * `shardscope inventory PATTERN|FOLDER [--base DIR] [--json] [--threads N]`: each shard's size, sample
 * count, fields, classes, first/last key and problems, per-split totals, and the shard
 * files a pattern does not cover. Exit 0 clean, 1 problems or uncovered shards, 2 usage
 * or I/O error (a pattern we refuse, a folder without shards).
 */
import type { Command } from 'commander'
import type { RegisterCommand } from './index'
import { CliError, ExitCode, isInteractive, printJson, progressBar } from '../output'
import type { Inventory } from '../../core/inventory'
import { formatBytes, plural } from '../../shared/words'

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => (c === 3 || c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n'
}

/** The human-readable report: one row per shard, then coverage, problems and totals. */
export function formatInventory(inventory: Inventory): string {
  const rows = [['split', 'shard', 'size', 'samples', 'fields', 'classes', 'first key', 'last key', 'problems']]
  for (const s of inventory.shards) {
    const fields = Object.entries(s.fields)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([f, n]) => (n === s.samples ? f : `${f}(${n})`))
      .join(',')
    const classes = s.classHistogram.filter((n) => n > 0).length
    // Samples whose label is no class id ("abc", -1) are in no class: said beside the classes, as the JSON has them.
    const classCell = s.unlabelled > 0 ? `${classes} (+${s.unlabelled} unlabelled)` : String(classes)
    rows.push([s.split, s.name, formatBytes(s.bytes), String(s.samples), fields || '-', classCell, s.firstKey ?? '-', s.lastKey ?? '-', String(s.problems.length)])
  }
  let out = table(rows)
  for (const gap of inventory.coverage) out += `\n! ${gap.message}\n`
  for (const pattern of inventory.coverageNotChecked) out += `\n? ${pattern}: which shards it leaves out is not checked (a web server or bucket cannot be listed)\n`
  for (const copy of inventory.copiesNotListed) {
    out += `\nnot listed: the ${copy.split} copy \`${copy.pattern}\` that dataset.json names (\`shardscope verify\` compares it with the local shards; give its pattern to list it)\n`
  }
  const problems = inventory.shards.flatMap((s) => s.problems)
  if (problems.length) {
    out += `\nproblems:\n`
    // Shard-level messages start with the shard's URL; member-level ones (a sample, a member) are given it.
    for (const p of problems.slice(0, 50)) out += `  ${p.kind}: ${p.message.startsWith(p.url) ? p.message : `${p.url}: ${p.message}`}\n`
    if (problems.length > 50) out += `  … and ${problems.length - 50} more (use --json for all)\n`
  }
  out += '\n'
  for (const split of inventory.splits) {
    const expected = split.expectedSamples !== undefined && split.expectedSamples !== split.samples ? ` (dataset.json expects ${split.expectedSamples.toLocaleString('en-US')})` : ''
    out += `${split.name}: ${plural(split.shards, 'shard')}, ${plural(split.samples, 'sample')}${expected}, ${formatBytes(split.bytes)}, ${plural(split.classHistogram.filter((n) => n > 0).length, 'class', 'classes')}${split.unlabelled > 0 ? `, ${plural(split.unlabelled, 'unlabelled sample')}` : ''}\n`
  }
  const t = inventory.totals
  const uncovered = inventory.coverageNotChecked.length > 0 ? `${plural(t.uncovered, 'uncovered shard file')} (http(s) patterns not checked)` : plural(t.uncovered, 'uncovered shard file')
  out += `total: ${plural(t.shards, 'shard')}, ${plural(t.samples, 'sample')}, ${formatBytes(t.bytes)}; ${plural(t.problems, 'problem')}, ${uncovered}\n`
  return out
}

export const registerInventory: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('inventory')
    .description('List the shards a pattern or folder names: size, samples, fields, classes, keys, problems, and shard files the pattern misses.')
    .argument('<pattern-or-folder>', 'a dataset folder (its dataset.json says the splits), a folder of shards (with train/, val/ subfolders) or a pattern such as file:train/train-{000000..000002}.tar')
    .option('--base <dir>', 'folder that relative paths in the pattern resolve against', process.cwd())
    .option('--json', 'print JSON')
    .option('--threads <n>', 'threads reading shards (default: one per GiB of shards, up to the number of cores, at most 4)')
    .action(async (source: string, opts: { base: string; json?: boolean; threads?: string }) => {
      const threads = opts.threads === undefined ? undefined : Number(opts.threads)
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new CliError(`--threads must be a whole number ≥ 1, got "${opts.threads}"`, ExitCode.Usage)
      const bar = await progressBar(isInteractive(opts.json), 'inventory [{bar}] {value}/{total} shards')
      const { inventoryShards } = await import('../../core/inventory')
      const { PatternError } = await import('../../core/wds/patterns')
      let inventory: Inventory
      try {
        inventory = await inventoryShards(source, {
          baseDir: opts.base,
          threads,
          onProgress: (p) => {
            if (!bar) return
            if (p.shardsDone === 1) bar.start(p.shardsTotal, 0)
            bar.update(p.shardsDone)
          }
        })
      } catch (error) {
        if (error instanceof PatternError) throw new CliError(error.message, ExitCode.Usage)
        throw error
      } finally {
        bar?.stop()
      }
      if (inventory.shards.length === 0) throw new CliError(`${source}: no shards found (*.tar, *.tar.gz, *.tgz)`, ExitCode.Usage)
      if (opts.json) printJson(inventory)
      else process.stdout.write(formatInventory(inventory))
      const allUnreadable = inventory.shards.every((s) => s.problems.some((p) => p.kind === 'unreadable'))
      setExitCode(allUnreadable ? ExitCode.Usage : inventory.totals.problems > 0 || inventory.totals.uncovered > 0 ? ExitCode.Problems : ExitCode.Clean)
    })
}
