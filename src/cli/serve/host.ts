/**
 * The serve host: the same services the Electron main process runs, reached from a
 * browser. One HTTP server bound to 127.0.0.1 serves the renderer build, sample
 * images under /media, and the contract over a WebSocket at /api. Every request
 * must carry the access token (in `?token=` or the cookie set on the first page
 * load); the token is random per start and printed only in the URL.
 * It does not open datasets or start jobs by itself: the UI (or DATASET on the
 * command line) asks for that through the contract.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, WebSocket } from 'ws'
import type { EventSink } from '../../shared/contract'
import { apiPath, mediaPath, RequestFrame } from '../../shared/ws-protocol'
import { createServices, type Services } from '../../core/services'
import type { ServiceContext } from '../../core/services/context'
import { dispatch } from '../../core/services/dispatch'
import { serveMedia, serveMediaBatch, type MediaResponse } from '../../core/services/media'
import { mediaBatchPath, parseMediaBatchItems } from '../../shared/media-batch'
import { nodeProcessHost, type ProcessHost } from '../../core/process'
import { createAccessToken, isAccessToken, isOwnHost, isOwnOrigin, tokenCookie, tokenOf } from './token'
import { sendRendererFile } from './static-files'

export interface ServeHostOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Only loopback: the UI can read every file the user can. */
  host?: '127.0.0.1'
  stateDir: string
  /** Default: <stateDir>/demo. */
  demoDir?: string
  /** The renderer build (out/renderer). Default: found from this module's location. */
  rendererDir?: string
  /** Default: a fresh random token. */
  token?: string
  processHost?: ProcessHost
}

export interface ServeHost {
  /** The page to open, token included. */
  url: string
  origin: string
  port: number
  token: string
  services: Services
  context: ServiceContext
  /** Stops accepting requests, closes sockets, ends every child process. */
  close(): Promise<void>
}

/** Events queued to a slow client beyond this are dropped for it rather than growing memory without bound. */
const maxBufferedBytes = 8 * 1024 * 1024

