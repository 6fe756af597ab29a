// Installs npm dependencies when node_modules is missing or older than the lockfile,
// so `npm start` and `npm test` work on a fresh clone with no other set-up step.
// Where the Electron binary cannot be downloaded (no network, a locked-down CI), the
// install is retried without it: everything but the Electron window still works.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const marker = join(root, 'node_modules', '.package-lock.json')
const lock = join(root, 'package-lock.json')

export function ensureDeps() {
  const fresh = existsSync(marker) && (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs)
  if (fresh) return
  // `npm install`, not `npm ci`: vite 8 names an optional Windows-only dependency that
  // the registry does not serve, which npm ci reports as a lockfile mismatch.
  process.stderr.write('shardscope: installing dependencies (npm install)…\n')
  const run = (env) =>
    spawnSync('npm', ['install', '--no-audit', '--no-fund', '--include=optional'], { cwd: root, stdio: 'inherit', env })
  let result = run(process.env)
  if (result.status !== 0 && !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    process.stderr.write(
      'shardscope: install failed (the Electron binary download needs a network); retrying without Electron\'s binary.\n'
    )
    result = run({ ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' })
  }
  if (result.status !== 0) {
    process.stderr.write('shardscope: npm install failed; see the messages above.\n')
    process.exit(2)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps()
