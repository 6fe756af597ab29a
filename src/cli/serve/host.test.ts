import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { connect } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { generateDemo } from '../../core/demo'
import type { ShardScopeClient } from '../../shared/contract'
import { decodeMediaBatch } from '../../shared/media-batch'
import { startServeHost, type ServeHost } from './host'

let root: string
let demoDir: string
let host: ServeHost
const clients: WebSocketClient[] = []

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A plain HTTP GET, with full control over the Host header and cookies (fetch would hide them). */
function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers: { Host: `127.0.0.1:${host.port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Try a raw WebSocket upgrade and report the HTTP status the server answered. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('open', () => {
      ws.close()
      resolve(101)
    })
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.on('error', () => resolve(-1))
  })
}

// The browser's client, driven here with ws's WebSocket. Imported by path at run time because
// the renderer's files belong to the web TypeScript project, not this one.
type WebSocketClient = ShardScopeClient & { ready(): Promise<void>; isConnected(): boolean; close(): void; onConnection(l: (state: string) => void): () => void }
type CreateClient = (origin: string, token: string, options: { WebSocket: unknown; maxReconnectDelayMs?: number }) => WebSocketClient
let createWebSocketClient: CreateClient

function client(): WebSocketClient {
  const c = createWebSocketClient(host.origin, host.token, { WebSocket })
  clients.push(c)
  return c
}

beforeAll(async () => {
  const wsClientModule: string = new URL('../../renderer/src/api/ws-client.ts', import.meta.url).pathname
  ;({ createWebSocketClient } = (await import(wsClientModule)) as { createWebSocketClient: CreateClient })
  root = await mkdtemp(join(tmpdir(), 'shardscope-serve-'))
  demoDir = join(root, 'demo')
  await generateDemo(demoDir, { train: 24, val: 8, classes: 3, size: 16, shardMaxcount: 12, seed: 9 })
  const rendererDir = join(root, 'renderer')
  await mkdir(join(rendererDir, 'assets'), { recursive: true })
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>ShardScope</title><script type="module" src="/assets/app-1.js"></script>')
  await writeFile(join(rendererDir, 'assets', 'app-1.js'), 'console.log("hi")')
  host = await startServeHost({ port: 0, stateDir: join(root, 'state'), rendererDir })
})

afterAll(async () => {
  for (const c of clients) c.close()
  await host?.close()
  if (root) await rm(root, { recursive: true, force: true })
})

describe('serve host', () => {
  it('listens on 127.0.0.1 only and prints a URL with a random token', async () => {
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/\\?token=[A-Za-z0-9_-]{40,}$`))
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address)
    if (others.length === 0) {
      console.log('bind check against a non-loopback address skipped: this machine has no non-loopback IPv4 interface')
      return
    }
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: others[0]!, port: host.port })
      s.on('connect', () => {
        s.destroy()
        resolve(false)
      })
      s.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)
  })

  it('refuses HTTP requests without the token or with a wrong one (403), and requests for another Host', async () => {
    expect((await get('/')).status).toBe(403)
    expect((await get('/?token=wrong')).status).toBe(403)
    expect((await get(`/?token=${host.token}x`)).status).toBe(403)
    expect((await get('/assets/app-1.js')).status).toBe(403)
    expect((await get(`/?token=${host.token}`, { Host: `evil.example:${host.port}` })).status).toBe(403)
  })

  it('serves the renderer with the token, sets the token cookie and a CSP, then lets assets load by cookie', async () => {
    const page = await get(`/?token=${host.token}`)
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'")
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    const cookie = String(page.headers['set-cookie']).split(';')[0]!
    expect(cookie).toBe(`shardscope_token=${host.token}`)
    const asset = await get('/assets/app-1.js', { Cookie: cookie })
    expect(asset.status).toBe(200)
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(asset.body.toString()).toBe('console.log("hi")')
    const route = await get('/browser', { Cookie: cookie })
    expect(route.body.toString()).toContain('<title>ShardScope</title>')
    // URL parsing folds the dots away; what is left is a path inside the build, never /etc/passwd.
    for (const escape of ['/assets/../../../etc/passwd', '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2F..%2F..%2Fetc%2Fpasswd']) {
      const answer = await get(escape, { Cookie: cookie })
      expect(answer.body.toString()).not.toContain('root:')
    }
    expect((await get('/assets/missing.js', { Cookie: cookie })).status).toBe(404)
  })

  it('refuses WebSocket connections without the token, with a wrong one, or from another origin', async () => {
    const ws = `ws://127.0.0.1:${host.port}/api`
    expect(await upgradeStatus(ws)).toBe(403)
    expect(await upgradeStatus(`${ws}?token=nope`)).toBe(403)
    expect(await upgradeStatus(`${ws}?token=${host.token}`, { Origin: 'http://evil.example' })).toBe(403)
    expect(await upgradeStatus(`${ws}?token=${host.token}`)).toBe(101)
  })

  it('answers contract calls over the WebSocket, and refuses unknown methods and payloads that fail the schema', async () => {
    const c = client()
    const info = await c.call('system.info', {})
    expect(info.host).toBe('serve')
    await expect(c.call('system.shutdown' as never, {} as never)).rejects.toThrow(/Unknown method "system.shutdown"/)
    await expect(c.call('datasets.samples', { datasetId: 'x', offset: -5 } as never)).rejects.toThrow(/offset/)
    await expect(c.call('datasets.open', { folder: 42 } as never)).rejects.toThrow(/folder/)
  })

  it('opens a demo folder over the WebSocket, streams indexing events to every client, and shows the shards\' counts', async () => {
    const a = client()
    const b = client()
    await Promise.all([a.ready(), b.ready()])
    const seen: string[] = []
    const done = new Promise<void>((resolve) => {
      b.on('datasets.indexProgress', (p) => {
        seen.push(`${p.split}:${p.shardsDone}/${p.shardsTotal}`)
        if (p.split === 'val' && p.done) resolve()
      })
    })
    const summary = await a.call('datasets.open', { folder: demoDir })
    const inventory = await a.call('datasets.inventory', { datasetId: summary.datasetId })
    await done
    expect(seen).toEqual(['train:1/2', 'train:2/2', 'val:1/1'])
    expect(inventory.splits.map((s) => [s.name, s.samples, s.shards.length])).toEqual([
      ['train', 24, 2],
      ['val', 8, 1]
    ])
  })

  it('serves thumbnails and full images under /media with the token, and refuses unknown ids, ".." and bad indexes', async () => {
    const c = client()
    const { datasetId } = await c.call('datasets.open', { folder: demoDir })
    const page = await c.call('datasets.samples', { datasetId, filter: { split: 'val' }, offset: 0, limit: 2 })
    const url = new URL(c.mediaUrl(datasetId, 'val', page.items[1]!.index, 'jpg', 'thumb'))
    const thumb = await get(url.pathname + url.search)
    expect(thumb.status).toBe(200)
    // A 16×16 JPEG already fits a thumbnail: its stored bytes come back, not a re-encoding.
    expect(thumb.headers['content-type']).toBe('image/jpeg')
    expect(thumb.headers['cache-control']).toBe('private, max-age=31536000, immutable')
    expect(await sharp(thumb.body).metadata()).toMatchObject({ format: 'jpeg', width: 16, height: 16 })
    const again = await get(url.pathname + url.search, { 'If-None-Match': String(thumb.headers.etag) })
    expect(again.status).toBe(304)
    const full = new URL(c.mediaUrl(datasetId, 'val', 1, 'jpg', 'full'))
    const image = await get(full.pathname + full.search)
    expect(image.headers['content-type']).toBe('image/jpeg')
    expect(image.body.equals(thumb.body)).toBe(true)
    expect(await sharp(image.body).metadata()).toMatchObject({ format: 'jpeg', width: 16, height: 16 })
    const t = `token=${host.token}`
    expect((await get(`/media/${datasetId}/val/1/jpg?variant=thumb`)).status).toBe(403)
    expect((await get(`/media/0123456789abcdef/val/1/jpg?${t}`)).status).toBe(404)
    expect((await get(`/media/${datasetId}/val/8/jpg?${t}`)).status).toBe(404)
    expect([400, 404]).toContain((await get(`/media/${datasetId}/val/1/%2e%2e?${t}`)).status)
    expect((await get(`/media/${datasetId}/val/1/..%2F..%2Fdataset.json?${t}`)).status).toBe(400)
    expect((await get(`/media/${datasetId}/val/one/jpg?${t}`)).status).toBe(400)
  })

  it('answers a screen of images in one /media-batch request: the same bytes as one URL each, a refusal per unknown sample', async () => {
    const c = client()
    const { datasetId } = await c.call('datasets.open', { folder: demoDir })
    const page = await c.call('datasets.samples', { datasetId, filter: {}, offset: 0, limit: 40 })
    expect(page.items.length).toBe(32)
    const items = [...page.items.map((r) => ({ split: r.split, index: r.index, field: r.imageField! })), { split: 'val', index: 99, field: 'jpg' }]
    const url = new URL(c.mediaBatchUrl!(datasetId, items, 'thumb'))
    const answer = await get(url.pathname + url.search)
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toBe('application/vnd.shardscope.media-batch')
    const body = answer.body.buffer.slice(answer.body.byteOffset, answer.body.byteOffset + answer.body.length) as ArrayBuffer
    const entries = decodeMediaBatch(body)
    expect(entries).toHaveLength(33)
    for (const [i, row] of page.items.entries()) {
      const one = new URL(c.mediaUrl(datasetId, row.split, row.index, 'jpg', 'thumb'))
      const single = await get(one.pathname + one.search)
      expect(entries[i]!.entry).toMatchObject({ status: 200, contentType: 'image/jpeg' })
      expect(Buffer.from(entries[i]!.body).equals(single.body)).toBe(true)
    }
    expect(entries[32]!.entry).toMatchObject({ status: 404, bytes: 0, message: 'Split val has 8 samples; there is no sample 99' })
    const t = `token=${host.token}`
    expect((await get(`/media-batch/${datasetId}?variant=thumb&items=val%2F1%2Fjpg`)).status).toBe(403)
    expect((await get(`/media-batch/${datasetId}?${t}&items=val%2Fone%2Fjpg`)).status).toBe(400)
    expect((await get(`/media-batch/${datasetId}?${t}&items=val%2F1`)).status).toBe(400)
    expect((await get(`/media-batch/0123456789abcdef?${t}&items=val%2F1%2Fjpg`)).status).toBe(404)
  })

  it("the grid's thumbnail source turns one batch into data: URLs of the stored bytes, and falls back to one URL per image when the batch fails", async () => {
    const thumbnailsModule: string = new URL('../../renderer/src/features/browser/thumbnails.ts', import.meta.url).pathname
    type Source = { url(d: string, row: unknown, v: 'thumb' | 'full'): string | undefined; request(d: string, rows: unknown[], v: 'thumb' | 'full'): void }
    const { ThumbnailSource } = (await import(thumbnailsModule)) as { ThumbnailSource: new (client: ShardScopeClient, onArrive: () => void) => Source }
    const c = client()
    const { datasetId } = await c.call('datasets.open', { folder: demoDir })
    const page = await c.call('datasets.samples', { datasetId, filter: { split: 'train' }, offset: 0, limit: 5 })
    let arrived = () => undefined as void
    const source = new ThumbnailSource(c, () => arrived())
    expect(source.url(datasetId, page.items[0], 'full')).toBeUndefined()
    await new Promise<void>((resolve) => {
      arrived = resolve
      source.request(datasetId, page.items, 'full')
    })
    for (const row of page.items) {
      const url = source.url(datasetId, row, 'full')!
      expect(url.startsWith('data:image/jpeg;base64,')).toBe(true)
      const one = new URL(c.mediaUrl(datasetId, row.split, row.index, 'jpg', 'full'))
      expect(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').equals((await get(one.pathname + one.search)).body)).toBe(true)
    }
    // A client whose batch URL leads nowhere: each image gets its own media URL instead.
    const broken = new ThumbnailSource({ ...c, mediaBatchUrl: () => `${host.origin}/no-such-route` } as ShardScopeClient, () => arrived())
    await new Promise<void>((resolve) => {
      arrived = resolve
      broken.request(datasetId, page.items.slice(0, 2), 'thumb')
    })
    expect(broken.url(datasetId, page.items[1], 'thumb')).toBe(c.mediaUrl(datasetId, 'train', page.items[1]!.index, 'jpg', 'thumb'))
  })

  it('a client that never connects says why: nothing listening (reconnecting), or a host that refuses its token (refused)', async () => {
    const wrong = createWebSocketClient(host.origin, 'not-the-token', { WebSocket, maxReconnectDelayMs: 100 })
    clients.push(wrong)
    const wrongStates: string[] = []
    wrong.onConnection((state) => wrongStates.push(state))
    await expect.poll(() => wrongStates.at(-1), { timeout: 5000 }).toBe('refused')
    const gone = await startServeHost({ port: 0, stateDir: join(root, 'gone-state'), rendererDir: join(root, 'renderer') })
    const origin = gone.origin
    await gone.close()
    const nobody = createWebSocketClient(origin, 'x', { WebSocket, maxReconnectDelayMs: 100 })
    clients.push(nobody)
    const nobodyStates: string[] = []
    nobody.onConnection((state) => nobodyStates.push(state))
    await expect.poll(() => nobodyStates.at(-1), { timeout: 5000 }).toBe('reconnecting')
  })

  it('the browser client reconnects by itself when the serve host restarts on the same port, and says so; a host with a new token is named as refusing', async () => {
    const stateDir = join(root, 'restart-state')
    const first = await startServeHost({ port: 0, stateDir, rendererDir: join(root, 'renderer'), token: host.token })
    const c = createWebSocketClient(first.origin, first.token, { WebSocket, maxReconnectDelayMs: 100 })
    clients.push(c)
    const states: string[] = []
    c.onConnection((state) => states.push(state))
    expect((await c.call('system.info', {})).host).toBe('serve')
    await first.close()
    await expect.poll(() => c.isConnected()).toBe(false)
    await expect.poll(() => states.at(-1)).toBe('reconnecting')
    const second = await startServeHost({ port: first.port, stateDir, rendererDir: join(root, 'renderer'), token: first.token })
    try {
      // Calls made while the socket is down wait for the next connection.
      expect((await c.call('datasets.recent', {})).items).toEqual([])
      expect(states.at(-1)).toBe('connected')
    } finally {
      await second.close()
    }
    // Restarted the usual way, the host has a new token: this page's is refused.
    const third = await startServeHost({ port: first.port, stateDir, rendererDir: join(root, 'renderer') })
    try {
      expect(third.token).not.toBe(first.token)
      await expect.poll(() => states.at(-1), { timeout: 5000 }).toBe('refused')
    } finally {
      await third.close()
    }
  })
})
