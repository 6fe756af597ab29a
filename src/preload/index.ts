/**
 * The preload: exposes the contract's typed client to the renderer as
 * `window.shardscope` and nothing else — never ipcRenderer itself, so a compromised
 * page can only call the contract's methods, whose payloads the main process validates.
 * Built as CommonJS: a sandboxed preload cannot load ES modules.
 */
import { contextBridge, ipcRenderer } from 'electron'
import { createPreloadClient, type PreloadIpc } from './client'

const client = createPreloadClient(ipcRenderer as unknown as PreloadIpc)

// The bridge copies the object's functions; the methods are spelled out so no prototype members leak.
contextBridge.exposeInMainWorld('shardscope', {
  call: client.call.bind(client),
  on: client.on.bind(client),
  mediaUrl: client.mediaUrl.bind(client)
})
