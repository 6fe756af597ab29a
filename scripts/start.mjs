// `npm start`: the desktop app on the demo dataset. Installs dependencies if needed,
// checks that Electron's binary is there (it is downloaded by Electron's install
// script, which needs a network), rebuilds out/ when the sources are newer, then
// launches Electron with --demo (the main process opens the demo dataset, generating
// it in the user data folder on first use). Where the binary is missing it says what
// to do instead and exits 1, without a stack trace.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureDeps } from './ensure-deps.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The Electron executable, or why there is none. */
export function findElectron() {
  const pathFile = join(root, 'node_modules', 'electron', 'path.txt')
  if (!existsSync(join(root, 'node_modules', 'electron', 'package.json'))) return { missing: 'the electron package is not installed (node_modules/electron)' }
  if (!existsSync(pathFile)) return { missing: "Electron's binary was never downloaded (node_modules/electron/path.txt and dist/ are missing)" }
  try {
    const executable = createRequire(import.meta.url)('electron')
    if (typeof executable === 'string' && existsSync(executable)) return { executable }
    return { missing: `Electron's binary is not where node_modules/electron/path.txt says (${executable})` }
  } catch (err) {
    return { missing: `Electron's binary could not be loaded: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` }
  }
}

function newestMtime(path) {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  let newest = s.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

/** out/ is stale when any of its three builds is missing or older than the sources and build config. */
export function buildIsStale() {
  const outputs = ['out/main/index.js', 'out/main/process-entry.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((p) => join(root, p))
  if (outputs.some((p) => !existsSync(p))) return true
  const built = Math.min(...outputs.map((p) => statSync(p).mtimeMs))
  const sources = ['src', 'resources', 'electron.vite.config.ts', 'package.json'].map((p) => join(root, p)).filter(existsSync)
  return Math.max(...sources.map(newestMtime)) > built
}

function main() {
  ensureDeps()
  const electron = findElectron()
  if (electron.missing) {
    process.stderr.write(
      [
        `shardscope: cannot start the desktop app: ${electron.missing}.`,
        '',
        'To install it (needs a network):',
        '  npm install-scripts approve electron && npm rebuild electron',
        '  (or run npm install again where github.com is reachable)',
        '',
        'Meanwhile the same UI runs in your browser:',
        '  npm run serve',
        ''
      ].join('\n')
    )
    process.exit(1)
  }
  if (buildIsStale()) {
    process.stderr.write('shardscope: building the app (npm run build)…\n')
    const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
    if (built.status !== 0) {
      process.stderr.write('shardscope: the build failed; see the messages above.\n')
      process.exit(1)
    }
  }
  const args = ['.', '--demo', ...process.argv.slice(2)]
  const child = spawn(electron.executable, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_RENDERER_URL: '' } })
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main()
