/**
 * Spreads whole shards over worker threads inside the verifier process: each thread
 * reads, decodes and checks its shard end to end (./shard-check.ts) and sends back only
 * the shard's small result, so every core decodes and the verifier's own thread only
 * merges results and reports progress. The caller bounds how many shards are in flight.
 *
 * With 0 threads (or where the worker script cannot be found) shards are checked on the
 * calling thread, one at a time, and `threads` says 0, so the report can tell.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { jpegDecoderModule } from '../imaging/fast-jpeg'
import type { ShardLocation } from '../wds/types'
import { checkShard, type ShardCheck, type ShardCheckOptions, type ShardProgress } from './shard-check'

export interface ShardJob {
  id: number
  location: ShardLocation
  options: ShardCheckOptions
}

export type ShardAnswer = { id: number; progress: number } | { id: number; result: ShardCheck } | { id: number; error: string }

interface PendingShard {
  job: ShardJob
  onProgress?: ShardProgress
  resolve(result: ShardCheck): void
  reject(err: Error): void
}

/** Source folders the worker entry is built from: a build older than any of them is stale. */
const WORKER_SOURCES = ['src/core/verify', 'src/core/imaging', 'src/core/wds', 'src/shared']

/** True when `built` is newer than every source file it was bundled from. */
function builtIsFresh(built: string, repo: string): boolean {
  try {
    const builtAt = statSync(built).mtimeMs
    for (const dir of WORKER_SOURCES) {
      for (const name of readdirSync(join(repo, dir))) {
        if (name.endsWith('.ts') && statSync(join(repo, dir, name)).mtimeMs > builtAt) return false
      }
    }
    return true
  } catch {
    return false
  }
}

/**
 * How to start a worker thread, fastest first:
 * - a prebuilt worker named by SHARDSCOPE_VERIFY_WORKER (the bench builds one);
 * - built: `shard-check-worker.js` beside the bundle (or its chunk folder);
 * - from source outside vitest: the repository's build (out/main) when it is fresh;
 * - from source: the .ts file through tsx's ESM hooks registered inside the thread
 *   (Node 20 does not pass `--import` hooks on to worker threads). That costs each
 *   thread about a second of start-up (transpiling, tsx's esbuild service), so vitest,
 *   which tests the source, is the main user.
 */
function workerLauncher(): { code: string; eval: boolean } | null {
  const prebuilt = process.env.SHARDSCOPE_VERIFY_WORKER
  if (prebuilt && existsSync(prebuilt)) return { code: prebuilt, eval: false }
  const here = dirname(fileURLToPath(import.meta.url))
  for (const built of [join(here, 'shard-check-worker.js'), join(here, '..', 'shard-check-worker.js')]) {
    if (existsSync(built)) return { code: built, eval: false }
  }
  // Source beside this module, or (from out/main or a chunk folder below it) the repository's src/.
  const candidates = [join(here, 'shard-check-worker.ts'), ...[2, 3].map((up) => join(here, ...Array<string>(up).fill('..'), 'src', 'core', 'verify', 'shard-check-worker.ts'))]
  const source = candidates.find((c) => existsSync(c))
  if (!source) return null
  const repo = join(dirname(source), '..', '..', '..')
  const repoBuild = join(repo, 'out', 'main', 'shard-check-worker.js')
  if (!process.env.VITEST && existsSync(repoBuild) && builtIsFresh(repoBuild, repo)) return { code: repoBuild, eval: false }
  let tsxApi: string
  try {
    tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  } catch {
    return null
  }
  const code = `import(${JSON.stringify(pathToFileURL(tsxApi).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(source).href)}) })`
  return { code, eval: true }
}

export class ShardPool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: PendingShard[] = []
  private readonly running = new Map<number, PendingShard>()
  private nextId = 0
  private failure: Error | null = null
  /** On the calling thread, shards run one after another (they share one read buffer). */
  private inline: Promise<unknown> = Promise.resolve()

  /** Worker threads checking shards; 0 when shards are checked on the calling thread. */
  readonly threads: number

  constructor(threads = availableParallelism()) {
    const launcher = threads > 0 ? workerLauncher() : null
    this.threads = launcher ? threads : 0
    for (let i = 0; i < this.threads && launcher; i++) {
      // Small young generation: a thread's garbage is per-sample and short-lived; the default lets it pile up (peak RSS).
      const worker = new Worker(launcher.code, {
        eval: launcher.eval,
        // A built worker needs none of the parent's flags; inheriting `--import tsx` (bench, dev runs) costs each thread a tsx start-up.
        execArgv: launcher.eval ? undefined : [],
        workerData: { jpegModule: jpegDecoderModule() },
        resourceLimits: { maxYoungGenerationSizeMb: 4 }
      })
      worker.on('message', (answer: ShardAnswer) => {
        const pending = this.running.get(answer.id)
        if (!pending) return
        if ('progress' in answer) {
          pending.onProgress?.(answer.progress)
          return
        }
        this.running.delete(answer.id)
        if ('result' in answer) pending.resolve(answer.result)
        else pending.reject(new Error(answer.error))
        this.dispatch(worker)
      })
      worker.on('error', (err) => this.fail(err))
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a verifier thread ended with code ${code}`))
      })
      this.workers.push(worker)
      this.idle.push(worker)
    }
  }

  /** Checks one shard on the next free thread. */
  check(location: ShardLocation, options: ShardCheckOptions, onProgress?: ShardProgress, signal?: AbortSignal): Promise<ShardCheck> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.threads === 0) {
      const run = this.inline.then(() => checkShard(location, options, onProgress, signal))
      this.inline = run.catch(() => undefined)
      return run
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, location, options }, onProgress, resolve, reject })
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
    this.running.set(next.job.id, next)
    worker.postMessage(next.job)
  }

  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const p of [...this.running.values(), ...this.queue]) p.reject(err)
    this.running.clear()
    this.queue.length = 0
  }

  async close(): Promise<void> {
    this.failure ??= new Error('verifier threads closed')
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