export async function startServeHost(options: ServeHostOptions): Promise<ServeHost> {
  const token = options.token ?? createAccessToken()
  const rendererDir = options.rendererDir ?? findRendererBuild()
  const sockets = new Set<WebSocket>()

  const emit: EventSink = (name, payload) => {
    const frame = JSON.stringify({ event: name, payload })
    for (const s of sockets) {
      if (s.readyState === WebSocket.OPEN && s.bufferedAmount < maxBufferedBytes) s.send(frame)
    }
  }
  const context: ServiceContext = {
    processHost: options.processHost ?? nodeProcessHost,
    emit,
    stateDir: options.stateDir,
    demoDir: options.demoDir ?? join(options.stateDir, 'demo'),
    host: 'serve'
  }
  const services = createServices(context)
  let port = 0

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`Internal error: ${err instanceof Error ? err.message : String(err)}\n`)
    })
  })

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
    if (!isOwnHost(req, port)) return deny(res, 403, 'Forbidden: unexpected Host header')
    const given = tokenOf(req, url)
    if (!isAccessToken(given, token)) return deny(res, 403, 'Forbidden: open the URL that `shardscope serve` printed (it carries the access token)')
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, 405, 'Method not allowed')
    const headers = securityHeaders(port)
    if (url.searchParams.get('token')) {
      // Later requests from the page (scripts, styles, images) carry the cookie instead.
      headers['Set-Cookie'] = `${tokenCookie}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`
    }
    if (url.pathname === mediaPath || url.pathname.startsWith(mediaPath + '/')) {
      const media = await answerMedia(url)
      return sendMedia(req, res, media, headers)
    }
    if (url.pathname.startsWith(mediaBatchPath + '/')) return sendMedia(req, res, await answerMediaBatch(url), headers)
    if (url.pathname === apiPath) return deny(res, 426, 'Upgrade required: /api is a WebSocket')
    if (!(await sendRendererFile(rendererDir, url.pathname, res, headers, req.method === 'HEAD'))) {
      const hint = existsSync(join(rendererDir, 'index.html')) ? '' : ` (no renderer build in ${rendererDir}: run npm run build)`
      deny(res, 404, `Not found${hint}`)
    }
  }

  async function answerMedia(url: URL): Promise<MediaResponse> {
    const segments = url.pathname.slice(mediaPath.length + 1).split('/')
    if (segments.length !== 4) return { status: 404, body: 'Not found: /media/<dataset>/<split>/<index>/<field>', contentType: 'text/plain; charset=utf-8' }
    let parts: string[]
    try {
      parts = segments.map((s) => decodeURIComponent(s))
    } catch {
      return { status: 400, body: 'Bad request: malformed URL encoding', contentType: 'text/plain; charset=utf-8' }
    }
    const [datasetId, split, index, field] = parts as [string, string, string, string]
    return serveMedia(context, { datasetId, split, index, field, variant: url.searchParams.get('variant') ?? 'thumb' })
  }

  async function answerMediaBatch(url: URL): Promise<MediaResponse> {
    const text = (status: MediaResponse['status'], body: string): MediaResponse => ({ status, body, contentType: 'text/plain; charset=utf-8' })
    const segments = url.pathname.slice(mediaBatchPath.length + 1).split('/')
    if (segments.length !== 1 || !segments[0]) return text(404, 'Not found: /media-batch/<dataset>?variant=&items=')
    const items = parseMediaBatchItems(url.searchParams.get('items') ?? '')
    if (typeof items === 'string') return text(400, items)
    let datasetId: string
    try {
      datasetId = decodeURIComponent(segments[0])
    } catch {
      return text(400, 'Bad request: malformed URL encoding')
    }
    return serveMediaBatch(context, { datasetId, items, variant: url.searchParams.get('variant') ?? 'thumb' })
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (url.pathname !== apiPath) return refuse(404, 'Not Found')
    if (!isOwnHost(req, port) || !isOwnOrigin(req, port) || !isAccessToken(tokenOf(req, url), token)) return refuse(403, 'Forbidden')
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws)
    ws.on('close', () => sockets.delete(ws))
    ws.on('message', (data) => {
      void answerFrame(ws, data.toString())
    })
  })

  async function answerFrame(ws: WebSocket, text: string): Promise<void> {
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      return reply(ws, { id: 0, ok: false, error: { message: 'Request is not JSON' } })
    }
    const frame = RequestFrame.safeParse(raw)
    if (!frame.success) {
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : 0
      return reply(ws, { id, ok: false, error: { message: 'Request frame must be {id, method, input}' } })
    }
    const result = await dispatch(services.handlers, frame.data.method, frame.data.input)
    reply(ws, { id: frame.data.id, ...result })
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolveListen()
    })
  })
  port = (server.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`
  let closing: Promise<void> | null = null

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    services,
    context,
    close() {
      closing ??= (async () => {
        for (const s of sockets) s.terminate()
        wss.close()
        server.closeAllConnections()
        await new Promise<void>((done) => server.close(() => done()))
        await services.dispose()
      })()
      return closing
    }
  }
}

function reply(ws: WebSocket, frame: unknown): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame))
}

function deny(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' })
  res.end(text + '\n')
}

function sendMedia(req: IncomingMessage, res: ServerResponse, media: MediaResponse, headers: Record<string, string>): void {
  if (media.status !== 200) return deny(res, media.status, typeof media.body === 'string' ? media.body : 'Not found')
  const out: Record<string, string> = { ...headers, 'Content-Type': media.contentType }
  if (media.cacheControl) out['Cache-Control'] = media.cacheControl
  if (media.etag) {
    out.ETag = media.etag
    if (req.headers['if-none-match'] === media.etag) {
      res.writeHead(304, out)
      res.end()
      return
    }
  }
  const body = typeof media.body === 'string' ? Buffer.from(media.body) : Buffer.from(media.body.buffer, media.body.byteOffset, media.body.byteLength)
  out['Content-Length'] = String(body.length)
  res.writeHead(200, out)
  res.end(req.method === 'HEAD' ? undefined : body)
}

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "form-action 'none'"
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    // The page URL carries the token: never leak it to another site.
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin'
  }
}

/** out/renderer of this checkout: beside the bundle (out/main/cli.js) or above the source tree. */
export function findRendererBuild(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'out', 'renderer')
    // Built bundle: out/main/cli.js (or out/main/chunks/*) beside out/renderer.
    const besideBundle = join(dir, '..', 'renderer', 'index.html')
    if (basename(join(dir, '..')) === 'out' && existsSync(besideBundle)) return join(dir, '..', 'renderer')
    dir = dirname(dir)
  }
  return join(process.cwd(), 'out', 'renderer')
}
