import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** The cookie the page gets on its first (token-carrying) load, so its scripts and images need no token in their URLs. */
export const tokenCookie = 'shardscope_token'

/** 32 random bytes, URL-safe: unguessable, and short enough to paste. */
export function createAccessToken(): string {
  return randomBytes(32).toString('base64url')
}

/** The token a request carries: `?token=` first, then the cookie. */
export function tokenOf(req: IncomingMessage, url: URL): string | null {
  const fromQuery = url.searchParams.get('token')
  if (fromQuery) return fromQuery
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === tokenCookie) return decodeURIComponent(rest.join('='))
  }
  return null
}

export function isAccessToken(candidate: string | null, token: string): boolean {
  if (candidate === null) return false
  const a = Buffer.from(candidate)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * A page on another site can make the browser talk to 127.0.0.1 (DNS rebinding, or
 * a plain cross-site WebSocket). Only requests addressed to our own loopback host
 * name, and WebSockets opened by our own origin, are let in.
 */
export function isOwnHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`
}

export function isOwnOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin
  // Non-browser clients (CLI tools, tests) send no Origin; the token still guards them.
  if (origin === undefined) return true
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`
}
