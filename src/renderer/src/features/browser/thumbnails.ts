/**
 * Where the grid's thumbnails come from. Under Electron each image has its own
 * `shardscope-media:` URL (a custom protocol has no connection limit). In serve mode a
 * browser opens at most 6 HTTP/1.1 connections per host, so a screen of ≈ 70 images,
 * one URL each, loads in ≈ 12 rounds; here they are fetched a screen at a time through
 * one batch URL (src/shared/media-batch.ts) and shown by data: URL, made here from the
 * binary answer (measured while scrolling: a Blob + createObjectURL per image cost more
 * main-thread time than the whole grid's rendering, and an <img> loads a data: URL at
 * once, without a trip to the browser process). A new listing's first screen comes with
 * its first page instead (`accept`), saving that request's round trip.
 * The grid always asks for the 'thumb' variant: the back end answers with the stored
 * bytes when the image already fits a thumbnail (the demo's and Tiny ImageNet's 64×64
 * JPEGs) and makes one only for bigger images.
 * URLs are kept in a bounded least-recently-used map.
 */
import type { ShardScopeClient } from '@shared/contract'
import type { PageThumbnail, SampleRow } from '@shared/contract/datasets'
import { decodeMediaBatch, maxBatchItems } from '@shared/media-batch'

/** An image's URL, or `broken` when the back end says it cannot be shown, or undefined while it is on its way. */
export type ThumbnailUrl = string | 'broken' | undefined

/** What names a sample's image: enough to fetch it before its row is here. */
export type ImageRef = Pick<SampleRow, 'split' | 'index' | 'imageField'>

export class ThumbnailSource {
  private readonly urls = new Map<string, string>()
  /** Images on their way, each with the request that brings it. */
  private readonly pending = new Map<string, Promise<void>>()

  /**
   * @param onArrive called after a batch's URLs are in, so the grid re-renders once per batch
   * @param capacity URLs kept (≈ 3 KB each for 64×64 JPEGs); a few screens' worth, so scrolling back does not refetch
   */
  constructor(
    private readonly client: ShardScopeClient,
    private readonly onArrive: () => void,
    readonly capacity = 1500
  ) {}

  /** Whether images come in batches (serve mode) rather than one URL each. */
  get batched(): boolean {
    return typeof this.client.mediaBatchUrl === 'function'
  }

  url(datasetId: string, row: SampleRow): ThumbnailUrl {
    if (!row.imageField) return undefined
    if (!this.batched) return this.client.mediaUrl(datasetId, row.split, row.index, row.imageField, 'thumb')
    const k = keyOf(datasetId, row)
    const url = this.urls.get(k)
    if (url === undefined) return undefined
    this.urls.delete(k)
    this.urls.set(k, url)
    return url
  }

  /**
   * Fetches the images of these rows that are neither here nor on their way, in as few
   * requests as the batch size allows; resolves when those requests, and those already on
   * their way with any of these rows, have answered.
   */
  request(datasetId: string, rows: ReadonlyArray<ImageRef | undefined>): Promise<void> {
    if (!this.batched) return Promise.resolve()
    const wanted: Array<{ key: string; row: ImageRef & { imageField: string } }> = []
    const waits = new Set<Promise<void>>()
    for (const row of rows) {
      if (!row?.imageField) continue
      const k = keyOf(datasetId, row)
      if (this.urls.has(k)) continue
      const onItsWay = this.pending.get(k)
      if (onItsWay) waits.add(onItsWay)
      else wanted.push({ key: k, row: row as ImageRef & { imageField: string } })
    }
    for (let i = 0; i < wanted.length; i += maxBatchItems) {
      const items = wanted.slice(i, i + maxBatchItems)
      // Started a microtask later, so its images count as on their way before it can settle.
      const batch = Promise.resolve().then(() => this.fetchBatch(datasetId, items))
      for (const { key } of items) this.pending.set(key, batch)
      waits.add(batch)
    }
    return Promise.all(waits).then(() => undefined)
  }

  /** Takes the thumbnails that came with a page (`datasets.samples`' `thumbnails`), one per row from the first. */
  accept(datasetId: string, rows: readonly SampleRow[], thumbnails: ReadonlyArray<PageThumbnail | null>): void {
    thumbnails.forEach((t, i) => {
      const row = rows[i]
      if (row?.imageField) this.remember(keyOf(datasetId, row), t ? dataUrl(t.contentType, t.base64) : 'broken')
    })
  }

  private async fetchBatch(datasetId: string, items: Array<{ key: string; row: ImageRef & { imageField: string } }>): Promise<void> {
    const url = this.client.mediaBatchUrl!(
      datasetId,
      items.map(({ row }) => ({ split: row.split, index: row.index, field: row.imageField })),
      'thumb'
    )
    try {
      const response = await fetch(url)
      if (!response.ok) throw new Error(`media batch answered ${response.status}`)
      const entries = decodeMediaBatch(await response.arrayBuffer())
      entries.forEach(({ entry, body }, i) => {
        const item = items[i]
        if (!item) return
        this.remember(item.key, entry.status === 200 ? dataUrl(entry.contentType, toBase64(body)) : 'broken')
      })
    } catch {
      // The batch route failed as a whole (connection lost, old host): fall back to one URL per image.
      for (const { key, row } of items) this.remember(key, this.client.mediaUrl(datasetId, row.split, row.index, row.imageField, 'thumb'))
    } finally {
      for (const { key } of items) this.pending.delete(key)
    }
    this.onArrive()
  }

  private remember(key: string, url: string): void {
    this.urls.set(key, url)
    while (this.urls.size > this.capacity) this.urls.delete(this.urls.keys().next().value!)
  }
}

function keyOf(datasetId: string, row: ImageRef): string {
  return `${datasetId}/${row.split}/${row.index}/${row.imageField}`
}

function dataUrl(contentType: string, base64: string): string {
  return `data:${contentType};base64,${base64}`
}

/** Base64 of image bytes, in chunks (String.fromCharCode takes a bounded argument list). */
function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64
  if (native) return native.call(bytes)
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}
