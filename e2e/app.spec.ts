/**
 * The UI driven as a user would, in Debian's Chromium against serve mode: open the
 * demo and a folder, read the inventory, browse thumbnails whose labels match the
 * shards, verify a faulty dataset, follow a finding to its samples, train and re-run.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { expect, test } from '@playwright/test'
import { e2eEnv, labelsOfSplit, openFolder, readManifest, saveScreenshot } from './fixtures/app'

test.describe.configure({ mode: 'serial' })

/** The two fields of an <img> we read (this project's Node tsconfig has no DOM types). */
type ImageLike = { complete: boolean; naturalWidth: number }

test('a mistyped folder is named in an error the user can dismiss; the demo dataset opens in one click and the inventory shows its shard and sample counts', async ({ page }) => {
  const env = e2eEnv()
  await page.goto(env.url)
  // A mistyped folder first: the error names it, and goes once dismissed or once another path is typed.
  const missing = join(env.demo, 'no-such-folder')
  await page.getByLabel('Folder path').fill(missing)
  await page.getByLabel('Folder path').press('Escape')
  await page.getByRole('button', { name: 'Open folder' }).click()
  await expect(page.getByRole('alert')).toContainText(`No such folder: ${missing}`)
  await page.getByRole('button', { name: 'Dismiss the error' }).click()
  await expect(page.getByRole('alert')).toHaveCount(0)
  await page.getByRole('button', { name: 'Open folder' }).click()
  await expect(page.getByRole('alert')).toContainText('No such folder')
  await page.getByLabel('Folder path').fill(env.demo)
  await expect(page.getByRole('alert')).toHaveCount(0)
  // Tab completes what the box holds now: a list still answering the text before a paste is not taken.
  const root = dirname(env.clean)
  await page.getByLabel('Folder path').fill(join(root, 'fa'))
  await expect(page.getByRole('option', { name: 'faulty' })).toBeVisible()
  await page.getByLabel('Folder path').fill(join(root, 'cl'))
  await page.getByLabel('Folder path').press('Tab')
  await expect(page.getByLabel('Folder path')).toHaveValue(join(root, 'clean') + '/')
  await page.getByRole('button', { name: 'Open the demo dataset' }).first().click()
  await expect(page.getByRole('table', { name: 'Shards' })).toBeVisible({ timeout: 120_000 })
  const manifest = await readManifest(env.demo)
  for (const [split, m] of Object.entries(manifest.splits)) {
    await expect(page.getByTestId(`split-${split}-samples`)).toHaveText(m.expectedSamples.toLocaleString('en-US'))
    await expect(page.getByTestId(`split-${split}-shards`)).toHaveText(String(m.shards))
  }
  const totalShards = Object.values(manifest.splits).reduce((n, m) => n + m.shards, 0)
  await expect(page.getByTestId('shard-row')).toHaveCount(totalShards)
  await expect(page.getByTestId('coverage-warning')).toHaveCount(0)
  await saveScreenshot(page, 'inventory')
})

