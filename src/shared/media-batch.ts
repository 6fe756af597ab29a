/**
 * Many sample images in one HTTP answer, for the serve mode's grid. A browser opens at
 * most 6 HTTP/1.1 connections per host, so a screen of 70 thumbnails fetched one URL
 * each queued in ~12 rounds (measured: ≈ 0.5 s of a 0.65 s Browse → painted); one
 * batch request is one round. The images travel as image bytes; the renderer shows
 * them by data: URL (see its thumbnails.ts for why not blob: URLs).
 *
 * Request:  GET /media-batch/<datasetId>?variant=thumb|full&items=<split>/<index>/<field>,...
 * Answer:   uint32 big-endian length of a UTF-8 JSON header, the header
 *           `{ items: [{ status, contentType, bytes, message? }] }` in request order,
 *           then each item's bytes, concatenated in the same order.
 * Pure: no Node or DOM names, so the serve host and the renderer both use it.
 */

export const mediaBatchPath = '/media-batch'
/** More would make one slow answer hold back a whole screen; a screen is ≈ 70–100 thumbnails. */
export const maxBatchItems = 200

export interface MediaBatchItem {
  split: string
  index: number
  field: string
}

export interface MediaBatchEntry {
  /** 200 when the image is here; otherwise the status a single media URL would have answered. */
  status: number
  contentType: string
  bytes: number
  /** Why there is no image (status ≠ 200), in plain words. */
  message?: string
}

/** The batch URL path and query (without origin and token) for items of one dataset. */
export function mediaBatchUrlPath(datasetId: string, items: readonly MediaBatchItem[], variant: 'thumb' | 'full'): string {
  const list = items.map((i) => [i.split, String(i.index), i.field].map(encodeURIComponent).join('/')).join(',')
  return `${mediaBatchPath}/${encodeURIComponent(datasetId)}?variant=${variant}&items=${encodeURIComponent(list)}`
}

/** The items a batch URL's `items` parameter names, or an error message. */
export function parseMediaBatchItems(text: string): MediaBatchItem[] | string {
  const items: MediaBatchItem[] = []
  for (const part of text.split(',')) {
    const segments = part.split('/')
    if (segments.length !== 3) return `Bad batch item "${part.slice(0, 100)}": expected <split>/<index>/<field>`
    let split: string
    let field: string
    try {
      split = decodeURIComponent(segments[0]!)
      field = decodeURIComponent(segments[2]!)
    } catch {
      return 'Badly escaped batch item'
    }
    if (!/^\d{1,10}$/.test(segments[1]!)) return `Bad sample index "${segments[1]!.slice(0, 20)}"`
    items.push({ split, index: Number(segments[1]), field })
  }
  if (items.length > maxBatchItems) return `At most ${maxBatchItems} images per batch (asked for ${items.length})`
  return items
}

/** Joins answered items into one body: header length, header, bytes. */
export function encodeMediaBatch(entries: ReadonlyArray<{ entry: MediaBatchEntry; body: Uint8Array | null }>): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ items: entries.map((e) => e.entry) }))
  const total = 4 + header.length + entries.reduce((n, e) => n + (e.body?.length ?? 0), 0)
  const out = new Uint8Array(total)
  new DataView(out.buffer).setUint32(0, header.length)
  out.set(header, 4)
  let at = 4 + header.length
  for (const e of entries) {
    if (!e.body) continue
    out.set(e.body, at)
    at += e.body.length
  }
  return out
}

/** Cuts a batch answer back into entries, each with a view of its bytes; throws on a malformed answer. */
export function decodeMediaBatch(buffer: ArrayBuffer): Array<{ entry: MediaBatchEntry; body: Uint8Array }> {
  const view = new DataView(buffer)
  if (buffer.byteLength < 4) throw new Error('Media batch answer is shorter than its header length')
  const headerLength = view.getUint32(0)
  if (4 + headerLength > buffer.byteLength) throw new Error('Media batch header runs past the answer')
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength))) as { items: MediaBatchEntry[] }
  let at = 4 + headerLength
  return header.items.map((entry) => {
    if (at + entry.bytes > buffer.byteLength) throw new Error('Media batch item runs past the answer')
    const body = new Uint8Array(buffer, at, entry.bytes)
    at += entry.bytes
    return { entry, body }
  })
}
