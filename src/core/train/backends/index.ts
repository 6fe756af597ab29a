/**
 * Compute backends for the trainer: which TensorFlow.js backend runs the model, chosen
 * at run time, with the reason a faster one is not in use.
 *
 *   cuda    @tensorflow/tfjs-node-gpu (optional dependency; needs libtensorflow + CUDA)
 *   webgpu  @tensorflow/tfjs-backend-webgpu on Dawn for Node (the `webgpu` package)
 *   wasm    @tensorflow/tfjs-backend-wasm, with our gradient kernels (../kernels); with
 *           `wasmThreads` > 1 its multi-threaded SIMD build (./wasm-threads.ts)
 *   cpu     @tensorflow/tfjs-backend-cpu, plain JS: the last resort
 *
 * `auto` takes the first that works of cuda, webgpu on a hardware GPU, wasm, cpu. WebGPU
 * on a software Vulkan device (Mesa's lavapipe/llvmpipe, SwiftShader) is ranked below
 * wasm because it is slower here (see SOFTWARE_WEBGPU_NOTE). Each backend is probed
 * once per process; a probe that fails leaves the reason, never a stack trace.
 *
 * It does not build models or move data (../model.ts does).
 */
import * as tf from '@tensorflow/tfjs-core'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { registerWasmGradientKernels } from '../kernels'
import { registerThreadedWasm } from './wasm-threads'

// tfjs prints a banner urging tfjs-node to every Node process that touches the CPU
// backend, on stderr of every CLI run and worker. Production mode silences tfjs's
// warnings (it also skips debug-only checks, which are off by default anyway).
tf.enableProdMode()

export type BackendName = 'cuda' | 'webgpu' | 'wasm' | 'cpu'
export type BackendChoice = BackendName | 'auto'
export const BACKEND_NAMES: readonly BackendName[] = ['cuda', 'webgpu', 'wasm', 'cpu']

export interface BackendStatus {
  name: BackendName
  available: boolean
  /** Why it is (not) available, in one line: the load error, the adapter found, ... */
  reason: string
  /** Facts about it when available: adapter, threads, SIMD, software or hardware. */
  detail?: Record<string, string | number | boolean>
}

export interface ActiveBackend {
  name: BackendName
  /** Why this one: for `auto`, why each faster one was passed over. */
  reason: string
  detail?: Record<string, string | number | boolean>
}

/** Measured on the 2-core CI box (bench/compute.bench.ts): small CNN, batch 64, 64×64×3. */
export const SOFTWARE_WEBGPU_NOTE = 'WebGPU on a software Vulkan device (lavapipe) trains slower than WASM on the same CPU cores'

/** tfjs's own name for each of ours. */
const TF_NAME: Record<BackendName, string> = { cuda: 'tensorflow', webgpu: 'webgpu', wasm: 'wasm', cpu: 'cpu' }

const probes = new Map<BackendName, Promise<BackendStatus>>()

export interface BackendOptions {
  /**
   * XNNPACK threads for the WASM backend (default 1). Fixed by the first WASM start in
   * a process; a training worker asks for its share of the cores.
   */
  wasmThreads?: number
}

let wasmThreads = 1
/**
 * The threaded build pre-starts 8 pthread workers; a pool that needs more would start
 * them from the main thread while it blocks waiting for them (Emscripten deadlocks).
 */
const MAX_WASM_THREADS = 8

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  // First line only: loader errors append require stacks.
  return text.split('\n')[0]!.trim()
}

/** Loads a module by a name the bundler cannot see, so optional packages stay optional. */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name)
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(TF_NAME[name])
  if (!ok) throw new Error(`tf.setBackend('${TF_NAME[name]}') failed`)
  await tf.ready()
}

async function probeCuda(): Promise<BackendStatus> {
  try {
    await importOptional('@tensorflow/tfjs-node-gpu')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
        ? `@tensorflow/tfjs-node-gpu is not installed (optional dependency; it needs libtensorflow with CUDA): ${message(err)}`
        : `@tensorflow/tfjs-node-gpu failed to load (libtensorflow/CUDA): ${message(err)}`
    return { name: 'cuda', available: false, reason }
  }
  if (!tf.findBackendFactory(TF_NAME.cuda)) {
    return { name: 'cuda', available: false, reason: '@tensorflow/tfjs-node-gpu loaded but registered no "tensorflow" backend' }
  }
  return { name: 'cuda', available: true, reason: 'libtensorflow with CUDA loaded' }
}

interface AdapterFacts {
  vendor?: string
  architecture?: string
  device?: string
  description?: string
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i

/**
 * Vulkan drivers keep compiled shaders in the user's home (Mesa in ~/.cache/mesa_shader_cache*,
 * NVIDIA in ~/.cache/nvidia): ShardScope writes nothing outside the folders it is given, so
 * their disk caches are off unless the user configured them. Read when the driver loads.
 */
function keepDriverCachesOff(): void {
  if (process.env.MESA_SHADER_CACHE_DIR === undefined) process.env.MESA_SHADER_CACHE_DISABLE ??= 'true'
  process.env.__GL_SHADER_DISK_CACHE ??= '0'
}

async function probeWebgpu(): Promise<BackendStatus> {
  let adapterFacts: AdapterFacts
  try {
    const g = globalThis as { navigator?: { gpu?: unknown } }
    if (!g.navigator?.gpu) {
      keepDriverCachesOff()
      const { create, globals } = (await importOptional('webgpu')) as { create: (flags: string[]) => unknown; globals: object }
      Object.assign(globalThis, globals)
      const gpu = create([])
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true })
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true })
    }
    const gpu = g.navigator!.gpu as { requestAdapter(o?: object): Promise<{ info?: AdapterFacts } | null> }
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
    if (!adapter) return { name: 'webgpu', available: false, reason: 'Dawn found no WebGPU adapter (no Vulkan device; on Linux install Mesa ≥ 25 for lavapipe)' }
    const info = adapter.info ?? {}
    adapterFacts = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }
    // Registers the 'webgpu' backend now that navigator.gpu exists.
    await importOptional('@tensorflow/tfjs-backend-webgpu')
    await activate('webgpu')
  } catch (err) {
    return { name: 'webgpu', available: false, reason: `WebGPU (Dawn) failed: ${message(err)}` }
  }
  const adapterText = [adapterFacts.vendor, adapterFacts.architecture, adapterFacts.device, adapterFacts.description].filter(Boolean).join(' ')
  const software = SOFTWARE_ADAPTER.test(adapterText)
  return {
    name: 'webgpu',
    available: true,
    reason: `adapter: ${adapterText || 'unnamed'}${software ? ' (software Vulkan)' : ''}`,
    detail: { adapter: adapterText, software }
  }
}