test('the grid shows thumbnails whose labels match the shards, and jumps, selects and opens a sample by keyboard', async ({ page }) => {
  const env = e2eEnv()
  // The contract's frames, to see what the open asked for and what came back.
  const sent: Array<{ id: number; method: string; input: { offset?: number; firstPage?: { thumbnails: number } } }> = []
  const received: Array<{ id?: number; value?: { firstPage?: { items: unknown[]; thumbnails?: unknown[] } } }> = []
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => sent.push(JSON.parse(String(f.payload))))
    ws.on('framereceived', (f) => received.push(JSON.parse(String(f.payload))))
  })
  await page.goto(env.url)
  // The Datasets view with the demo in its recent list.
  await expect(page.getByRole('list').getByRole('button').first()).toBeVisible()
  await saveScreenshot(page, 'datasets')
  // Browse with no dataset open offers to open one, and comes back to the grid once it is open.
  await page.getByRole('button', { name: 'Browse', exact: true }).click()
  await page.getByRole('button', { name: 'Open a folder…' }).click()
  await page.getByLabel('Folder path').fill(env.clean)
  await page.getByLabel('Folder path').press('Escape')
  // Whether the grid ever says that no sample matches while its first page is on its way (it must not).
  await page.evaluate(
    `new MutationObserver(() => { if (document.querySelector('.grid-empty')) window.sawNoMatch = true }).observe(document.body, { childList: true, subtree: true })`
  )
  await page.getByRole('button', { name: 'Open folder' }).click()
  await expect(page.getByTestId('sample-grid')).toBeVisible({ timeout: 60_000 })
  await expect(page.getByRole('button', { name: 'Browse', exact: true })).toHaveAttribute('aria-current', 'page')
  await expect(page.locator('.sample-cell[data-key]').first()).toBeVisible()
  expect(await page.evaluate('window.sawNoMatch === true'), '"No sample matches this filter." shown while the first page loaded').toBe(false)
  // The first screen is the train split's first samples, in order, with their images. They came
  // with the open's one answer (the dataset's index was built): no second request for them.
  const trainTruth = await labelsOfSplit(env.clean, 'train')
  const firstScreen = await page.locator('.sample-cell[data-key]').evaluateAll((els) => els.map((el) => [el.getAttribute('data-key'), Number(el.getAttribute('data-label'))]))
  expect(firstScreen.length).toBeGreaterThanOrEqual(8)
  expect(firstScreen).toEqual([...trainTruth].slice(0, firstScreen.length))
  await expect
    .poll(() => page.locator('.sample-cell img').evaluateAll((imgs) => imgs.length >= 8 && imgs.every((i) => (i as unknown as ImageLike).complete && (i as unknown as ImageLike).naturalWidth > 0)))
    .toBe(true)
  const open = sent.find((f) => f.method === 'datasets.open')!
  expect(open.input.firstPage?.thumbnails).toBeGreaterThan(0)
  expect(received.find((f) => f.id === open.id)?.value?.firstPage?.thumbnails).toHaveLength(open.input.firstPage!.thumbnails)
  expect(sent.filter((f) => f.method === 'datasets.samples' && f.input.offset === 0)).toEqual([])
  const manifest = await readManifest(env.clean)
  // The class and shard lists fill in once the first screen is up, without the user touching them ("all" + each).
  await expect(page.locator('select[aria-label="Class filter"] option')).toHaveCount(manifest.classNames.length + 1)
  await expect(page.locator('select[aria-label="Shard filter"] option')).toHaveCount(Object.values(manifest.splits).reduce((n, s) => n + s.shards, 0) + 1)
  await page.getByLabel('Split filter').selectOption('val')
  await expect(page.getByTestId('grid-total')).toHaveText(manifest.splits.val!.expectedSamples.toLocaleString('en-US'))

  const truth = await labelsOfSplit(env.clean, 'val')
  const cells = page.locator('.sample-cell[data-key]')
  await expect(cells.first()).toBeVisible()
  const shown = await cells.evaluateAll((els) =>
    els.slice(0, 12).map((el) => ({ key: el.getAttribute('data-key')!, label: el.getAttribute('data-label')!, text: el.querySelector('.cell-label')!.textContent!.trim() }))
  )
  expect(shown.length).toBeGreaterThanOrEqual(8)
  for (const s of shown) {
    expect(truth.has(s.key), `grid key ${s.key} is a sample of the val shards`).toBe(true)
    expect(Number(s.label)).toBe(truth.get(s.key))
    const name = manifest.classNames[Number(s.label)]!
    expect(s.text).toBe(`${s.label} ${name}`)
  }
  // The thumbnails are real decoded images served by URL.
  await expect
    .poll(() => page.locator('.sample-cell img').evaluateAll((imgs) => imgs.slice(0, 8).every((i) => (i as unknown as ImageLike).complete && (i as unknown as ImageLike).naturalWidth > 0)))
    .toBe(true)
  // An image the browser fails to decode (as the page sees it: its error event) leaves a note in its cell, and only there.
  const third = cells.nth(2)
  await third.locator('img').dispatchEvent('error')
  await expect(third.locator('.thumb-broken')).toHaveText('cannot decode')
  await expect(cells.nth(1).locator('img')).toBeVisible()
  // A click selects a cell; a double click opens its detail.
  await cells.nth(1).click()
  await expect(cells.nth(1)).toHaveClass(/selected/)
  await expect(cells.nth(1)).toHaveAttribute('aria-selected', 'true')
  await expect(page.locator('.sample-cell.selected')).toHaveCount(1)
  const fifthKey = await cells.nth(4).getAttribute('data-key')
  await cells.nth(4).dblclick()
  await expect(page.getByTestId('sample-detail').getByRole('heading')).toHaveText(fifthKey!)
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('sample-detail')).toHaveCount(0)

  // Jump far down by index, then move with the arrows and open the detail with Enter.
  const last = manifest.splits.val!.expectedSamples - 1
  await page.getByLabel('Jump to key or index').fill(String(last))
  await page.getByLabel('Jump to key or index').press('Enter')
  await expect(page.locator('.sample-cell.selected')).toHaveAttribute('data-index', String(last))
  await page.getByTestId('sample-grid').focus()
  await page.keyboard.press('ArrowLeft')
  await expect(page.locator('.sample-cell.selected')).toHaveAttribute('data-index', String(last - 1))
  await page.keyboard.press('Enter')
  const detail = page.getByTestId('sample-detail')
  await expect(detail).toBeVisible()
  const key = await page.locator('.sample-cell.selected').getAttribute('data-key')
  await expect(detail.getByRole('heading')).toHaveText(key!)
  await expect(detail.getByTestId('detail-label')).toContainText(String(truth.get(key!)))
  await expect(detail.getByTestId('field-jpg')).toContainText('64×64×3')
  await expect.poll(() => detail.locator('.full-image img').evaluate((i) => (i as unknown as ImageLike).naturalWidth)).toBe(64)
  await saveScreenshot(page, 'browse')
  await page.keyboard.press('Escape')
  await expect(detail).toHaveCount(0)
  // The line above the grid names a problem filter in the Problem list's words, and keeps its "clear" apart.
  await page.getByLabel('Problem filter').selectOption('no-label')
  await expect(page.locator('.filter-summary')).toHaveText(/^\d+ samples · val · no readable label clear(?!\w)/)
})

