import { cp, mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * Doyensec's Electronegativity, the static Electron security scanner, run over the
 * shell's source (main + preload together, so its global checks see the CSP,
 * navigation and permission handlers). CI fails on any HIGH finding; lower ones that
 * need a human look are printed with their location.
 */
interface Issue {
  id: string
  file: string
  location: { line: number; column: number }
  severity: { name: string; value: number }
  confidence: { name: string }
  manualReview: boolean
}
type Run = (options: Record<string, unknown>) => Promise<{ atomicChecks: number; globalChecks: number; issues: Issue[]; errors: Array<{ file: string; message: string; tolerable: boolean }> }>

const require = createRequire(import.meta.url)
let run: Run | null = null
let missing = ''
try {
  run = require('@doyensec/electronegativity/dist/runner.js') as Run
} catch (err) {
  missing = `@doyensec/electronegativity is not installed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); run npm install`
}

describe('Electron security scan', () => {
  it.skipIf(!run)(`finds no high-severity problem in src/main and src/preload${missing ? ` — skipped: ${missing}` : ''}`, async () => {
    const scanned = await mkdtemp(join(tmpdir(), 'shardscope-scan-'))
    try {
      const root = join(import.meta.dirname, '..')
      const onlySource = (src: string) => !src.endsWith('.test.ts')
      await cp(join(root, 'main'), join(scanned, 'main'), { recursive: true, filter: onlySource })
      await cp(join(root, 'preload'), join(scanned, 'preload'), { recursive: true, filter: onlySource })
      // The version is given so the scanner does not try to look it up online.
      const result = await run!({ input: scanned, electronVersionOverride: '41.7.1', isRelative: true })
      const lines = result.issues.map((i) => `${i.severity.name} ${i.confidence.name} ${i.id} ${i.file}:${i.location.line}${i.manualReview ? ' (review)' : ''}`)
      console.log(`electronegativity: ${result.atomicChecks + result.globalChecks} checks, ${result.issues.length} findings\n${lines.join('\n')}`)
      expect(result.errors.filter((e) => !e.tolerable)).toEqual([])
      expect(result.atomicChecks).toBeGreaterThan(20)
      expect(lines.filter((l) => l.startsWith('HIGH'))).toEqual([])
    } finally {
      await rm(scanned, { recursive: true, force: true })
    }
  }, 120_000)
})
