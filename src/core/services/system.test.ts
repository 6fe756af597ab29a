import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeProcessHost } from '../process'
import { createServices, type Services } from './index'
import { dispatch } from './dispatch'

let root: string
let services: Services

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-system-'))
  services = createServices({ processHost: nodeProcessHost, emit: () => undefined, stateDir: join(root, 'state'), demoDir: join(root, 'demo'), host: 'serve' })
})

afterAll(async () => {
  await services?.dispose()
  if (root) await rm(root, { recursive: true, force: true })
})

describe('system service', () => {
  it('lists every compute backend with a reason, probed in a child process, and says what auto picks', async () => {
    const answer = await dispatch(services.handlers, 'system.backends', {})
    expect(answer.ok).toBe(true)
    const { backends, auto } = (answer as { value: { backends: Array<{ name: string; available: boolean; reason: string }>; auto: { name: string; reason: string } | null } }).value
    expect(backends.map((b) => b.name)).toEqual(['cuda', 'webgpu', 'wasm', 'cpu'])
    for (const b of backends) expect(b.reason.length).toBeGreaterThan(0)
    // Plain JavaScript kernels work everywhere; auto picks one that is available.
    expect(backends.find((b) => b.name === 'cpu')!.available).toBe(true)
    expect(auto).not.toBeNull()
    expect(backends.find((b) => b.name === auto!.name)!.available).toBe(true)
    // The process that answered is gone; a second call is answered from the first probe.
    const again = await dispatch(services.handlers, 'system.backends', {})
    expect(again).toEqual(answer)
  }, 120_000)

  it('has no native folder dialog in serve mode: the browser keeps the path field', async () => {
    expect(await dispatch(services.handlers, 'system.chooseFolder', {})).toEqual({ ok: true, value: { supported: false, folder: null } })
  })
})