test('verifying a faulty dataset names the planted causes, and a finding opens the grid on exactly its samples', async ({ page }) => {
  const env = e2eEnv()
  await page.goto(env.url)
  await openFolder(page, env.faulty)
  // The inventory already says the validation pattern misses a shard, and that val holds fewer samples than dataset.json gives.
  await expect(page.getByTestId('coverage-warning').first()).toHaveText(/^val pattern covers 1 of 2 shards in val: val-000001\.tar is not covered/)
  const faultyManifest = await readManifest(env.faulty)
  const valCounted = Number((await page.getByTestId('split-val-samples').textContent())!.replace(/,/g, ''))
  expect(valCounted).toBeLessThan(faultyManifest.splits.val!.expectedSamples)
  await expect(page.getByTestId('split-val-notes')).toHaveText(`dataset.json expects ${faultyManifest.splits.val!.expectedSamples.toLocaleString('en-US')}`)
  await expect(page.getByTestId('split-train-notes')).toHaveCount(0)
  await saveScreenshot(page, 'inventory-faulty')

  await page.getByRole('button', { name: 'Verify', exact: true }).click()
  await page.getByRole('button', { name: 'Start verification' }).click()
  await expect(page.getByTestId('verify-summary')).toBeVisible({ timeout: 120_000 })
  const findings = page.getByTestId('finding')
  const codes = await findings.evaluateAll((els) => els.map((e) => e.getAttribute('data-code')))
  const checks = await findings.evaluateAll((els) => els.map((e) => e.getAttribute('data-check')))
  expect(codes).toContain('pattern-misses-shards')
  // The shard the pattern skips is not in the opened dataset: nothing to show in the grid, so no link.
  await expect(findings.and(page.locator('[data-code="pattern-misses-shards"]')).getByTestId('show-finding-samples')).toHaveCount(0)
  expect(codes).toContain('stale-copy')
  expect(codes.some((c) => c === 'not-normalised' || c === 'pixel-drift')).toBe(true)
  expect(checks).toContain('images')
  await saveScreenshot(page, 'verify')

  // The corrupt images: the finding's samples, and only those, fill the grid.
  const planted = JSON.parse(await readFile(join(env.faulty, 'faults.json'), 'utf8')) as { faults: Array<{ name: string; keys: string[] }> }
  const corruptKeys = planted.faults.find((f) => f.name === 'corrupt-image')!.keys
  const imageFinding = findings.filter({ has: page.locator('[data-testid="show-finding-samples"]') }).and(page.locator('[data-check="images"]')).first()
  // Its offending items, as the CLI prints them, one line each with the sample's key.
  const offenders = imageFinding.getByTestId('finding-offenders')
  await offenders.locator('summary').click()
  await expect(offenders.locator('li')).toHaveCount(corruptKeys.length)
  for (const key of corruptKeys) await expect(offenders.locator('li', { hasText: `key ${key}` })).toHaveCount(1)
  await imageFinding.getByTestId('show-finding-samples').click()
  await expect(page.getByTestId('grid-total')).toHaveText(String(corruptKeys.length))
  const keys = await page.locator('.sample-cell[data-key]').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))
  expect([...keys].sort()).toEqual([...corruptKeys].sort())
  // Random bytes and JPEGs cut short alike: every cell says it cannot be decoded (a browser would
  // draw a cut JPEG's top rows and hide the damage).
  const broken = page.locator('.sample-cell .thumb-broken')
  await expect(broken).toHaveCount(corruptKeys.length)
  await expect(broken.first()).toHaveText('cannot decode')
  await saveScreenshot(page, 'browse-finding')

  // The nav's finding count belongs to the faulty dataset: another dataset opened after it has none yet.
  const verifyCount = page.getByRole('navigation', { name: 'Views' }).locator('.nav-item', { hasText: 'Verify' }).locator('.count')
  await expect(verifyCount).toHaveText(/^[1-9]\d*$/)
  await openFolder(page, env.clean)
  await expect(verifyCount).toHaveCount(0)
})

