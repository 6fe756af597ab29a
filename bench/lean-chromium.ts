/**
 * Headless Chromium driven over the DevTools protocol with nothing but input events and
 * `Runtime.evaluate`: no Network, Page or DOM domain is enabled, so the browser reports
 * nothing per request to the driver, as for a user's browser with no devtools open.
 *
 * Why the UI bench needs it: Playwright enables the Network domain on every page it
 * drives, and then each `data:` URL image the grid shows is reported to Playwright, URL
 * and all (≈4 KB of base64 per thumbnail), and Playwright's process handles each report
 * on the same two cores. Measured on this machine (2026-11-29): a bare page adding 70
 * thumbnails from a timer painted them in 62–103 ms with no driver attached and in
 * 119–194 ms with Playwright's page attached (70 text cells: 28–54 ms either way); the
 * same page on a click took 105–150 ms under this driver and 137–165 ms under Playwright
 * (medians of 3, four runs), and the app's open → first thumbnails 321 ms against
 * 353–378 ms (medians of 5, interleaved, two runs).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'

/** What the UI bench does to a page, whichever driver does it. */
export interface PageDriver {
  /** Evaluates an expression in the page (awaiting a promise it returns); returns its value as JSON. */
  evaluate<T = unknown>(expression: string): Promise<T>
  /** Moves the mouse to a point of the viewport. */
  hover(x: number, y: number): Promise<void>
  /** A mouse click at a point of the viewport (moving there first unless the mouse is there). */
  click(x: number, y: number): Promise<void>
  /** Types text into the focused element, as an IME commit would. */
  insertText(text: string): Promise<void>
  /** Presses and releases a key ('Enter', 'Escape'). */
  press(key: 'Enter' | 'Escape'): Promise<void>
  /** Polls `expression` every 20 ms until it is truthy (an evaluation that fails counts as not yet); throws naming `what` after `limitMs`. */
  waitFor(expression: string, what: string, limitMs?: number): Promise<void>
  /** The centre of the first element matching `selector` whose text is `text` (any when null). */
  centreOf(selector: string, text: string | null): Promise<{ x: number; y: number }>
  close(): Promise<void>
}

export interface LeanPage extends PageDriver {
  /** A DevTools protocol command (only for domains that need no `enable`). */
  send(method: string, params?: Record<string, unknown>): Promise<unknown>
}

const keys = {
  Enter: { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' },
  Escape: { key: 'Escape', code: 'Escape', windowsVirtualKeyCode: 27 }
} as const

/** Starts a fresh headless Chromium (its own profile folder, removed on close) on `url`, viewport width × height. */
export async function launchLean(executable: string, url: string, { width, height }: { width: number; height: number }): Promise<LeanPage> {
  const profile = mkdtempSync(join(tmpdir(), 'shardscope-bench-chromium-'))
  const child = spawn(
    executable,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--no-first-run',
      '--no-default-browser-check',
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      '--remote-debugging-port=0',
      url
    ],
    // Its own process group, so that closing kills its helper processes too.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true }
  )
  const closeBrowser = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done))
      process.kill(-child.pid!, 'SIGKILL')
      await exited
    }
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 })
  }
  try {
    const port = await debuggingPort(child)
    const socket = await pageSocket(port, url)
    const page = driver(socket, closeBrowser)
    // The viewport as Playwright sets it (a headless window's size is not its viewport's).
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false })
    return page
  } catch (err) {
    await closeBrowser()
    throw err
  }
}

/** The port from Chromium's "DevTools listening on ws://127.0.0.1:PORT/…" line. */
function debuggingPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
      const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(stderr)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`chromium exited ${code} before listening: ${stderr.slice(-1000)}`)))
  })
}

/** The page target showing `url` (it may take a moment to appear), as an open WebSocket. */
async function pageSocket(port: number, url: string): Promise<WebSocket> {
  const origin = new URL(url).origin
  for (let tries = 0; tries < 200; tries++) {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; url: string; webSocketDebuggerUrl: string }[]
    const page = targets.find((t) => t.type === 'page' && t.url.startsWith(origin))
    if (page) {
      const socket = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false })
      await new Promise((open, fail) => socket.once('open', open).once('error', fail))
      return socket
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`no page target for ${url}`)
}

function driver(socket: WebSocket, closeBrowser: () => Promise<void>): LeanPage {
  let nextId = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } }
    const waiter = message.id === undefined ? undefined : pending.get(message.id)
    if (!waiter) return
    pending.delete(message.id!)
    if (message.error) waiter.reject(new Error(message.error.message))
    else waiter.resolve(message.result)
  })
  socket.on('close', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('the browser went away'))
    pending.clear()
  })
  const send = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      socket.send(JSON.stringify({ id, method, params }))
    })

  const evaluate = async <T>(expression: string): Promise<T> => {
    const answer = (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true, userGesture: true })) as {
      result: { value?: T }
      exceptionDetails?: { text: string; exception?: { description?: string } }
    }
    if (answer.exceptionDetails) throw new Error(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text)
    return answer.result.value as T
  }
  const mouse = (type: string, x: number, y: number) => send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: 1 })
  // A move is a continuous event, delivered with the next frame: its acknowledgement waits for a busy page.
  let at = { x: -1, y: -1 }
  const hover = async (x: number, y: number): Promise<void> => {
    await mouse('mouseMoved', x, y)
    at = { x, y }
  }
  const page: LeanPage = {
    evaluate,
    send,
    hover,
    async click(x, y) {
      if (at.x !== x || at.y !== y) await hover(x, y)
      await mouse('mousePressed', x, y)
      await mouse('mouseReleased', x, y)
    },
    async insertText(text) {
      await send('Input.insertText', { text })
    },
    async press(key) {
      await send('Input.dispatchKeyEvent', { type: 'keyDown', ...keys[key] })
      await send('Input.dispatchKeyEvent', { type: 'keyUp', ...keys[key] })
    },
    async waitFor(expression, what, limitMs = 30_000) {
      const start = performance.now()
      // While the page is still loading there may be no context to evaluate in yet.
      while (!(await evaluate<boolean>(`Boolean(${expression})`).catch(() => false))) {
        if (performance.now() - start > limitMs) throw new Error(`${what} did not happen within ${limitMs / 1000} s`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async centreOf(selector, text) {
      const centre = await evaluate<{ x: number; y: number } | null>(centreExpression(selector, text))
      if (!centre) throw new Error(`no ${selector}${text === null ? '' : ` "${text}"`} on the page`)
      return centre
    },
    async close() {
      socket.close()
      await closeBrowser()
    }
  }
  return page
}

/** An expression for the centre of the first element matching `selector` whose trimmed text is `text` (any when null), or null. */
export function centreExpression(selector: string, text: string | null): string {
  return `(() => {
    const el = [...document.querySelectorAll(${JSON.stringify(selector)})].find((e) => ${text === null ? 'true' : `e.textContent.trim() === ${JSON.stringify(text)}`})
    if (!el) return null
    const r = el.getBoundingClientRect()
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 }
  })()`
}
