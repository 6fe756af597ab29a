// `npm run serve`: the ShardScope UI in the default browser, on the built-in demo
// dataset, without Electron. Installs dependencies if needed, builds when out/ is
// missing or older than the sources, then runs `shardscope serve --open --demo`.
// State (index caches, runs, recent datasets): $SHARDSCOPE_STATE_DIR or ~/.local/share/shardscope.
// Extra arguments go to `shardscope serve` (e.g. `npm run serve -- --port 8080`).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDeps } from './ensure-deps.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
ensureDeps()

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path))
    else if (!entry.name.endsWith('.test.ts') && !entry.name.endsWith('.test.tsx')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

const built = [join(root, 'out', 'main', 'cli.js'), join(root, 'out', 'renderer', 'index.html')]
const stale = built.some((f) => !existsSync(f)) || Math.min(...built.map((f) => statSync(f).mtimeMs)) < newestMtime(join(root, 'src'))
if (stale) {
  process.stderr.write('shardscope: building (npm run build)…\n')
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) {
    process.stderr.write('shardscope: build failed; run `npm run build` to see why\n')
    process.exit(2)
  }
}

const stateDir = process.env.SHARDSCOPE_STATE_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'shardscope')
const extra = process.argv.slice(2)
const args = [join(root, 'bin', 'shardscope.mjs'), 'serve', '--open', '--state-dir', stateDir, ...(extra.some((a) => !a.startsWith('-')) ? [] : ['--demo']), ...extra]
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' })
// Ctrl-C reaches the child through the terminal's process group; forward SIGTERM ourselves.
process.on('SIGTERM', () => child.kill('SIGTERM'))
process.on('SIGINT', () => {})
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
