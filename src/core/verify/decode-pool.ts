/**
 * Spreads image inspection over worker threads inside the verifier process, so
 * decoding uses every core while one thread reads shards. Batches keep messaging
 * overhead small for tiny images; the caller bounds how many are in flight.
 *
 * Where the worker script cannot be found (a bundle built without it), images are
 * inspected on the calling thread and `threads` says 0, so the report can tell.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { DecodeAnswer, DecodeJob } from './decode-worker'
import { inspectImage, type ImageInspection, type InspectLimits } from './inspect-image'

interface PendingBatch {
  resolve(results: ImageInspection[]): void
  reject(err: Error): void
}

/**
 * How to start a decode thread. Built: `verify-decode-worker.js` beside the bundle.
 * From source (vitest, tsx, or a bundle built without the worker entry): the .ts file,
 * through tsx's ESM hooks registered inside the thread (Node 20 does not pass
 * `--import` hooks on to worker threads).
 */
function workerLauncher(): { code: string; eval: boolean } | null {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const built of [join(here, 'verify-decode-worker.js'), join(here, '..', 'verify-decode-worker.js')]) {
    if (existsSync(built)) return { code: built, eval: false }
  }
  // Source beside this module, or (from out/main or a chunk folder below it) the repository's src/.
  const candidates = [join(here, 'decode-worker.ts'), ...[2, 3].map((up) => join(here, ...Array<string>(up).fill('..'), 'src', 'core', 'verify', 'decode-worker.ts'))]
  const source = candidates.find((c) => existsSync(c))
  if (!source) return null
  let tsxApi: string
  try {
    tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  } catch {
    return null
  }
  const code = `import(${JSON.stringify(pathToFileURL(tsxApi).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}) })`
  return { code, eval: true }
}

export class DecodePool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: Array<{ job: DecodeJob; transfer: ArrayBuffer[] }> = []
  private readonly pending = new Map<number, PendingBatch>()
  private nextBatch = 0
  private failure: Error | null = null

  /** Worker threads decoding; 0 when images are inspected on the calling thread. */
  readonly threads: number

  constructor(
    private readonly limits: InspectLimits,
    threads = availableParallelism()
  ) {
    const launcher = threads > 0 ? workerLauncher() : null
    this.threads = launcher ? threads : 0
    for (let i = 0; i < this.threads && launcher; i++) {
      // Small heaps: a decode thread holds one batch at a time; the default young generation lets garbage pile up.
      const worker = new Worker(launcher.code, { eval: launcher.eval, workerData: limits, resourceLimits: { maxYoungGenerationSizeMb: 4 } })
      worker.on('message', (answer: DecodeAnswer) => {
        const pending = this.pending.get(answer.batch)
        this.pending.delete(answer.batch)
        pending?.resolve(answer.results)
        this.dispatch(worker)
      })
      worker.on('error', (err) => this.fail(err))
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a decode thread ended with code ${code}`))
      })
      this.workers.push(worker)
      this.idle.push(worker)
    }
  }

  /** Number of batches sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size
  }

  inspect(images: Array<{ bytes: Uint8Array; field: string }>): Promise<ImageInspection[]> {
    if (this.threads === 0) return Promise.all(images.map((i) => inspectImage(i.bytes, i.field, this.limits)))
    if (this.failure) return Promise.reject(this.failure)
    const batch = this.nextBatch++
    // One buffer per batch, moved (not copied) to the thread: fewer allocations than one per
    // image, and nothing of Node's shared Buffer pool is handed over.
    const total = images.reduce((a, i) => a + i.bytes.byteLength, 0)
    const packed = new Uint8Array(total)
    let offset = 0
    const owned = images.map(({ bytes, field }) => {
      packed.set(bytes, offset)
      const view = packed.subarray(offset, offset + bytes.byteLength)
      offset += bytes.byteLength
      return { bytes: view, field }
    })
    const transfer = [packed.buffer]
    return new Promise((resolve, reject) => {
      this.pending.set(batch, { resolve, reject })
      this.queue.push({ job: { batch, images: owned }, transfer })
      const worker = this.idle.pop()
      if (worker) this.dispatch(worker)
    })
  }

  private dispatch(worker: Worker): void {
    const next = this.queue.shift()
    if (!next) {
      if (!this.idle.includes(worker)) this.idle.push(worker)
      return
    }
    worker.postMessage(next.job, next.transfer)
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }

  async close(): Promise<void> {
    this.failure ??= new Error('decode pool closed')
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
