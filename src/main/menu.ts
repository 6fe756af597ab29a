/**
 * The application menu: File (Open Folder…, Recent, Quit), Training (Re-run
 * Simulation with These Settings: the Train view's Re-run button), View
 * (reload/zoom; Toggle DevTools only in development) and the platform's standard
 * Edit/Window menus. A pure template builder, so the menu's contents are tested
 * without Electron.
 */
import type { RecentDataset } from '../shared/contract/datasets'

export interface MenuActions {
  openFolder(): void
  openRecent(item: RecentDataset): void
  rerunSimulation(): void
  toggleDevTools(): void
}

export interface MenuInput {
  recent: ReadonlyArray<RecentDataset>
  dev: boolean
  platform: NodeJS.Platform
  actions: MenuActions
}

const maxRecent = 10

export function buildMenuTemplate({ recent, dev, platform, actions }: MenuInput): Electron.MenuItemConstructorOptions[] {
  const recentItems: Electron.MenuItemConstructorOptions[] =
    recent.length === 0
      ? [{ label: 'No recent datasets', enabled: false }]
      : recent.slice(0, maxRecent).map((item) => ({ label: item.name, click: () => actions.openRecent(item) }))
  const view: Electron.MenuItemConstructorOptions[] = [
    { role: 'reload' },
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' }
  ]
  if (dev) view.push({ type: 'separator' }, { label: 'Toggle DevTools', accelerator: 'CmdOrCtrl+Alt+I', click: () => actions.toggleDevTools() })
  const template: Electron.MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+O', click: () => actions.openFolder() },
        { label: 'Recent', submenu: recentItems },
        { type: 'separator' },
        platform === 'darwin' ? { role: 'close' } : { role: 'quit' }
      ]
    },
    { role: 'editMenu' },
    { label: 'Training', submenu: [{ label: 'Re-run Simulation with These Settings', accelerator: 'CmdOrCtrl+Alt+R', click: () => actions.rerunSimulation() }] },
    { label: 'View', submenu: view },
    { role: 'windowMenu' }
  ]
  if (platform === 'darwin') template.unshift({ role: 'appMenu' })
  return template
}
