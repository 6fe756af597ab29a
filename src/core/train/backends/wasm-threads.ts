/**
 * tfjs-backend-wasm's multi-threaded SIMD build, under Node.
 *
 * tfjs only loads that build in browsers (its WASM_HAS_MULTITHREAD_SUPPORT flag is
 * false under Node, tensorflow/tfjs#3830), because its loader hands Emscripten the
 * pthread worker script and the main script as Blob URLs, which Node's worker_threads
 * cannot start. The build itself runs under Node: its worker script has a
 * worker_threads branch. So we load it the way Emscripten expects on Node: the main
 * script from the package's wasm-out folder by path, and each pthread worker started
 * from the worker script's text (the package ships it only as a JS string) with
 * worker_threads' `eval`, so nothing is written to disk.
 *
 * tfjs then sizes XNNPACK's pool from os.cpus() halved (it assumes two hyper-threads
 * per core), which makes one thread on a 2-core machine; while the module starts we
 * report twice the cores, so `threads` is what we get (measured: 2 threads on 2 cores,
 * conv2d forward 1.3–1.8× faster). JS kernels (../kernels) still run on the calling
 * thread; only XNNPACK's (convolutions, matmuls) use the pool.
 *
 * It does not choose the thread count (the caller does) nor touch other backends.
 */
import * as tf from '@tensorflow/tfjs-core'
import { createRequire } from 'node:module'
import os from 'node:os'
import { Worker as NodeWorker } from 'node:worker_threads'
import { dirname, join } from 'node:path'

const requireHere = createRequire(import.meta.url)

interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): unknown
  tfjs?: Record<string, unknown>
}

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm')

/**
 * A worker_threads Worker that ignores the path Emscripten asks for and runs the pthread
 * worker script from its text. Emscripten creates pool workers with `new Worker(path)`
 * through the global `Worker`, which it sets to worker_threads' class while it starts.
 */
function evalWorkerClass(wasmOut: string): typeof NodeWorker {
  const source = (requireHere(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string }).wasmWorkerContents
  // tfjs escapes the newlines inside the script's string literals the same way before making its Blob.
  const script = source.replace(/\n/g, '\\n')
  return class PthreadWorker extends NodeWorker {
    constructor() {
      super(script, { eval: true })
    }
  }
}

/**
 * Replaces tfjs's 'wasm' backend factory with one that starts the threaded SIMD build
 * with `threads` XNNPACK threads. Call before the WASM backend is first initialised.
 */
export function registerThreadedWasm(wasm: WasmPackage, threads: number): void {
  const wasmOut = join(dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out')
  const mainScript = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js')
  tf.removeBackend('wasm')
  tf.registerBackend(
    'wasm',
    async () => {
      const PthreadWorker = evalWorkerClass(wasmOut)
      const factory = requireHere(mainScript) as (config: object) => Promise<EmscriptenModule>
      const cpus = os.cpus
      os.cpus = () => [...cpus(), ...cpus()]
      // Emscripten assigns global.Worker = worker_threads' Worker while it starts; keep ours.
      const global = globalThis as { Worker?: unknown }
      Object.defineProperty(global, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => undefined })
      let module: EmscriptenModule
      try {
        module = await factory({
          locateFile: (path: string) => join(wasmOut, path),
          mainScriptUrlOrBlob: mainScript
        })
      } finally {
        os.cpus = cpus
        // Workers it starts later (a pool that runs dry) are ours too: from here on, `new Worker`
        // in this process starts a pthread of this build, so it must not start threads of its own that way.
        Object.defineProperty(global, 'Worker', { configurable: true, writable: true, value: PthreadWorker })
      }
      // The bridge tfjs's own loader builds (tfjs-backend-wasm's init()).
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, [])
      }
      wasm.setThreadsCount(threads)
      return new wasm.BackendWasm(module as unknown as ConstructorParameters<typeof wasm.BackendWasm>[0])
    },
    2
  )
}
