import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

export function contentTypeOf(path: string): string {
  return contentTypes[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * The renderer is a single-page app: `/` and unknown page paths get index.html;
 * assets are served from the renderer build folder and nowhere else.
 * Returns false when nothing was found (the caller answers 404).
 */
export async function sendRendererFile(
  rendererDir: string,
  pathname: string,
  res: ServerResponse,
  headers: Record<string, string>,
  headOnly = false
): Promise<boolean> {
  const root = resolve(rendererDir)
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return false
  }
  if (decoded.includes('\0')) return false
  const wanted = decoded === '/' || decoded === '' ? '/index.html' : decoded
  const file = resolve(join(root, wanted))
  if (file !== root && !file.startsWith(root + sep)) return false
  let target = file
  let info = await stat(target).catch(() => null)
  if (!info?.isFile() && extname(wanted) === '') {
    // A client-side route (e.g. /browser): the app decides what to show.
    target = join(root, 'index.html')
    info = await stat(target).catch(() => null)
  }
  if (!info?.isFile()) return false
  // Vite fingerprints the names of what it puts in /assets; anything else may change with a new build.
  const fingerprinted = wanted.startsWith('/assets/')
  res.writeHead(200, {
    ...headers,
    'Content-Type': contentTypeOf(target),
    'Content-Length': String(info.size),
    'Cache-Control': fingerprinted ? 'private, max-age=31536000, immutable' : 'no-cache'
  })
  if (headOnly) {
    res.end()
    return true
  }
  await new Promise<void>((done) => {
    createReadStream(target).on('error', () => done()).on('end', done).pipe(res)
  })
  return true
}
