import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import type { Plugin } from 'vite'
import react from '@vitejs/plugin-react'

/**
 * Fails the build when a chunk imports an entry file. Each entry runs its program at the
 * top level (the CLI, a child process's role, a thread's message loop), so importing one
 * runs it in the wrong process. The bundler can move a module shared by an entry and a
 * dynamic import into the entry (seen with rolldown 1.2: the CLI's `verify` loaded
 * process-entry.js, which exited with "unknown role"; rolldown issue #8849 is the same kind).
 */
function noChunkImportsAnEntry(): Plugin {
  return {
    name: 'shardscope:no-chunk-imports-an-entry',
    generateBundle(_options, bundle) {
      const entries = new Set(Object.values(bundle).flatMap((c) => (c.type === 'chunk' && c.isEntry ? [c.fileName] : [])))
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue
        for (const imported of [...chunk.imports, ...chunk.dynamicImports]) {
          if (entries.has(imported)) this.error(`${chunk.fileName} imports the entry ${imported}, which would run it; import the shared module from its own file instead`)
        }
      }
    }
  }
}

// One build for every Node-side entry: the Electron main process, the CLI / serve
// host, and the utility-process entries forked by the process host. Dependencies
// stay external (sharp, tfjs and Dawn ship native parts that must not be bundled).
export default defineConfig({
  main: {
    plugins: [noChunkImportsAnEntry()],
    build: {
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'src/main/index.ts'),
          cli: resolve(import.meta.dirname, 'src/cli/index.ts'),
          'process-entry': resolve(import.meta.dirname, 'src/core/process/entry.ts'),
          // The verifier's shard-checking threads (worker_threads need a file of their own).
          'shard-check-worker': resolve(import.meta.dirname, 'src/core/verify/shard-check-worker.ts'),
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
