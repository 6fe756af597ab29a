/**
 * The rules every ShardScope window follows, from Electron's security checklist:
 * sandboxed, context-isolated renderer without Node; a strict Content-Security-Policy
 * on every response (file:// included); no navigation away from our renderer; no
 * new windows (links open in the user's browser only when they are http(s)); every
 * permission request and check denied. Functions take Electron's objects as
 * parameters so tests check them with fakes.
 */
import { isRendererUrl } from './ipc'
import { mediaScheme } from './media-protocol'

/**
 * The renderer's CSP. Scripts only from our own files; images also from the media
 * protocol and blobs (charts); no plugins, no frames, no base-URI or form tricks.
 * `connect-src 'self'` covers the dev server's HMR socket in development only.
 */
export function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'none'",
    // The dev server's React Refresh preamble is an inline script; the built app has none.
    dev ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${mediaScheme}:`,
    "font-src 'self'",
    dev ? "connect-src 'self' ws: http://localhost:*" : "connect-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

/** Where and how big the window opens (restored from the last run). */
export interface WindowPlacement {
  x?: number
  y?: number
  width: number
  height: number
}

/**
 * Creates the main window with the checklist's settings written out as a literal, so
 * a reviewer, the test and the static scanner (electronegativity) all see them:
 * context isolation, sandbox, no Node in the page or its workers and frames, web
 * security on, no insecure content, no experimental or extra Blink features, no
 * <webview>, no navigation by dropping a file, and Auxclick (middle-click opens a
 * window) off. Takes the BrowserWindow class as a parameter so tests pass a fake.
 */
export function createSecureWindow<W>(
  BrowserWindow: new (options: Electron.BrowserWindowConstructorOptions) => W,
  placement: WindowPlacement,
  preloadPath: string,
  iconPath: string
): W {
  return new BrowserWindow({
    x: placement.x,
    y: placement.y,
    width: placement.width,
    height: placement.height,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'ShardScope',
    backgroundColor: '#111418',
    icon: iconPath,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      disableBlinkFeatures: 'Auxclick',
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false
    }
  })
}

type HeadersListener = Parameters<Electron.WebRequest['onHeadersReceived']>[0]

/** Adds our CSP to every response the session receives (dev server, file:// and media alike). */
export function applyContentSecurityPolicy(webRequest: Pick<Electron.WebRequest, 'onHeadersReceived'>, dev: boolean): void {
  const policy = contentSecurityPolicy(dev)
  const listener: HeadersListener = (details, callback) => {
    const headers = { ...(details.responseHeaders ?? {}) }
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-security-policy') delete headers[name]
    headers['Content-Security-Policy'] = [policy]
    callback({ responseHeaders: headers })
  }
  webRequest.onHeadersReceived(listener)
}

/** Refuses every permission (camera, notifications, geolocation, ...): ShardScope needs none. */
export function denyAllPermissions(session: Pick<Electron.Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'>): void {
  session.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler(() => false)
}

export type HardenedContents = Pick<Electron.WebContents, 'on' | 'setWindowOpenHandler'>

/**
 * Blocks navigation away from our renderer (a dropped file, a link in a shard's
 * text) and every window.open; http(s) links are handed to `openExternal` (the
 * user's browser), anything else is dropped. Also refuses <webview> attachment.
 */
export function hardenWebContents(contents: HardenedContents, rendererUrl: string, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    if (!isRendererUrl(url, rendererUrl)) event.preventDefault()
  })
  contents.on('will-redirect', (event, url) => {
    if (!isRendererUrl(url, rendererUrl)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) openExternal(url)
    return { action: 'deny' }
  })
}

/** Only web links leave the app, never file:, javascript: or custom schemes. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const u = new URL(url)
    return u.protocol === 'https:' || u.protocol === 'http:'
  } catch {
    return false
  }
}
