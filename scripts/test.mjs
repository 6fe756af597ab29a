// `npm test`: the whole suite as CI runs it. Installs dependencies if needed, then
// lint → typecheck → build → unit and integration tests (vitest, real files and
// processes) → browser e2e (Playwright in Chromium against serve mode, and the
// Electron spec where the binary exists). Ends with one summary line
// "N passed, N failed, N skipped" and a non-zero exit if anything failed.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDeps } from './ensure-deps.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, 'test-results')
mkdirSync(results, { recursive: true })
ensureDeps()

// Dawn (WebGPU) needs a runtime dir; Mesa's lavapipe is the Vulkan device on CI.
const runtimeDir = process.env.XDG_RUNTIME_DIR ?? join(root, '.cache', 'xdg-runtime')
mkdirSync(runtimeDir, { recursive: true, mode: 0o700 })
const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, FORCE_COLOR: process.env.CI ? '0' : process.env.FORCE_COLOR }

const steps = [
  ['lint', ['npm', 'run', '--silent', 'lint']],
  ['typecheck', ['npm', 'run', '--silent', 'typecheck']],
  ['build', ['npm', 'run', '--silent', 'build']]
]
for (const [name, [cmd, ...args]] of steps) {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env })
  console.log(`[test] ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  if (r.status !== 0) {
    console.log(`0 passed, 1 failed`)
    process.exit(1)
  }
}

const filter = process.argv.slice(2)
const vitestJson = join(results, 'vitest.json')
const vitest = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`, ...filter],
  { cwd: root, stdio: 'inherit', env }
)

const playwrightJson = join(results, 'playwright.json')
let playwright = { status: 0 }
const e2eSpecs = existsSync(join(root, 'e2e')) ? readdirSync(join(root, 'e2e')).filter((f) => f.endsWith('.spec.ts')) : []
if (e2eSpecs.length > 0 && filter.length === 0) {
  playwright = spawnSync('npx', ['playwright', 'test'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson }
  })
}

let passed = 0
let failed = 0
let skipped = 0
if (existsSync(vitestJson)) {
  const v = JSON.parse(readFileSync(vitestJson, 'utf8'))
  passed += v.numPassedTests
  failed += v.numFailedTests
  skipped += v.numPendingTests + (v.numTodoTests ?? 0)
  // A test file that fails to load counts as a failure even with no test in it.
  failed += v.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length
} else {
  failed += 1
}
if (existsSync(playwrightJson) && filter.length === 0) {
  const p = JSON.parse(readFileSync(playwrightJson, 'utf8'))
  // Say why each e2e test was skipped (the list reporter shows only a dash).
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== 'skipped') continue
        const why = (t.annotations ?? []).find((a) => a.type === 'skip')?.description || 'no reason given'
        console.log(`[test] skipped: ${spec.file} › ${spec.title} — ${why}`)
      }
    }
    for (const child of suite.suites ?? []) walk(child)
  }
  for (const suite of p.suites ?? []) walk(suite)
  passed += p.stats.expected + (p.stats.flaky ?? 0)
  failed += p.stats.unexpected
  skipped += p.stats.skipped
}
const ok = vitest.status === 0 && playwright.status === 0 && failed === 0
console.log(`${passed} passed, ${failed + (ok ? 0 : failed === 0 ? 1 : 0)} failed, ${skipped} skipped`)
process.exit(ok ? 0 : 1)
