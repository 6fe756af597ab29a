import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodNames, type Handlers } from '../shared/contract'
import { createServices, type Services } from '../core/services'
import { nodeProcessHost } from '../core/process/node-host'
import { callChannelOf, type CallReply } from '../preload/channels'
import { bindContract, isRendererUrl, isTrustedSender } from './ipc'

type InvokeListener = Parameters<Electron.IpcMain['handle']>[1]
type InvokeEvent = Parameters<InvokeListener>[0]

/** ipcMain as far as the binding uses it: records what was registered, and lets the test invoke it. */
function fakeIpcMain(): Pick<Electron.IpcMain, 'handle' | 'removeHandler'> & { bound: Map<string, InvokeListener> } {
  const bound = new Map<string, InvokeListener>()
  return {
    bound,
    handle(channel, listener) {
      if (bound.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
      bound.set(channel, listener)
    },
    removeHandler(channel) {
      bound.delete(channel)
    }
  }
}

const ourId = 7
const rendererUrl = 'file:///opt/ShardScope/resources/app.asar/out/renderer/index.html'

function eventFrom(webContentsId: number, frameUrl: string | undefined): InvokeEvent {
  return { sender: { id: webContentsId }, senderFrame: frameUrl === undefined ? null : { url: frameUrl } } as unknown as InvokeEvent
}

let stateDir: string
let services: Services
/** The real handlers, counting how often each was reached. */
let counted: Handlers
const reached = new Map<string, number>()

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'shardscope-ipc-'))
  services = createServices({ processHost: nodeProcessHost, emit: () => undefined, stateDir, demoDir: join(stateDir, 'demo'), host: 'electron' })
  counted = Object.fromEntries(
    Object.entries(services.handlers).map(([name, fn]) => [
      name,
      (input: unknown) => {
        reached.set(name, (reached.get(name) ?? 0) + 1)
        return (fn as (i: unknown) => Promise<unknown>)(input)
      }
    ])
  ) as unknown as Handlers
})

afterAll(async () => {
  await services.dispose()
  await rm(stateDir, { recursive: true, force: true })
})

describe('bindContract', () => {
  it('registers exactly one handler per contract method, on channels derived from the method names', () => {
    const ipc = fakeIpcMain()
    const binding = bindContract(ipc, counted, { webContentsId: () => ourId, rendererUrl })
    expect([...ipc.bound.keys()].sort()).toEqual(methodNames.map(callChannelOf).sort())
    expect(new Set(binding.channels).size).toBe(methodNames.length)
    binding.unbind()
    expect(ipc.bound.size).toBe(0)
  })

  it('answers a request from our window with the real service result', async () => {
    const ipc = fakeIpcMain()
    bindContract(ipc, counted, { webContentsId: () => ourId, rendererUrl })
    const reply = (await ipc.bound.get(callChannelOf('system.info'))!(eventFrom(ourId, `${rendererUrl}?dataset=abc`), {})) as CallReply
    expect(reply.ok).toBe(true)
    expect((reply as { value: { host: string } }).value.host).toBe('electron')
  })

  it('refuses a request from a foreign frame or another window before the service runs', async () => {
    const ipc = fakeIpcMain()
    const refused: string[] = []
    bindContract(ipc, counted, { webContentsId: () => ourId, rendererUrl }, (channel, url) => refused.push(`${channel} ${url}`))
    const before = reached.get('datasets.recent') ?? 0
    const handler = ipc.bound.get(callChannelOf('datasets.recent'))!
    for (const event of [
      eventFrom(ourId, 'https://evil.example/page.html'),
      eventFrom(ourId, 'file:///tmp/downloaded.html'),
      eventFrom(ourId, undefined),
      eventFrom(ourId + 1, rendererUrl)
    ]) {
      const reply = (await handler(event, {})) as CallReply
      expect(reply.ok).toBe(false)
      expect((reply as { error: { message: string } }).error.message).toMatch(/did not come from ShardScope's window/)
    }
    expect(reached.get('datasets.recent') ?? 0).toBe(before)
    expect(refused).toHaveLength(4)
  })

  it('refuses a payload the contract schema rejects before the service runs, naming the field', async () => {
    const ipc = fakeIpcMain()
    bindContract(ipc, counted, { webContentsId: () => ourId, rendererUrl })
    const before = reached.get('datasets.inventory') ?? 0
    const reply = (await ipc.bound.get(callChannelOf('datasets.inventory'))!(eventFrom(ourId, rendererUrl), { datasetId: 42 })) as CallReply
    expect(reply.ok).toBe(false)
    expect((reply as { error: { message: string } }).error.message).toMatch(/Invalid request for datasets\.inventory: datasetId/)
    expect(reached.get('datasets.inventory') ?? 0).toBe(before)
  })

  it('trusts nobody before the window exists', () => {
    expect(isTrustedSender(eventFrom(ourId, rendererUrl), { webContentsId: () => null, rendererUrl })).toBe(false)
  })
})

describe('isRendererUrl', () => {
  it.each([
    ['file:///opt/app/out/renderer/index.html?dataset=x#/browse', 'file:///opt/app/out/renderer/index.html', true],
    ['file:///opt/app/out/renderer/other.html', 'file:///opt/app/out/renderer/index.html', false],
    ['http://localhost:5173/?dataset=x', 'http://localhost:5173', true],
    ['http://localhost:5174/', 'http://localhost:5173', false],
    ['https://localhost:5173/', 'http://localhost:5173', false],
    ['not a url', 'http://localhost:5173', false]
  ])('%s is our renderer (%s): %s', (url, ours, expected) => {
    expect(isRendererUrl(url, ours)).toBe(expected)
  })
})
