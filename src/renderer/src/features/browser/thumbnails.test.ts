import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ShardScopeClient } from '@shared/contract'
import { encodeMediaBatch } from '@shared/media-batch'
import { ThumbnailSource, type ImageRef } from './thumbnails'

/** A client whose batch URLs list the asked indexes, and a fetch whose answers the test releases one by one. */
function harness() {
  const client = {
    mediaUrl: (_d: string, split: string, index: number) => `media/${split}/${index}`,
    mediaBatchUrl: (_d: string, items: ReadonlyArray<{ index: number }>) => `batch/${items.map((i) => i.index).join(',')}`
  } as unknown as ShardScopeClient
  const asked: string[] = []
  const release: Array<() => void> = []
  vi.stubGlobal('fetch', (url: string) => {
    asked.push(url)
    const count = url.slice('batch/'.length).split(',').length
    const body = encodeMediaBatch(Array.from({ length: count }, (_, i) => ({ entry: { status: 200, contentType: 'image/jpeg', bytes: 2 }, body: Uint8Array.of(0xff, i) })))
    return new Promise((resolve) => release.push(() => resolve(new Response(new Uint8Array(body)))))
  })
  let arrivals = 0
  const source = new ThumbnailSource(client, () => arrivals++)
  return { source, asked, release, arrivals: () => arrivals }
}

const rows = (...indexes: number[]): ImageRef[] => indexes.map((index) => ({ split: 'train', index, imageField: 'jpg' }))
const settled = async (p: Promise<void>) => {
  let done = false
  void p.then(() => (done = true))
  await new Promise((r) => setTimeout(r, 20))
  return done
}

afterEach(() => vi.unstubAllGlobals())

describe('ThumbnailSource', () => {
  it('asks only for images neither here nor on their way, and a request waits for those on their way', async () => {
    const h = harness()
    const screen = h.source.request('d', rows(0, 1, 2))
    await Promise.resolve()
    expect(h.asked).toEqual(['batch/0,1,2'])
    // The rest of the page: images 1 and 2 are on their way, so only 3 and 4 are asked for, and it waits for both batches.
    const page = h.source.request('d', rows(1, 2, 3, 4))
    await Promise.resolve()
    expect(h.asked).toEqual(['batch/0,1,2', 'batch/3,4'])
    h.release[1]!()
    expect(await settled(page)).toBe(false)
    h.release[0]!()
    await screen
    await page
    expect(h.arrivals()).toBe(2)
    expect(h.source.url('d', { split: 'train', index: 2, imageField: 'jpg' } as never)).toBe('data:image/jpeg;base64,/wI=')
    // Here now: nothing more is fetched.
    await h.source.request('d', rows(0, 4))
    expect(h.asked).toHaveLength(2)
  })
})
