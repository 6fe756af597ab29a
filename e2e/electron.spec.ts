/**
 * The desktop app driven as a user would, in real Electron (Playwright's _electron):
 * open the demo from the datasets view → the inventory shows the demo's shard and
 * sample counts; the browser grid shows thumbnails served by shardscope-media:; a
 * simulation starts from the Train view. Runs the built app (out/, `npm run build`)
 * with a fresh user data folder. Where Electron's binary was never downloaded, each
 * test is skipped with that reason.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test'
import { readManifest } from './fixtures/app'

const root = join(import.meta.dirname, '..')

function electronBinary(): { path: string; missing?: never } | { path?: never; missing: string } {
  const install = 'npm install-scripts approve electron && npm rebuild electron (needs a network); `npm run serve` shows the same UI in a browser'
  if (!existsSync(join(root, 'node_modules', 'electron', 'path.txt'))) {
    return { missing: `Electron binary not downloaded at node_modules/electron/dist — ${install}` }
  }
  try {
    const path = createRequire(import.meta.url)('electron') as string
    return existsSync(path) ? { path } : { missing: `Electron binary missing at ${path} — ${install}` }
  } catch (err) {
    return { missing: `Electron binary not loadable (${err instanceof Error ? err.message.split('\n')[0] : String(err)}) — ${install}` }
  }
}

const binary = electronBinary()
const built = existsSync(join(root, 'out', 'main', 'index.js'))

test.describe.configure({ mode: 'serial' })
// Skips every test of this file (hooks included), with the reason in the report.
test.skip('missing' in binary, 'missing' in binary ? binary.missing : '')
test.skip(!built, 'out/main/index.js is not built — run npm run build first')

let app: ElectronApplication
let page: Page
let userData: string

test.beforeAll(async () => {
  userData = await mkdtemp(join(tmpdir(), 'shardscope-electron-e2e-'))
  app = await electron.launch({
    executablePath: binary.path,
    args: [join(root, 'out', 'main', 'index.js'), `--user-data-dir=${userData}`, '--no-sandbox'],
    cwd: root,
    env: { ...process.env, ELECTRON_RENDERER_URL: '' } as Record<string, string>
  })
  page = await app.firstWindow()
})

test.afterAll(async () => {
  await app?.close()
  if (userData) await rm(userData, { recursive: true, force: true })
})

test('the window is sandboxed: the page sees window.shardscope but no Node or ipcRenderer', async () => {
  const seen = await page.evaluate(() => {
    const w = globalThis as unknown as Record<string, unknown>
    const client = w.shardscope as Record<string, unknown> | undefined
    return { client: client ? Object.keys(client).sort() : null, require: typeof w.require, process: typeof w.process, ipc: typeof w.ipcRenderer }
  })
  expect(seen).toEqual({ client: ['call', 'mediaUrl', 'on'], require: 'undefined', process: 'undefined', ipc: 'undefined' })
})

test('opening the demo shows its shard and sample counts in the inventory', async () => {
  await page.getByRole('button', { name: 'Open the demo dataset' }).first().click()
  await expect(page.getByRole('table', { name: 'Shards' })).toBeVisible({ timeout: 170_000 })
  const manifest = await readManifest(join(userData, 'demo'))
  for (const [split, m] of Object.entries(manifest.splits)) {
    await expect(page.getByTestId(`split-${split}-samples`)).toHaveText(m.expectedSamples.toLocaleString('en-US'))
    await expect(page.getByTestId(`split-${split}-shards`)).toHaveText(String(m.shards))
  }
})

test('the browser grid shows thumbnails loaded through shardscope-media:', async () => {
  await page.getByRole('button', { name: 'Browse', exact: true }).click()
  const images = page.locator('.sample-cell img')
  await expect(images.first()).toBeVisible({ timeout: 60_000 })
  expect(await images.first().getAttribute('src')).toMatch(/^shardscope-media:\/\/media\//)
  await expect
    .poll(() => images.evaluateAll((imgs) => imgs.slice(0, 8).every((i) => (i as unknown as { complete: boolean; naturalWidth: number }).complete && (i as unknown as { naturalWidth: number }).naturalWidth > 0)))
    .toBe(true)
})

test('a simulation starts from the Train view and reports progress', async () => {
  await page.getByRole('button', { name: 'Train', exact: true }).click()
  await page.getByRole('button', { name: /start/i }).first().click()
  await expect(page.getByText(/running|step/i).first()).toBeVisible({ timeout: 120_000 })
})
