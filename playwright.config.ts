import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

// Debian's Chromium where it exists (Playwright cannot download its own browsers
// here); Playwright's bundled browser elsewhere.
const debianChromium = '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  // Generated datasets and one serve host for the browser specs (see the file).
  globalSetup: './e2e/fixtures/global-setup.ts',
  outputDir: 'test-results/e2e',
  timeout: 180_000,
  workers: 1,
  reporter: [['list'], ['json']],
  use: {
    launchOptions: {
      executablePath: existsSync(debianChromium) ? debianChromium : undefined,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    },
    screenshot: 'only-on-failure',
    viewport: { width: 1400, height: 900 }
  }
})
