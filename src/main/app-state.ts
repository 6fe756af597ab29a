/**
 * What the shell remembers between runs, in the user data folder: the window's
 * bounds and whether it was maximised. Written atomically (temp file + rename) so a
 * crash mid-write leaves the previous state. Recent datasets are kept by the
 * datasets service (datasets.recent) in the same folder; the menu reads them there.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../core/atomic-write'

export const WindowState = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(400).max(20000),
  height: z.number().int().min(300).max(20000),
  maximized: z.boolean().default(false)
})
export type WindowState = z.infer<typeof WindowState>

export const defaultWindowState: WindowState = { width: 1400, height: 900, maximized: false }

export function windowStateFile(userData: string): string {
  return join(userData, 'window-state.json')
}

/** The saved state, or the default when there is none or it is unreadable (a hand-edited file must not stop the app). */
export async function readWindowState(userData: string): Promise<WindowState> {
  try {
    const parsed = WindowState.safeParse(JSON.parse(await readFile(windowStateFile(userData), 'utf8')))
    return parsed.success ? parsed.data : defaultWindowState
  } catch {
    return defaultWindowState
  }
}

export async function saveWindowState(userData: string, state: WindowState): Promise<void> {
  await writeFileAtomic(windowStateFile(userData), `${JSON.stringify(WindowState.parse(state), null, 2)}\n`)
}

/** Keeps a restored window on screen: bounds that lie outside every display are dropped. */
export function fitToDisplays(state: WindowState, workAreas: ReadonlyArray<Electron.Rectangle>): WindowState {
  if (state.x === undefined || state.y === undefined) return state
  const { x, y } = state
  const visible = workAreas.some((a) => x + 100 > a.x && x < a.x + a.width - 100 && y >= a.y && y < a.y + a.height - 50)
  return visible ? state : { width: state.width, height: state.height, maximized: state.maximized }
}
