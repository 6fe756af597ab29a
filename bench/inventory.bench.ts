/**
 * Inventory throughput on a demo dataset (≥ 100,000 samples; SHARDSCOPE_BENCH_QUICK=1:
 * ~10,000), side by side in one run with `cat` of the same files (the read limit) and a
 * Python `tarfile` loop counting samples per shard (bench/baselines/tarfile_count_samples.py).
 * The page cache is warmed first for all three; each is timed as a whole process.
 * Inventory runs in a child process (this file with SHARDSCOPE_INVENTORY_CHILD=1) so its
 * peak RSS is its own. The dataset is generated once with generateDemo and cached under
 * .cache/bench/.
 *
 * Last stdout line: one JSON object.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inventoryShards } from '../src/core/inventory'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

if (process.env.SHARDSCOPE_INVENTORY_CHILD === '1') {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const inventory = await inventoryShards(process.argv[2]!)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, samples: inventory.totals.samples, shards: inventory.totals.shards, bytes: inventory.totals.bytes, problems: inventory.totals.problems, maxRssKiB: process.resourceUsage().maxRSS }))
  process.exit(0)
}

const quick = process.env.SHARDSCOPE_BENCH_QUICK === '1'
const train = quick ? 9000 : 100_000
const val = quick ? 1000 : 10_000
const dataset = join(root, '.cache', 'bench', `inventory-${train + val}`)
const repeats = quick ? 3 : 3

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

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; stdout: string } {
  const t0 = performance.now()
  const r = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] })
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}`)
  return { seconds, stdout: r.stdout }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

await ensureDataset()
const files = shardFiles(dataset)
const bytes = files.reduce((a, f) => a + statSync(f).size, 0)
/** Wall seconds, and CPU seconds (user + system) from the shell's `times`. */
function cat(): { seconds: number; cpuSeconds: number } {
  const run = timed('sh', ['-c', 'cat "$@" > /dev/null; times', 'sh', ...files])
  const [, children] = run.stdout.trim().split('\n')
  const cpuSeconds = (children ?? '')
    .split(/\s+/)
    .map((t) => /^(\d+)m([\d.]+)s$/.exec(t))
    .reduce((a, m) => a + (m ? Number(m[1]) * 60 + Number(m[2]) : 0), 0)
  return { seconds: run.seconds, cpuSeconds }
}
cat() // warm the page cache for all three

const catSeconds: number[] = []
const catCpuSeconds: number[] = []
const inventoryCpuSeconds: number[] = []
const inventorySeconds: number[] = []
const inventoryProcessSeconds: number[] = []
interface ChildResult {
  seconds: number
  cpuSeconds: number
  samples: number
  shards: number
  problems: number
  maxRssKiB: number
}
const runs: ChildResult[] = []
let maxRssKiB = 0
for (let i = 0; i < repeats; i++) {
  const catRun = cat()
  catSeconds.push(catRun.seconds)
  catCpuSeconds.push(catRun.cpuSeconds)
  const run = timed('node', ['--import', 'tsx', fileURLToPath(import.meta.url), dataset], { ...process.env, SHARDSCOPE_INVENTORY_CHILD: '1' })
  const child = JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildResult
  runs.push(child)
  inventorySeconds.push(child.seconds)
  inventoryCpuSeconds.push(child.cpuSeconds)
  inventoryProcessSeconds.push(run.seconds)
  maxRssKiB = Math.max(maxRssKiB, child.maxRssKiB)
}
const python = JSON.parse(timed('/usr/bin/python3', [join(here, 'baselines', 'tarfile_count_samples.py'), ...files]).stdout.trim().split('\n').pop()!) as { seconds: number; cpuSeconds: number; samples: number }
const pythonProcess = timed('/usr/bin/python3', [join(here, 'baselines', 'tarfile_count_samples.py'), ...files]).seconds

const child = runs[0]!
const inv = median(inventorySeconds)
const catS = median(catSeconds)
const invCpu = median(inventoryCpuSeconds)
const catCpu = median(catCpuSeconds)
console.log(
  JSON.stringify({
    samples: child.samples,
    shards: child.shards,
    bytes,
    inventoryProblems: child.problems,
    pythonSamples: python.samples,
    inventory: { seconds: +inv.toFixed(3), processSeconds: +median(inventoryProcessSeconds).toFixed(3), samplesPerSecond: Math.round(child.samples / inv), mbPerSecond: +(bytes / 1e6 / inv).toFixed(1), peakRssMiB: +(maxRssKiB / 1024).toFixed(1), cpuSeconds: +invCpu.toFixed(3) },
    cat: { seconds: +catS.toFixed(3), mbPerSecond: +(bytes / 1e6 / catS).toFixed(1), cpuSeconds: +catCpu.toFixed(3) },
    pythonTarfile: { seconds: +python.seconds.toFixed(3), processSeconds: +pythonProcess.toFixed(3), cpuSeconds: +python.cpuSeconds.toFixed(3) },
    // On a shared, overloaded machine wall time mostly measures the scheduler; CPU time is the steadier comparison.
    ratioInventoryCpuOverCat: +(invCpu / Math.max(catCpu, 0.001)).toFixed(2),
    speedupCpuOverPython: +(python.cpuSeconds / Math.max(invCpu, 0.001)).toFixed(2),
    loadAverage: os.loadavg().map((l) => +l.toFixed(1)),
    ratioInventoryOverCat: +(inv / catS).toFixed(2),
    ratioInventoryProcessOverCat: +(median(inventoryProcessSeconds) / catS).toFixed(2),
    speedupOverPython: +(python.seconds / inv).toFixed(2),
    targets: { withinCat: 1.3, overPython: 3, peakRssMiB: 200 }
  })
)
