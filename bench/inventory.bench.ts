/**
 * Inventory throughput on a demo dataset (≥ 100,000 samples; SHARDSCOPE_BENCH_QUICK=1:
 * ~10,000), side by side in one run with `cat` of the same files (the read limit) and a
 * Python `tarfile` loop counting samples per shard (bench/baselines/tarfile_count_samples.py).
 *
 * What is measured: each contender as a whole process, as a user runs it, wall clock and
 * CPU (user + system) and peak RSS from GNU time. The inventory is the built CLI,
 * `node bin/shardscope.mjs inventory DATASET --json` (built first when out/ is older than
 * the sources). Every inventory run is cold as far as ShardScope goes: the inventory keeps
 * no index or cache, so each run reads every byte and parses every header. The page cache
 * is warm for all three (one `cat` first), so all three read from memory. Runs are
 * interleaved (cat, inventory, cat, …) and medians reported; `node -e 0` is timed too, to
 * show how much of the inventory's wall clock is Node starting, and the inventory with
 * `--threads 2` (not its default at this size). Also, separately labelled: the inventory
 * repeated inside one long-running process, as the app and `serve` run it (the first run
 * pays V8's compile of the header loop, later runs find it optimised); still cold as far as
 * ShardScope goes (no cache). The dataset is generated
 * once with generateDemo and cached under .cache/bench/.
 *
 * Last stdout line: one JSON object.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { ensureBuilt } from './built'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

const quick = process.env.SHARDSCOPE_BENCH_QUICK === '1'
const train = quick ? 9000 : 100_000
const val = quick ? 1000 : 10_000
const dataset = join(root, '.cache', 'bench', `inventory-${train + val}`)
const repeats = 5

async function ensureDataset(): Promise<void> {
  if (existsSync(join(dataset, '.complete'))) return
  rmSync(dataset, { recursive: true, force: true })
  process.stderr.write(`[inventory bench] generating ${train + val} demo samples in ${dataset} (cached for later runs)…\n`)
  const { generateDemo } = await import('../src/core/demo')
  await generateDemo(dataset, { train, val, classes: 200, size: 64, shardMaxcount: 1000, seed: 0 })
  writeFileSync(join(dataset, '.complete'), new Date().toISOString())
}

function shardFiles(folder: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) out.push(...shardFiles(path))
    else if (/\.(tar|tar\.gz|tgz)$/.test(entry.name)) out.push(path)
  }
  return out.sort()
}

interface Timed {
  seconds: number
  cpuSeconds: number
  peakRssMiB: number
  stdout: string
}

/**
 * Runs the inventory `times` times inside one process (a child, so its RSS is its own);
 * returns each run's wall and CPU seconds.
 */
function inventoryInOneProcess(times: number): { seconds: number; cpuSeconds: number }[] {
  const script = `
    const { inventoryShards } = await import(${JSON.stringify(join(root, 'src', 'core', 'inventory', 'index.ts'))})
    const runs = []
    for (let i = 0; i < ${times}; i++) {
      const cpu0 = process.cpuUsage(); const t0 = performance.now()
      await inventoryShards(${JSON.stringify(dataset)})
      const cpu = process.cpuUsage(cpu0)
      runs.push({ seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 })
    }
    console.log(JSON.stringify(runs))`
  const r = spawnSync('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`in-process inventory exited ${r.status}: ${(r.stderr ?? '').slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; cpuSeconds: number }[]
}

const devNull = openSync('/dev/null', 'w')

/** One process under GNU time: wall and CPU seconds, peak RSS; its output kept, or thrown away (cat). */
function timed(command: string, args: string[], output: 'keep' | 'discard' = 'keep'): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '@@time %e %U %S %M', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', output === 'keep' ? 'pipe' : devNull, 'pipe'] })
  const line = /@@time ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '')
  if (r.status !== 0 || !line) throw new Error(`${command} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(-2000)}`)
  return { seconds: Number(line[1]), cpuSeconds: Number(line[2]) + Number(line[3]), peakRssMiB: Number(line[4]) / 1024, stdout: r.stdout ?? '' }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number, digits = 3): number => +x.toFixed(digits)

await ensureDataset()
ensureBuilt(['out/main/cli.js', 'out/main/inventory-worker.js'], (m) => process.stderr.write(`[inventory bench] ${m}\n`))
const files = shardFiles(dataset)
const bytes = files.reduce((a, f) => a + statSync(f).size, 0)
const loadBefore = os.loadavg().map((l) => +l.toFixed(1))

