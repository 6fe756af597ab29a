/**
 * The `shardscope-media:` image protocol. A URL names a sample of a dataset the user
 * opened — `shardscope-media://media/<datasetId>/<split>/<index>/<field>?variant=thumb|full`
 * — never a path; serveMedia() looks the dataset up among the opened ones, so nothing
 * outside opened shards can be read through it. This file parses and refuses URLs
 * and turns serveMedia's answer into a fetch Response with its content type and
 * caching headers; registering the scheme is done in index.ts.
 */
import type { MediaRequest, MediaResponse } from '../core/services/media'

export const mediaScheme = 'shardscope-media'
const mediaHost = 'media'

/** Registered before `ready`: standard (relative URLs, origin), secure (allowed by CSP on a secure page), fetchable. */
export const mediaSchemePrivileges: Electron.CustomScheme = {
  scheme: mediaScheme,
  privileges: { standard: true, secure: true, supportFetchAPI: true }
}

export type ParsedMediaUrl = { ok: true; request: MediaRequest } | { ok: false; status: 400 | 404; message: string }

/** What the preload's mediaUrl() builds; the one place the URL's shape is written. */
export function formatMediaUrl(datasetId: string, split: string, sampleIndex: number, field: string, variant: 'thumb' | 'full'): string {
  const path = [datasetId, split, String(sampleIndex), field].map(encodeURIComponent).join('/')
  return `${mediaScheme}://${mediaHost}/${path}?variant=${variant}`
}

const datasetIdPattern = /^[A-Za-z0-9_-]{1,128}$/
const namePattern = /^[A-Za-z0-9_.-]{1,128}$/

/**
 * Parses the raw URL string (not a normalised URL object, so `..` segments are seen,
 * not resolved away) into a media request, or refuses it: wrong scheme or host, a
 * path that is not exactly four segments, a segment with `..`, a slash or a NUL, a
 * bad index, an unknown variant or any other query parameter.
 */
export function parseMediaUrl(raw: string): ParsedMediaUrl {
  const bad = (message: string): ParsedMediaUrl => ({ ok: false, status: 400, message })
  const prefix = `${mediaScheme}://${mediaHost}/`
  if (!raw.toLowerCase().startsWith(prefix)) return { ok: false, status: 404, message: `Not a ShardScope media URL: ${raw.slice(0, 200)}` }
  const rest = raw.slice(prefix.length).split('#')[0]!
  const q = rest.indexOf('?')
  const pathPart = q < 0 ? rest : rest.slice(0, q)
  const queryPart = q < 0 ? '' : rest.slice(q + 1)
  const encoded = pathPart.split('/')
  if (encoded.length !== 4) return bad('A media URL is /<datasetId>/<split>/<index>/<field>')
  let segments: string[]
  try {
    segments = encoded.map((s) => decodeURIComponent(s))
  } catch {
    return bad('Badly escaped media URL')
  }
  for (const s of segments) {
    if (s === '' || s.includes('..') || /[/\\\0]/.test(s)) return bad(`Bad media URL segment "${s.slice(0, 100)}"`)
  }
  const [datasetId, split, index, field] = segments as [string, string, string, string]
  if (!datasetIdPattern.test(datasetId)) return { ok: false, status: 404, message: `No open dataset with id ${datasetId.slice(0, 100)}` }
  if (!namePattern.test(split)) return bad(`Bad split name "${split}"`)
  if (!/^\d{1,10}$/.test(index)) return bad(`Bad sample index "${index}"`)
  if (!namePattern.test(field)) return bad(`Bad field name "${field}"`)
  const params = new URLSearchParams(queryPart)
  const keys = [...params.keys()]
  if (keys.some((k) => k !== 'variant') || keys.length > 1) return bad('The only media URL parameter is variant')
  const variant = params.get('variant') ?? 'full'
  if (variant !== 'thumb' && variant !== 'full') return bad(`Unknown variant "${variant}" (thumb or full)`)
  return { ok: true, request: { datasetId, split, index, field, variant } }
}

/** The request fields the handler reads (a fetch Request has them). */
export type MediaHttpRequest = Pick<Request, 'url' | 'method' | 'headers'>

/**
 * Answers one protocol request: refuses what parseMediaUrl refuses and any method but
 * GET/HEAD, asks `serve` for the rest, and answers 304 when the page already has the
 * same bytes (If-None-Match). Text answers are never sniffed as something else.
 */
export async function answerMediaRequest(
  request: MediaHttpRequest,
  serve: (req: MediaRequest) => Promise<MediaResponse>
): Promise<Response> {
  const base = { 'x-content-type-options': 'nosniff' }
  const text = (status: number, message: string): Response =>
    new Response(message, { status, headers: { ...base, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } })
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, `${request.method} is not allowed on media URLs`)
  const parsed = parseMediaUrl(request.url)
  if (!parsed.ok) return text(parsed.status, parsed.message)
  let answer: MediaResponse
  try {
    answer = await serve(parsed.request)
  } catch (err) {
    return text(500, `Could not read the sample: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (answer.status !== 200) return text(answer.status, typeof answer.body === 'string' ? answer.body : 'Refused')
  const headers: Record<string, string> = { ...base, 'content-type': answer.contentType, 'cache-control': answer.cacheControl ?? 'no-cache' }
  if (answer.etag) {
    headers.etag = answer.etag
    if (request.headers.get('if-none-match') === answer.etag) return new Response(null, { status: 304, headers })
  }
  const body = request.method === 'HEAD' ? null : typeof answer.body === 'string' ? answer.body : new Uint8Array(answer.body)
  return new Response(body, { status: 200, headers })
}