async function probeWasm(): Promise<BackendStatus> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm')
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm')
    // In Node the .wasm files are read from the package's dist folder.
    const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))
    wasm.setWasmPaths(dist + '/')
    registerWasmGradientKernels()
  } catch (err) {
    return { name: 'wasm', available: false, reason: `WASM backend failed: ${message(err)}` }
  }
  let threadedFailure = ''
  // The threaded build shows whether it works only when activated; once it is, that is the activation.
  let active = false
  if (wasmThreads > 1) {
    const singleThreaded = tf.findBackendFactory('wasm')
    try {
      registerThreadedWasm(wasm, wasmThreads)
      await activate('wasm')
      active = true
    } catch (err) {
      threadedFailure = ` (the ${wasmThreads}-thread build failed: ${message(err)})`
      tf.removeBackend('wasm')
      if (singleThreaded) tf.registerBackend('wasm', singleThreaded, 2)
    }
  }
  try {
    if (!active) await activate('wasm')
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))
    const threads = wasm.getThreadsCount()
    const how = threads > 1 ? 'threaded build on worker_threads' : threadedFailure ? 'single-threaded build' : 'a training worker with cores to spare starts more, on worker_threads'
    return {
      name: 'wasm',
      available: true,
      // tfjs-backend-wasm turns WASM threads off under Node (tensorflow/tfjs#3830); ./wasm-threads.ts starts them.
      reason: `XNNPACK${simd ? ' with SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'} (${how})${threadedFailure}`,
      detail: { simd, threads }
    }
  } catch (err) {
    return { name: 'wasm', available: false, reason: `WASM backend failed: ${message(err)}` }
  }
}

async function probeCpu(): Promise<BackendStatus> {
  try {
    await import('@tensorflow/tfjs-backend-cpu')
    await activate('cpu')
    return { name: 'cpu', available: true, reason: 'plain JavaScript kernels (slowest)' }
  } catch (err) {
    return { name: 'cpu', available: false, reason: `CPU backend failed: ${message(err)}` }
  }
}

const PROBE: Record<BackendName, () => Promise<BackendStatus>> = { cuda: probeCuda, webgpu: probeWebgpu, wasm: probeWasm, cpu: probeCpu }

/** Probes one backend (once per process). May leave it as tfjs's active backend. */
function probe(name: BackendName): Promise<BackendStatus> {
  let p = probes.get(name)
  if (!p) {
    p = PROBE[name]()
    probes.set(name, p)
  }
  return p
}

/** Every backend, available or the exact reason not. Keeps the active backend as it was. */
export async function listBackends(): Promise<BackendStatus[]> {
  const before = activeBackendName()
  const statuses: BackendStatus[] = []
  for (const name of BACKEND_NAMES) statuses.push(await probe(name))
  if (before) await activate(before)
  return statuses
}

/** Our name of tfjs's active backend, if one was initialised. */
function activeBackendName(): BackendName | null {
  const current = tf.engine().backendName as string | null | undefined
  return BACKEND_NAMES.find((n) => TF_NAME[n] === current) ?? null
}

/**
 * Makes one backend active for this process. A named backend that is not available is
 * an error naming why; `auto` picks the fastest that works and says why in `reason`.
 */
export async function initBackend(choice: BackendChoice, options: BackendOptions = {}): Promise<ActiveBackend> {
  if (options.wasmThreads !== undefined && !probes.has('wasm')) wasmThreads = Math.min(MAX_WASM_THREADS, Math.max(1, Math.floor(options.wasmThreads)))
  if (choice !== 'auto') {
    const status = await probe(choice)
    if (!status.available) throw new Error(`backend '${choice}' is not available: ${status.reason}`)
    await activate(choice)
    return { name: choice, reason: `requested: ${status.reason}`, detail: status.detail }
  }
  const passedOver: string[] = []
  for (const name of BACKEND_NAMES) {
    const status = await probe(name)
    if (!status.available) {
      passedOver.push(`${name}: ${status.reason}`)
      continue
    }
    if (name === 'webgpu' && status.detail?.software) {
      const wasm = await probe('wasm')
      if (wasm.available) {
        passedOver.push(`webgpu: ${status.reason}; ${SOFTWARE_WEBGPU_NOTE}`)
        continue
      }
    }
    await activate(name)
    const why = passedOver.length > 0 ? ` (passed over: ${passedOver.join('; ')})` : ''
    return { name, reason: `fastest available: ${status.reason}${why}`, detail: status.detail }
  }
  throw new Error(`no TensorFlow.js backend works here: ${passedOver.join('; ')}`)
}