test('a 2-worker simulation draws growing curves, and Re-run runs the settings the form shows now and overlays both runs', async ({ page }) => {
  test.setTimeout(420_000)
  const env = e2eEnv()
  await page.goto(env.url)
  await openFolder(page, env.clean)
  await page.getByRole('button', { name: 'Train', exact: true }).click()
  const workers = 2
  const batches = 4
  await page.getByLabel('Workers').fill(String(workers))
  await page.getByLabel('Epochs').fill('1')
  await page.getByLabel('Batch', { exact: true }).fill('16')
  await page.getByLabel('Max batches/epoch').fill(String(batches))
  await page.getByLabel('Validate every').fill('2')
  await page.getByRole('button', { name: 'Start', exact: true }).click()

  const trainLoss = page.getByTestId('chart-train-loss')
  const pointsOf = async (testId: string) => Number(await page.getByTestId(testId).getAttribute('data-points'))
  await expect.poll(() => pointsOf('chart-train-loss'), { timeout: 240_000 }).toBeGreaterThan(0)
  const early = await pointsOf('chart-train-loss')
  await expect(page.getByTestId('run-status')).toHaveText(/finished|failed|stopped/, { timeout: 240_000 })
  await expect(page.getByTestId('run-status')).toHaveText('finished')
  const late = await pointsOf('chart-train-loss')
  expect(late).toBeGreaterThanOrEqual(early)
  expect(late).toBeGreaterThanOrEqual(workers * batches)
  expect(await pointsOf('chart-val-loss')).toBeGreaterThan(0)
  await expect(trainLoss.locator('.u-legend .u-series')).toHaveCount(1 + workers)
  await expect(page.getByTestId('health')).toBeVisible()
  await saveScreenshot(page, 'train')

  // The user changes the settings, then re-runs: the new run is the form's, and the form says what changes.
  await page.getByLabel('Workers').fill('1')
  await page.getByLabel('Learning rate').fill('0.2')
  await expect(page.getByTestId('rerun-changes')).toHaveText('Re-run changes: Workers 2 → 1 · Learning rate 0.05 → 0.2')
  await page.getByRole('button', { name: 'Re-run with these settings' }).click()
  await expect(page.getByTestId('run-row')).toHaveCount(2, { timeout: 30_000 })
  // The new run is the one shown before its status is read (the first run's "finished" would pass at once).
  await expect(page.locator('.active-run .mono').first()).toContainText('1×async', { timeout: 30_000 })
  await expect(page.getByTestId('run-status')).toHaveText('finished', { timeout: 240_000 })
  await expect(page.getByTestId('run-row').first()).toContainText('1 × async')
  await expect(page.getByTestId('rerun-changes')).toHaveText('Re-run: the same settings as the run shown.')
  await expect(page.getByLabel('Workers')).toHaveValue('1')
  // Both runs drawn in the validation chart: the new one solid, the first dashed.
  await expect(page.getByTestId('chart-val-loss').locator('.u-legend .u-series')).toHaveCount(3)
  await saveScreenshot(page, 'train-rerun')
})
