import { describe, expect, it } from 'vitest'
import { buildMenuTemplate } from './menu'
import { applyContentSecurityPolicy, contentSecurityPolicy, createSecureWindow, denyAllPermissions, hardenWebContents, type HardenedContents } from './window-security'

/**
 * Electron's security checklist (electronjs.org/docs/latest/tutorial/security),
 * checked against what the shell actually passes to Electron's objects.
 */

class FakeBrowserWindow {
  static created: Electron.BrowserWindowConstructorOptions[] = []
  constructor(readonly options: Electron.BrowserWindowConstructorOptions) {
    FakeBrowserWindow.created.push(options)
  }
}

type Listener = (event: { defaultPrevented: boolean; preventDefault(): void }, url: string) => void

function fakeContents(): HardenedContents & { emit(name: string, url: string): boolean; open(url: string): string } {
  const listeners = new Map<string, Listener>()
  let openHandler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0] | null = null
  return {
    on: ((name: string, listener: Listener) => {
      listeners.set(name, listener)
    }) as unknown as HardenedContents['on'],
    setWindowOpenHandler(handler) {
      openHandler = handler
    },
    /** Fires an event; true when the shell prevented it. */
    emit(name, url) {
      const event = {
        defaultPrevented: false,
        preventDefault() {
          this.defaultPrevented = true
        }
      }
      listeners.get(name)!(event, url)
      return event.defaultPrevented
    },
    open(url) {
      return openHandler!({ url } as Electron.HandlerDetails).action
    }
  }
}

const renderer = 'file:///app/out/renderer/index.html'

describe('Electron security checklist', () => {
  const win = createSecureWindow(FakeBrowserWindow, { width: 1000, height: 700 }, '/app/out/preload/index.cjs', '/app/resources/icon.png')
  const prefs = win.options.webPreferences!

  it('2-4: Node integration off, context isolation and the process sandbox on (also in workers and subframes)', () => {
    expect(prefs.nodeIntegration).toBe(false)
    expect(prefs.nodeIntegrationInWorker).toBe(false)
    expect(prefs.nodeIntegrationInSubFrames).toBe(false)
    expect(prefs.contextIsolation).toBe(true)
    expect(prefs.sandbox).toBe(true)
    expect(prefs.preload).toMatch(/index\.cjs$/)
  })

  it('6, 8-11: web security on, no insecure content, no experimental or enabled Blink features, no <webview>', () => {
    expect(prefs.webSecurity).toBe(true)
    expect(prefs.allowRunningInsecureContent).toBe(false)
    expect(prefs.experimentalFeatures).toBe(false)
    expect(prefs.enableBlinkFeatures).toBeUndefined()
    expect(prefs.webviewTag).toBe(false)
    expect(prefs.disableBlinkFeatures).toBe('Auxclick')
  })

  it('7: every response carries a strict CSP (scripts only from self, no objects, frames or base-uri)', () => {
    let listener: Parameters<Electron.WebRequest['onHeadersReceived']>[0] | null = null
    applyContentSecurityPolicy({ onHeadersReceived: ((l: typeof listener) => (listener = l)) as unknown as Electron.WebRequest['onHeadersReceived'] }, false)
    let answered: Electron.HeadersReceivedResponse | null = null
    listener!({ url: renderer, responseHeaders: { 'content-security-policy': ["default-src *"], 'x-other': ['1'] } } as unknown as Electron.OnHeadersReceivedListenerDetails, (r) => (answered = r))
    const headers = answered!.responseHeaders!
    expect(Object.keys(headers).filter((k) => k.toLowerCase() === 'content-security-policy')).toEqual(['Content-Security-Policy'])
    const policy = String((headers['Content-Security-Policy'] as string[])[0])
    expect(policy).toBe(contentSecurityPolicy(false))
    for (const rule of ["default-src 'none'", "script-src 'self'", "object-src 'none'", "frame-src 'none'", "base-uri 'none'"]) expect(policy).toContain(rule)
    expect(policy).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/)
    expect(headers['x-other']).toEqual(['1'])
  })

  it('5: every permission request and check is denied', () => {
    const answers: boolean[] = []
    let check: ((...args: unknown[]) => boolean) | null = null
    let device: ((...args: unknown[]) => boolean) | null = null
    denyAllPermissions({
      setPermissionRequestHandler: ((h: (wc: unknown, p: string, cb: (granted: boolean) => void) => void) => {
        for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'fileSystem']) h(null, p, (g) => answers.push(g))
      }) as unknown as Electron.Session['setPermissionRequestHandler'],
      setPermissionCheckHandler: ((h: typeof check) => (check = h)) as unknown as Electron.Session['setPermissionCheckHandler'],
      setDevicePermissionHandler: ((h: typeof device) => (device = h)) as unknown as Electron.Session['setDevicePermissionHandler']
    })
    expect(answers).toEqual([false, false, false, false, false])
    expect(check!(null, 'media', 'file://', {})).toBe(false)
    expect(device!({})).toBe(false)
  })

  it('13-14: navigation away from the renderer is blocked and window.open is denied; only web links go to the browser', () => {
    const contents = fakeContents()
    const external: string[] = []
    hardenWebContents(contents, renderer, (url) => external.push(url))
    expect(contents.emit('will-navigate', 'https://evil.example/')).toBe(true)
    expect(contents.emit('will-navigate', 'file:///home/user/shard.html')).toBe(true)
    expect(contents.emit('will-navigate', `${renderer}?dataset=abc`)).toBe(false)
    expect(contents.emit('will-redirect', 'https://evil.example/')).toBe(true)
    expect(contents.emit('will-attach-webview', '')).toBe(true)
    expect(contents.open('https://webdataset.github.io/')).toBe('deny')
    expect(contents.open('file:///etc/passwd')).toBe('deny')
    expect(contents.open('javascript:alert(1)')).toBe('deny')
    expect(external).toEqual(['https://webdataset.github.io/'])
  })

  it('Toggle DevTools is in the menu only in development', () => {
    const actions = { openFolder() {}, openRecent() {}, rerunSimulation() {}, toggleDevTools() {} }
    const labels = (dev: boolean) =>
      JSON.stringify(buildMenuTemplate({ recent: [], dev, platform: 'linux', actions }).map((m) => [m.label, (m.submenu as Electron.MenuItemConstructorOptions[] | undefined)?.map((i) => i.label)]))
    expect(labels(true)).toContain('Toggle DevTools')
    expect(labels(false)).not.toContain('Toggle DevTools')
    for (const label of ['Open Folder…', 'Recent', 'Re-run Simulation with These Settings']) expect(labels(false)).toContain(label)
  })
})
