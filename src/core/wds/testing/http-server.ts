/**
 * A small HTTP server for tests: serves one folder on 127.0.0.1 with single-range
 * `Range` requests, `ETag`, `Last-Modified` and HEAD, like a static bucket would.
 * `ranges: false` imitates a server that ignores Range (answers 200 with the whole file).
 * Test-only: never used by the product.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize, sep } from 'node:path'

export interface TestHttpServer {
  /** `http://127.0.0.1:PORT` without a trailing slash. */
  baseUrl: string
  /** Requests seen, as "METHOD /path range", for asserting that range reads were used. */
  requests: string[]
  close(): Promise<void>
}

export interface ServeFolderOptions {
  /** Honour Range requests (default true). */
  ranges?: boolean
  /** Hold each GET's body back this long, like a slow bucket (default 0). */
  delayMs?: number
}

export async function serveFolder(folder: string, options: ServeFolderOptions = {}): Promise<TestHttpServer> {
  const ranges = options.ranges ?? true
  const delayMs = options.delayMs ?? 0
  const requests: string[] = []
  const server: Server = createServer((request, response) => {
    const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)
    requests.push(`${request.method} ${urlPath} ${request.headers.range ?? ''}`.trim())
    const file = normalize(join(folder, urlPath))
    if (!file.startsWith(normalize(folder) + sep)) {
      response.writeHead(403).end()
      return
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) {
          response.writeHead(404).end()
          return
        }
        const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`
        const headers: Record<string, string | number> = {
          ETag: etag,
          'Last-Modified': info.mtime.toUTCString(),
          'Content-Type': 'application/x-tar'
        }
        if (ranges) headers['Accept-Ranges'] = 'bytes'
        let start = 0
        let end = info.size - 1
        let status = 200
        const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.range ?? '')
        if (ranges && range) {
          if (range[1] === '') {
            start = Math.max(0, info.size - Number(range[2]))
          } else {
            start = Number(range[1])
            if (range[2] !== '') end = Math.min(end, Number(range[2]))
          }
          if (start >= info.size || start > end) {
            response.writeHead(416, { 'Content-Range': `bytes */${info.size}` }).end()
            return
          }
          status = 206
          headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`
        }
        headers['Content-Length'] = end - start + 1
        response.writeHead(status, headers)
        if (request.method === 'HEAD' || info.size === 0) {
          response.end()
          return
        }
        setTimeout(() => createReadStream(file, { start, end }).pipe(response), delayMs)
      },
      () => response.writeHead(404).end()
    )
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
  }
}
