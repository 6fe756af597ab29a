/**
 * The Electron main process. Thin: it creates the one window, binds the contract to
 * IPC, forwards events over a MessagePort, serves sample images through the
 * `shardscope-media:` protocol, starts heavy work in utility processes and ends them
 * on quit. Every rule worth testing lives in the sibling modules, which take
 * Electron's objects as parameters; this file only wires them to the real ones.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BrowserWindow, Menu, MessageChannelMain, app, dialog, ipcMain, protocol, screen, session, shell, utilityProcess } from 'electron'
import type { DatasetSource, RecentDataset } from '../shared/contract/datasets'
import type { Handlers } from '../shared/contract'
import { createServices, type ServiceContext, type Services } from '../core/services'
import { dispatch } from '../core/services/dispatch'
import { serveMedia } from '../core/services/media'
import { eventPortChannel } from '../preload/channels'
import { fitToDisplays, readWindowState, saveWindowState, type WindowState } from './app-state'
import { createEventBatcher } from './event-batcher'
import { bindContract } from './ipc'
import { answerMediaRequest, mediaScheme, mediaSchemePrivileges } from './media-protocol'
import { buildMenuTemplate } from './menu'
import { createUtilityProcessHost } from './utility-process-host'
import { applyContentSecurityPolicy, createSecureWindow, denyAllPermissions, hardenWebContents } from './window-security'

const devServerUrl = process.env.ELECTRON_RENDERER_URL
const dev = !app.isPackaged && Boolean(devServerUrl)
const here = import.meta.dirname
const rendererIndex = join(here, '../renderer/index.html')
const rendererUrl = dev && devServerUrl ? devServerUrl : pathToFileURL(rendererIndex).href

// Both must happen before `ready`: every renderer sandboxed (not only ours), and a
// standard, secure, fetchable scheme for sample images.
app.enableSandbox()
protocol.registerSchemesAsPrivileged([mediaSchemePrivileges])

let mainWindow: BrowserWindow | null = null
let services: Services | null = null
const batcher = createEventBatcher({ intervalMs: 50 })
const processHost = createUtilityProcessHost((modulePath, args, options) => utilityProcess.fork(modulePath, args, options), join(here, 'process-entry.js'))

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  // Every web contents (ours, and any a bug might create) gets the same navigation and window.open rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, rendererUrl, (url) => void shell.openExternal(url)))
  app.on('window-all-closed', () => app.quit())
  let quitting = false
  app.on('before-quit', (event) => {
    if (quitting) return
    quitting = true
    event.preventDefault()
    batcher.dispose()
    void Promise.allSettled([services?.dispose(), processHost.killAll()]).then(() => app.quit())
  })
  app.whenReady().then(start, (err: unknown) => {
    dialog.showErrorBox('ShardScope could not start', err instanceof Error ? err.message : String(err))
    app.exit(1)
  })
}

async function start(): Promise<void> {
  const userData = app.getPath('userData')
  applyContentSecurityPolicy(session.defaultSession.webRequest, dev)
  denyAllPermissions(session.defaultSession)
  const ctx: ServiceContext = { processHost, emit: batcher.emit, stateDir: userData, demoDir: join(userData, 'demo'), host: 'electron' }
  services = createServices(ctx)
  const handlers = refreshMenuAfterOpen(services.handlers)
  protocol.handle(mediaScheme, (request) => answerMediaRequest(request, (req) => serveMedia(ctx, req)))
  bindContract(ipcMain, handlers, { webContentsId: () => mainWindow?.webContents.id ?? null, rendererUrl }, (channel, frameUrl) =>
    console.warn(`shardscope: refused ${channel} from ${frameUrl ?? 'an unknown frame'}`)
  )
  await refreshMenu()
  mainWindow = await createMainWindow(userData)
  if (process.argv.includes('--demo')) await openAndShow(() => dispatch(handlers, 'datasets.openDemo', {}))
  else await loadRenderer(mainWindow)
}

async function createMainWindow(userData: string): Promise<BrowserWindow> {
  const saved = fitToDisplays(await readWindowState(userData), screen.getAllDisplays().map((d) => d.workArea))
  const win = createSecureWindow(BrowserWindow, saved, join(here, '../preload/index.cjs'), join(here, '../../resources/icon.png'))
  if (saved.maximized) win.maximize()
  win.once('ready-to-show', () => win.show())
  // Each page load gets a fresh MessagePort for events; the old page's port dies with it.
  win.webContents.on('did-finish-load', () => {
    const { port1, port2 } = new MessageChannelMain()
    batcher.attach(port1)
    port1.start()
    win.webContents.postMessage(eventPortChannel, null, [port2])
  })
  win.webContents.on('render-process-gone', (_event, details) => {
    batcher.attach(null)
    console.warn(`shardscope: the window's renderer ended (${details.reason}, exit code ${details.exitCode})`)
  })
  win.on('close', () => {
    const b = win.getNormalBounds()
    const state: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() }
    void saveWindowState(userData, state).catch((err: unknown) => console.warn(`shardscope: window state not saved: ${String(err)}`))
  })
  win.on('closed', () => {
    batcher.attach(null)
    mainWindow = null
  })
  return win
}

/** Loads our renderer; `dataset` makes it reopen the most recent dataset (the one just opened) on load. */
async function loadRenderer(win: BrowserWindow, datasetId?: string): Promise<void> {
  const query = datasetId ? { dataset: datasetId } : undefined
  if (dev && devServerUrl) {
    const url = new URL(devServerUrl)
    if (datasetId) url.searchParams.set('dataset', datasetId)
    await win.loadURL(url.href)
  } else {
    await win.loadFile(rendererIndex, query ? { query } : undefined)
  }
}

