import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

// One build for every Node-side entry: the Electron main process, the CLI / serve
// host, and the utility-process entries forked by the process host. Dependencies
// stay external (sharp, tfjs and Dawn ship native parts that must not be bundled).
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'src/main/index.ts'),
          cli: resolve(import.meta.dirname, 'src/cli/index.ts'),
          'process-entry': resolve(import.meta.dirname, 'src/core/process/entry.ts'),
          // The verifier's decode threads (worker_threads need a file of their own).
          'verify-decode-worker': resolve(import.meta.dirname, 'src/core/verify/decode-worker.ts'),
          // The inventory's extra reading threads.
          'inventory-worker': resolve(import.meta.dirname, 'src/core/inventory/inventory-worker.ts')
        }
      }
    }
  },
  preload: {
    build: {
      rollupOptions: {
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    resolve: {
      alias: {
        '@renderer': resolve(import.meta.dirname, 'src/renderer/src'),
        '@shared': resolve(import.meta.dirname, 'src/shared')
      }
    },
    plugins: [react()]
  }
})
