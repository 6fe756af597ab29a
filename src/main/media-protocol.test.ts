import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServices, type ServiceContext, type Services } from '../core/services'
import { serveMedia } from '../core/services/media'
import { nodeProcessHost } from '../core/process/node-host'
import { ShardWriter } from '../core/wds/writer'
import { answerMediaRequest, formatMediaUrl, parseMediaUrl } from './media-protocol'

let root: string
let ctx: ServiceContext
let services: Services
let datasetId: string
let jpeg: Uint8Array

async function fetchMedia(url: string, init: RequestInit = {}): Promise<Response> {
  return answerMediaRequest(new Request(url, init), (req) => serveMedia(ctx, req))
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-media-'))
  const shards = join(root, 'shards')
  await mkdir(shards)
  jpeg = new Uint8Array(await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 200, g: 40, b: 10 } } }).jpeg().toBuffer())
  const writer = new ShardWriter({ dir: shards, pattern: 'train-%06d.tar', maxcount: 10 })
  for (let i = 0; i < 3; i++) await writer.write({ key: `sample${i}`, fields: { jpg: jpeg, cls: String(i) } })
  await writer.close()
  ctx = { processHost: nodeProcessHost, emit: () => undefined, stateDir: join(root, 'state'), demoDir: join(root, 'demo'), host: 'electron' }
  services = createServices(ctx)
  datasetId = (await services.handlers['datasets.open']({ folder: shards })).datasetId
})

afterAll(async () => {
  await services?.dispose()
  await rm(root, { recursive: true, force: true })
})

describe('shardscope-media protocol', () => {
  it('serves a full image of an opened dataset as its stored bytes, with content type and caching headers', async () => {
    const res = await fetchMedia(formatMediaUrl(datasetId, 'train', 1, 'jpg', 'full'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+.*immutable/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(jpeg)
  })

  it('serves the thumbnail of an image that already fits one as its stored bytes, and answers 304 when the page already has it', async () => {
    const url = formatMediaUrl(datasetId, 'train', 2, 'jpg', 'thumb')
    const res = await fetchMedia(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(jpeg)
    const etag = res.headers.get('etag')!
    expect(etag).toBeTruthy()
    const again = await fetchMedia(url, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
  })

  it.each([
    ['an unknown dataset id', () => formatMediaUrl('0123456789abcdef', 'train', 0, 'jpg', 'full'), 404],
    ['a raw path instead of a dataset id', () => `shardscope-media://media/${encodeURIComponent('/etc/passwd')}/train/0/jpg`, 400],
    ['an unopened folder as dataset id', () => `shardscope-media://media/${encodeURIComponent(root)}/train/0/jpg`, 400],
    ['a .. segment', () => `shardscope-media://media/${datasetId}/../0/jpg?variant=full`, 400],
    ['an escaped .. in the field', () => `shardscope-media://media/${datasetId}/train/0/%2E%2E%2Fcls`, 400],
    ['a key in place of the index', () => `shardscope-media://media/${datasetId}/train/sample0/jpg`, 400],
    ['an index past the split', () => formatMediaUrl(datasetId, 'train', 3, 'jpg', 'full'), 404],
    ['a negative index', () => `shardscope-media://media/${datasetId}/train/-1/jpg`, 400],
    ['a split the dataset lacks', () => formatMediaUrl(datasetId, 'val', 0, 'jpg', 'full'), 404],
    ['a field the sample lacks', () => formatMediaUrl(datasetId, 'train', 0, 'png', 'full'), 404],
    ['an unknown variant', () => `shardscope-media://media/${datasetId}/train/0/jpg?variant=original`, 400],
    ['an extra parameter', () => `shardscope-media://media/${datasetId}/train/0/jpg?variant=full&path=/etc`, 400],
    ['too many segments', () => `shardscope-media://media/${datasetId}/train/0/jpg/extra`, 400],
    ['another host', () => `shardscope-media://files/${datasetId}/train/0/jpg`, 404]
  ])('refuses %s', async (_what, url, status) => {
    const res = await fetchMedia(url())
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('refuses every method but GET and HEAD', async () => {
    const res = await fetchMedia(formatMediaUrl(datasetId, 'train', 0, 'jpg', 'full'), { method: 'POST', body: 'x' })
    expect(res.status).toBe(405)
  })

  it('stops serving a dataset once it is closed', async () => {
    const other = await services.handlers['datasets.open']({ folder: join(root, 'shards'), name: 'again' })
    await services.handlers['datasets.close']({ datasetId: other.datasetId })
    const res = await fetchMedia(formatMediaUrl(other.datasetId, 'train', 0, 'jpg', 'full'))
    expect(res.status).toBe(404)
    // Reopen for any test that runs after.
    await services.handlers['datasets.open']({ folder: join(root, 'shards') })
  })

  it('parses the URL the preload builds back into the same request', () => {
    const parsed = parseMediaUrl(formatMediaUrl('abc-123', 'val', 4096, 'seg.png', 'thumb'))
    expect(parsed).toEqual({ ok: true, request: { datasetId: 'abc-123', split: 'val', index: '4096', field: 'seg.png', variant: 'thumb' } })
  })
})
