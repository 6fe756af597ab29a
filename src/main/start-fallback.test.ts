import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const binaryDownloaded = existsSync(join(root, 'node_modules', 'electron', 'path.txt'))

describe('npm start without the Electron binary', () => {
  it.skipIf(binaryDownloaded)(
    `says what is missing, how to install it and that npm run serve works, exiting 1 without a stack trace${binaryDownloaded ? ' — skipped: the Electron binary is installed here, so npm start would open the app' : ''}`,
    () => {
      const run = spawnSync(process.execPath, [join(root, 'scripts', 'start.mjs')], { cwd: root, encoding: 'utf8', timeout: 60_000 })
      expect(run.status).toBe(1)
      expect(run.stderr).toMatch(/cannot start the desktop app: Electron's binary was never downloaded/)
      expect(run.stderr).toContain('npm install-scripts approve electron && npm rebuild electron')
      expect(run.stderr).toContain('npm run serve')
      expect(run.stderr).not.toMatch(/\n\s+at /)
    }
  )
})
