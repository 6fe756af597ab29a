/**
 * The product as a user runs it is the electron-vite build (out/): benches that run the
 * CLI or serve the renderer build it first when it is missing or older than the sources.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

function newestMtimeMs(folder: string): number {
  let newest = 0
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Runs `npm run build` unless every one of these files (relative to the repo) is newer than src/. */
export function ensureBuilt(files: string[], log: (message: string) => void): void {
  const builtAt = Math.min(...files.map((f) => join(root, f)).map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)))
  if (builtAt > newestMtimeMs(join(root, 'src'))) return
  log('building (npm run build)…')
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) throw new Error(`npm run build exited ${r.status}`)
}
