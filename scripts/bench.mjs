// `npm run bench`: runs every bench/*.bench.ts (each prints one JSON object on its
// last stdout line: figures, baselines measured in the same run, ratios, peak RSS)
// and writes them together to bench/results/latest.json, printing the merged JSON.
// SHARDSCOPE_BENCH_QUICK=1 runs the small versions; `npm run bench -- compute` runs
// only the benchmarks whose name contains "compute".
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import { ensureDeps } from './ensure-deps.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
ensureDeps()
const only = process.argv.slice(2)
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()

const runtimeDir = process.env.XDG_RUNTIME_DIR ?? join(root, '.cache', 'xdg-runtime')
mkdirSync(runtimeDir, { recursive: true, mode: 0o700 })

const results = {
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version },
  quick: process.env.SHARDSCOPE_BENCH_QUICK === '1',
  startedAt: new Date().toISOString(),
  benchmarks: {}
}
for (const file of benches) {
  const name = file.replace(/\.bench\.ts$/, '')
  process.stderr.write(`[bench] ${name}…\n`)
  const t0 = Date.now()
  const r = spawnSync('node', ['--import', 'tsx', join('bench', file)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir },
    maxBuffer: 64 * 1024 * 1024
  })
  const lastLine = (r.stdout ?? '').trim().split('\n').pop() ?? ''
  let parsed
  try {
    parsed = JSON.parse(lastLine)
  } catch {
    parsed = { error: `no JSON on the last line (exit ${r.status})`, output: (r.stdout ?? '').slice(-2000) }
  }
  results.benchmarks[name] = { ...parsed, wallSeconds: +((Date.now() - t0) / 1000).toFixed(1), exitCode: r.status }
}
const outDir = join(root, 'bench', 'results')
mkdirSync(outDir, { recursive: true })
const tmp = join(outDir, `.latest.json.${process.pid}`)
writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n')
renameSync(tmp, join(outDir, 'latest.json'))
process.stdout.write(JSON.stringify(results, null, 2) + '\n')
