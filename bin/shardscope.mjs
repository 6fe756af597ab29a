#!/usr/bin/env node
// The shardscope CLI. Runs the built bundle (out/main/cli.js); builds it once if it is missing.
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  process.stderr.write('shardscope: first run, building (npm run build)…\n')
  const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (built.status !== 0) {
    process.stderr.write('shardscope: build failed; run `npm run build` to see why\n')
    process.exit(2)
  }
}
process.env.SHARDSCOPE_CLI_MAIN = '1'
await import(pathToFileURL(cli).href)