/** The datasets service records recent datasets; the menu's Recent list follows it. The folder dialog is Electron's. */
function refreshMenuAfterOpen(handlers: Handlers): Handlers {
  return {
    ...handlers,
    'system.chooseFolder': async ({ title }) => {
      if (!mainWindow) return { supported: true, folder: null }
      const picked = await dialog.showOpenDialog(mainWindow, { title: title ?? 'Open a folder of shards', properties: ['openDirectory'] })
      return { supported: true, folder: picked.canceled ? null : (picked.filePaths[0] ?? null) }
    },
    'datasets.open': async (input) => {
      const summary = await handlers['datasets.open'](input)
      void refreshMenu()
      return summary
    },
    'datasets.openDemo': async (input) => {
      const summary = await handlers['datasets.openDemo'](input)
      void refreshMenu()
      return summary
    }
  }
}

async function refreshMenu(): Promise<void> {
  const recent = services ? await dispatch(services.handlers, 'datasets.recent', {}) : null
  const items = recent?.ok ? (recent.value as { items: RecentDataset[] }).items : []
  const template = buildMenuTemplate({
    recent: items,
    dev,
    platform: process.platform,
    actions: { openFolder: () => void openFolder(), openRecent: (item) => void openRecent(item), rerunSimulation, toggleDevTools }
  })
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

async function openFolder(): Promise<void> {
  if (!mainWindow) return
  const picked = await dialog.showOpenDialog(mainWindow, { title: 'Open a folder of shards', properties: ['openDirectory'] })
  const folder = picked.filePaths[0]
  if (picked.canceled || !folder) return
  await openSource({ folder })
}

async function openRecent(item: RecentDataset): Promise<void> {
  await openSource(item.source as DatasetSource)
}

async function openSource(source: DatasetSource): Promise<void> {
  if (!services) return
  const handlers = services.handlers
  await openAndShow(() => dispatch(handlers, 'datasets.open', source))
  await refreshMenu()
}

async function openAndShow(open: () => ReturnType<typeof dispatch>): Promise<void> {
  const win = mainWindow
  if (!win) return
  const result = await open()
  if (!result.ok) {
    dialog.showErrorBox('ShardScope could not open the dataset', result.error.message)
    await loadRenderer(win)
    return
  }
  await loadRenderer(win, (result.value as { datasetId: string }).datasetId)
}

/** The Train view's Re-run, from the menu: the page runs the form's settings beside the run shown, or says why it cannot. */
function rerunSimulation(): void {
  batcher.emit('system.menuCommand', { command: 'rerun-simulation' })
}

function toggleDevTools(): void {
  if (dev) mainWindow?.webContents.toggleDevTools()
}