const cat = (): Timed => timed('cat', files.length ? files : ['/dev/null'], 'discard')
const inventory = (...extra: string[]): Timed => timed('node', [join(root, 'bin', 'shardscope.mjs'), 'inventory', dataset, '--json', ...extra])
const nodeStart = (): Timed => timed('node', ['-e', '0'])
const python = (): Timed => timed('/usr/bin/python3', [join(here, 'baselines', 'tarfile_count_samples.py'), ...files])

cat() // warm the page cache for all three
inventory() // and the CLI's modules

const runs = { cat: [] as Timed[], inventory: [] as Timed[], inventoryTwoThreads: [] as Timed[], nodeStart: [] as Timed[], python: [] as Timed[] }
let inventoryResult: { totals: { samples: number; shards: number; problems: number }; threads: number } | null = null
for (let i = 0; i < repeats; i++) {
  runs.cat.push(cat())
  const run = inventory()
  inventoryResult ??= JSON.parse(run.stdout) as typeof inventoryResult
  runs.inventory.push(run)
  runs.nodeStart.push(nodeStart())
  // Not the default below 1 GiB of shards (src/core/inventory/inventory.ts): measured here to show why.
  runs.inventoryTwoThreads.push(inventory('--threads', '2'))
}
for (let i = 0; i < (quick ? 3 : 2); i++) runs.python.push(python())
const inApp = inventoryInOneProcess(repeats + 1)
const inAppWarm = inApp.slice(1)
const pythonCount = JSON.parse(runs.python[0]!.stdout.trim().split('\n').pop()!) as { samples: number }

const summary = (list: Timed[]): { seconds: number; cpuSeconds: number; peakRssMiB: number; mbPerSecond: number } => ({
  seconds: round(median(list.map((r) => r.seconds))),
  cpuSeconds: round(median(list.map((r) => r.cpuSeconds))),
  peakRssMiB: round(Math.max(...list.map((r) => r.peakRssMiB)), 1),
  mbPerSecond: round(bytes / 1e6 / median(list.map((r) => r.seconds)), 1)
})
const inv = summary(runs.inventory)
const catS = summary(runs.cat)
const py = summary(runs.python)
const nodeS = summary(runs.nodeStart)
console.log(
  JSON.stringify({
    measured:
      'whole processes under GNU time, medians of interleaved runs; inventory = `node bin/shardscope.mjs inventory DATASET --json` (built CLI), cold: no index or cache kept between runs, every header parsed; page cache warm for all contenders',
    samples: inventoryResult!.totals.samples,
    shards: inventoryResult!.totals.shards,
    bytes,
    inventoryProblems: inventoryResult!.totals.problems,
    inventoryThreads: inventoryResult!.threads,
    pythonSamples: pythonCount.samples,
    inventory: { ...inv, samplesPerSecond: Math.round(inventoryResult!.totals.samples / inv.seconds), secondsEachRun: runs.inventory.map((r) => r.seconds) },
    inventoryTwoThreads: { ...summary(runs.inventoryTwoThreads), secondsEachRun: runs.inventoryTwoThreads.map((r) => r.seconds) },
    cat: { ...catS, secondsEachRun: runs.cat.map((r) => r.seconds) },
    pythonTarfile: py,
    inventoryInLongRunningProcess: {
      measured: 'inventoryShards repeated in one process, as the app and serve run it (no cache; the first run compiles, later runs are JIT-warm)',
      firstSeconds: round(inApp[0]!.seconds),
      warmSeconds: round(median(inAppWarm.map((r) => r.seconds))),
      warmCpuSeconds: round(median(inAppWarm.map((r) => r.cpuSeconds))),
      ratioWarmOverCat: round(median(inAppWarm.map((r) => r.seconds)) / catS.seconds, 2)
    },
    nodeStart: { seconds: nodeS.seconds, cpuSeconds: nodeS.cpuSeconds },
    ratioInventoryOverCat: round(inv.seconds / catS.seconds, 2),
    ratioInventoryMinusNodeStartOverCat: round((inv.seconds - nodeS.seconds) / catS.seconds, 2),
    speedupOverPython: round(py.seconds / inv.seconds, 2),
    // On a shared, loaded machine wall time partly measures the neighbours; CPU time is steadier.
    ratioInventoryCpuOverCat: round(inv.cpuSeconds / Math.max(catS.cpuSeconds, 0.001), 2),
    speedupCpuOverPython: round(py.cpuSeconds / Math.max(inv.cpuSeconds, 0.001), 2),
    loadAverage: { before: loadBefore, after: os.loadavg().map((l) => +l.toFixed(1)) },
    targets: { withinCat: 1.3, overPython: 3, peakRssMiB: 200 }
  })
)
