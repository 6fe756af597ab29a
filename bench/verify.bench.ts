/**
 * Full verification (every image decoded, every check) of a demo dataset of 100,000
 * train + 10,000 val 64×64 JPEG samples (quick: 9,000 + 1,000), side by side in one run
 * with (a) a Python tarfile + PIL loop doing the same decode-and-check work (what the
 * post-mortem's verify_webdataset.py did; Debian's python3-pil + numpy), and (b) the
 * decode-only limit: the fastest decoder we have (WASM mozjpeg, src/core/imaging/
 * fast-jpeg.ts, its synchronous call) decoding the same JPEG bytes from memory on all
 * cores.
 *
 * The verifier runs as its own process (this file re-run in child mode), so its peak
 * RSS is its own. The dataset is generated once with generateDemo and cached under
 * .cache/bench/ (the inventory bench's cache of the same recipe is reused).
 *
 * Last stdout line: one JSON object. SHARDSCOPE_BENCH_QUICK=1: the 10,000-sample version.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

if (process.env.SHARDSCOPE_VERIFY_BENCH_CHILD) {
  const { verifyDataset } = await import('../src/core/verify/verify-dataset')
  const t0 = performance.now()
  const report = await verifyDataset({ datasetDir: process.env.SHARDSCOPE_VERIFY_BENCH_CHILD })
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage() // every thread of the process, start-up included
  const errors = report.findings.filter((f) => f.severity !== 'info').map((f) => f.code)
  console.log(JSON.stringify({ seconds, samples: report.samplesVerified, images: report.splits.reduce((a, s) => a + s.imagesDecoded, 0), threads: report.decodeThreads, findings: errors, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssKiB: process.resourceUsage().maxRSS }))
  process.exit(0)
}

const quick = process.env.SHARDSCOPE_BENCH_QUICK === '1'
const train = quick ? 9000 : 100_000
const val = quick ? 1000 : 10_000
const recipe = { train, val, classes: 200, size: 64, shardMaxcount: 1000, seed: 0 }

async function ensureDataset(): Promise<string> {
  // Same recipe as bench/inventory.bench.ts: share its cache when it is complete.
  for (const name of [`inventory-${train + val}`, `verify-${train + val}`]) {
    const dir = join(root, '.cache', 'bench', name)
    if (existsSync(join(dir, '.complete'))) return dir
  }
  const dir = join(root, '.cache', 'bench', `verify-${train + val}`)
  rmSync(dir, { recursive: true, force: true })
  process.stderr.write(`[verify bench] generating ${train + val} demo samples in ${dir} (cached for later runs)…\n`)
  const { generateDemo } = await import('../src/core/demo')
  await generateDemo(dir, recipe)
  writeFileSync(join(dir, '.complete'), new Date().toISOString())
  return dir
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>
}

/**
 * The verifier's worker thread, bundled as the app's build bundles it (dependencies
 * external), so the measurement does not include tsx transpiling the source in each thread.
 */
