import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultWindowState, fitToDisplays, readWindowState, saveWindowState, windowStateFile } from './app-state'

const dirs: string[] = []
async function userData(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'shardscope-state-'))
  dirs.push(d)
  return d
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('window state', () => {
  it('round-trips through the user data folder, leaving no temp file behind', async () => {
    const dir = await userData()
    await saveWindowState(dir, { x: 10, y: 20, width: 1200, height: 800, maximized: true })
    expect(await readWindowState(dir)).toEqual({ x: 10, y: 20, width: 1200, height: 800, maximized: true })
    expect(await readdir(dir)).toEqual(['window-state.json'])
  })

  it('falls back to the default for a missing, corrupt or out-of-range file', async () => {
    const dir = await userData()
    expect(await readWindowState(dir)).toEqual(defaultWindowState)
    await writeFile(windowStateFile(dir), '{"width": 1200, "height":')
    expect(await readWindowState(dir)).toEqual(defaultWindowState)
    await writeFile(windowStateFile(dir), '{"width": 5, "height": 5}')
    expect(await readWindowState(dir)).toEqual(defaultWindowState)
  })

  it('drops a position that is on no display (a monitor was unplugged)', () => {
    const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }]
    expect(fitToDisplays({ x: 100, y: 100, width: 1000, height: 700, maximized: false }, displays).x).toBe(100)
    expect(fitToDisplays({ x: 3000, y: 100, width: 1000, height: 700, maximized: false }, displays)).toEqual({ width: 1000, height: 700, maximized: false })
  })
})
