/**
 * Demo dataset generation speed (render + sharp JPEG encode with many in flight +
 * deterministic tar writing), side by side in the same run with a hand-written Python
 * loop (numpy + PIL + tarfile, bench/baselines/pil_make_shards.py) making the same
 * number of 64×64 JPEG + cls samples.
 *
 * Last stdout line: one JSON object. SHARDSCOPE_BENCH_QUICK=1: 2,000 samples, else 20,000.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateDemo } from '../src/core/demo'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.env.SHARDSCOPE_BENCH_QUICK === '1'
const samples = quick ? 2000 : 20000
const val = Math.round(samples / 10)
const train = samples - val
const maxcount = 1000

const work = mkdtempSync(join(tmpdir(), 'shardscope-bench-demo-'))
try {
  const r = await generateDemo(join(work, 'demo'), { train, val, classes: 200, size: 64, shardMaxcount: maxcount, seed: 0 })
  const peakRssMiB = process.resourceUsage().maxRSS / 1024
  const py = spawnSync('/usr/bin/python3', [join(here, 'baselines', 'pil_make_shards.py'), work, String(samples), String(maxcount)], { encoding: 'utf8' })
  let python: { samplesPerSecond: number; seconds: number } | { error: string }
  try {
    python = JSON.parse(py.stdout.trim().split('\n').pop() ?? '') as { samplesPerSecond: number; seconds: number }
  } catch {
    python = { error: `python baseline failed (exit ${py.status}): ${py.stderr.slice(-500)}` }
  }
  console.log(
    JSON.stringify({
      samples,
      demo: { seconds: +r.seconds.toFixed(2), samplesPerSecond: Math.round(r.samplesPerSecond), peakRssMiB: Math.round(peakRssMiB) },
      pythonPilTarfile: 'error' in python ? python : { seconds: +python.seconds.toFixed(2), samplesPerSecond: Math.round(python.samplesPerSecond) },
      ratioDemoOverPython: 'error' in python ? null : +(r.samplesPerSecond / python.samplesPerSecond).toFixed(2)
    })
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