async function buildWorker(): Promise<string> {
  const { build } = await import('esbuild')
  const outfile = join(root, '.cache', 'bench', 'shard-check-worker.mjs')
  await build({ entryPoints: [join(root, 'src', 'core', 'verify', 'shard-check-worker.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'error' })
  return outfile
}

/** The verifier, as its own process. */
function runVerifier(dataset: string, worker: string): { seconds: number; samples: number; images: number; threads: number; findings: string[]; cpuSeconds: number; maxRssKiB: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SHARDSCOPE_VERIFY_BENCH_CHILD: dataset, SHARDSCOPE_VERIFY_WORKER: worker },
    maxBuffer: 16 * 1024 * 1024
  })
  if (r.status !== 0) throw new Error(`verifier run failed: ${r.stderr.slice(-2000)}`)
  return lastJson(r.stdout) as never
}

/** (a) What users write by hand: tarfile + PIL, one process, the same decode-and-check work. */
const PYTHON_LOOP = String.raw`
import io, json, os, sys, tarfile, time, resource
import numpy as np
from PIL import Image
classes = int(sys.argv[1]); shards = sys.argv[2:]
t0 = time.time(); c0 = os.times(); n = 0; bad = 0
sums = np.zeros(3); sumsq = np.zeros(3); keys = set()
for path in shards:
    with tarfile.open(path) as tar:
        sample = {}; key = None
        def check(s):
            global n, bad, sums, sumsq
            n += 1
            try:
                img = np.asarray(Image.open(io.BytesIO(s['jpg'])).convert('RGB'), dtype=np.float64)
                if img.shape != (64, 64, 3): bad += 1
                sums += img.sum(axis=(0, 1)); sumsq += (img * img).sum(axis=(0, 1))
            except Exception:
                bad += 1
            label = int(s['cls'].decode())
            if not 0 <= label < classes: bad += 1
        for m in tar:
            if not m.isfile(): continue
            base = m.name.rsplit('/', 1)[-1]
            k, _, ext = base.partition('.')
            if k != key and sample:
                check(sample); sample = {}
            key = k
            if k not in keys: keys.add(k)
            sample[ext.lower()] = tar.extractfile(m).read()
        if sample: check(sample)
seconds = time.time() - t0; c1 = os.times()
print(json.dumps({"seconds": seconds, "samples": n, "bad": bad, "cpuSeconds": (c1.user - c0.user) + (c1.system - c0.system), "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`

function runPython(dataset: string): { seconds: number; samples: number; cpuSeconds: number; maxRssKiB: number } {
  const shards: string[] = []
  for (let i = 0; i < Math.ceil(train / 1000); i++) shards.push(join(dataset, 'train', `train-${String(i).padStart(6, '0')}.tar`))
  for (let i = 0; i < Math.ceil(val / 1000); i++) shards.push(join(dataset, 'val', `val-${String(i).padStart(6, '0')}.tar`))
  const r = spawnSync('/usr/bin/python3', ['-c', PYTHON_LOOP, String(recipe.classes), ...shards], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`python loop failed: ${r.stderr.slice(-2000)}`)
  return lastJson(r.stdout) as never
}

/** (b) The decode-only limit: the same JPEG bytes, from memory, decoded on every core. */
async function decodeOnly(dataset: string, limit: number): Promise<{ images: number; seconds: number; cpuSeconds: number; threads: number }> {
  const { readSamples } = await import('../src/core/wds/read')
  const images: Uint8Array[] = []
  for (let i = 0; images.length < limit; i++) {
    const path = join(dataset, 'train', `train-${String(i).padStart(6, '0')}.tar`)
    if (!existsSync(path)) break
    for await (const s of readSamples({ url: path, kind: 'file', path, pattern: path })) {
      if (s.fields.jpg) images.push(new Uint8Array(s.fields.jpg))
      if (images.length >= limit) break
    }
  }
  const threads = availableParallelism()
  const tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  const decoder = pathToFileURL(join(root, 'src', 'core', 'imaging', 'fast-jpeg.ts')).href
  const code = `
    const { parentPort } = require('node:worker_threads')
    parentPort.once('message', async (images) => {
      const api = await import(${JSON.stringify(pathToFileURL(tsxApi).href)}); api.register()
      const { loadJpegDecoder, decodeJpegSync } = await import(${JSON.stringify(decoder)})
      await loadJpegDecoder() // load the WASM module outside the timing
      decodeJpegSync(images[0])
      parentPort.postMessage('ready')
      parentPort.once('message', () => {
        for (const bytes of images) decodeJpegSync(bytes)
        parentPort.postMessage('done')
      })
    })`
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }))
  const share = Math.ceil(images.length / threads)
  const wait = (w: Worker, what: string) => new Promise<void>((resolve, reject) => w.once('message', (m) => (m === what ? resolve() : reject(new Error(String(m))))).once('error', reject))
  await Promise.all(workers.map((w, i) => (w.postMessage(images.slice(i * share, (i + 1) * share)), wait(w, 'ready'))))
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  await Promise.all(workers.map((w) => (w.postMessage('go'), wait(w, 'done'))))
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  await Promise.all(workers.map((w) => w.terminate()))
  return { images: images.length, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, threads }
}

const dataset = await ensureDataset()
// Warm the page cache so the first contender does not pay for the disk.
spawnSync('sh', ['-c', `cat ${join(dataset, 'train')}/*.tar ${join(dataset, 'val')}/*.tar > /dev/null`])
const verifier = runVerifier(dataset, await buildWorker())
const python = runPython(dataset)
const limit = await decodeOnly(dataset, quick ? 10_000 : 30_000)

const verifierRate = verifier.samples / verifier.seconds
const pythonRate = python.samples / python.seconds
const decodeRate = limit.images / limit.seconds
console.log(
  JSON.stringify({
    dataset: { samples: train + val, imageSize: '64×64 JPEG', shards: Math.ceil(train / 1000) + Math.ceil(val / 1000) },
    verifier: { samplesPerSecond: Math.round(verifierRate), samplesPerCpuSecond: Math.round(verifier.samples / verifier.cpuSeconds), seconds: +verifier.seconds.toFixed(2), samples: verifier.samples, imagesDecoded: verifier.images, decodeThreads: verifier.threads, findings: verifier.findings, peakRssMiB: +(verifier.maxRssKiB / 1024).toFixed(1) },
    pythonTarfilePil: { samplesPerSecond: Math.round(pythonRate), samplesPerCpuSecond: Math.round(python.samples / python.cpuSeconds), seconds: +python.seconds.toFixed(2), samples: python.samples, peakRssMiB: +(python.maxRssKiB / 1024).toFixed(1) },
    decodeOnlyLimit: { imagesPerSecond: Math.round(decodeRate), imagesPerCpuSecond: Math.round(limit.images / limit.cpuSeconds), images: limit.images, threads: limit.threads, decoder: '@jsquash/jpeg (WASM mozjpeg)' },
    ratios: {
      verifierVsPython: +(verifierRate / pythonRate).toFixed(2),
      verifierVsDecodeOnly: +(verifierRate / decodeRate).toFixed(2),
      // On a shared, loaded machine wall-clock rates mostly measure the neighbours; per CPU-second they measure the work.
      perCpuSecondVerifierVsPython: +(verifier.samples / verifier.cpuSeconds / (python.samples / python.cpuSeconds)).toFixed(2),
      perCpuSecondVerifierVsDecodeOnly: +(verifier.samples / verifier.cpuSeconds / (limit.images / limit.cpuSeconds)).toFixed(2)
    },
    machine: { cpus: availableParallelism(), loadAverage1m: +loadavg()[0]!.toFixed(1) },
    targets: { verifierVsPython: 4, verifierVsDecodeOnly: 0.8, peakRssMiB: 300 }
  })
)
