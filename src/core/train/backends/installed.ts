import { createRequire } from 'node:module'
import type { BackendName } from './index'

/**
 * The optional packages a backend loads, and what each needs. Whether they are installed
 * is known in the parent process before any run folder or process exists, without
 * loading them (loading libtensorflow or Dawn takes seconds and belongs in the
 * parameter server, which probes the backend for real).
 */
const OPTIONAL_PACKAGES: Partial<Record<BackendName, { name: string; needs: string }[]>> = {
  cuda: [{ name: '@tensorflow/tfjs-node-gpu', needs: 'it needs libtensorflow with CUDA' }],
  webgpu: [
    { name: 'webgpu', needs: 'Dawn for Node' },
    { name: '@tensorflow/tfjs-backend-webgpu', needs: 'the TensorFlow.js WebGPU backend' }
  ]
}

/** Why `backend` cannot start here because a package it loads is not installed, or null. */
export function missingBackendPackage(backend: BackendName | 'auto'): string | null {
  const resolvePackage = createRequire(import.meta.url).resolve
  for (const { name, needs } of OPTIONAL_PACKAGES[backend as BackendName] ?? []) {
    try {
      resolvePackage(name)
    } catch (err) {
      // An ESM-only package answers require.resolve with ERR_PACKAGE_PATH_NOT_EXPORTED: it is there.
      if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return `${name} is not installed (optional dependency; ${needs})`
    }
  }
  return null
}
