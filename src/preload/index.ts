/**
 * The preload: exposes the contract's typed client to the renderer as
 * `window.shardscope` and nothing else — never ipcRenderer itself, so a compromised
 * page can only call the contract's methods, whose payloads the main process validates —
 * plus `window.shardscopeFiles.pathOf(file)` for folders dropped on the window
 * (Electron ≥ 32 has no File.path; webUtils.getPathForFile is reachable only here).
 * Built as CommonJS: a sandboxed preload cannot load ES modules.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { createPreloadClient, type PreloadIpc } from './client'

const client = createPreloadClient(ipcRenderer as unknown as PreloadIpc)

// The bridge copies the object's functions; the methods are spelled out so no prototype members leak.
contextBridge.exposeInMainWorld('shardscope', {
  call: client.call.bind(client),
  on: client.on.bind(client),
  mediaUrl: client.mediaUrl.bind(client)
})
contextBridge.exposeInMainWorld('shardscopeFiles', {
  /** The path of a dropped file or folder; '' for a File not backed by one. */
  pathOf: (file: File): string => webUtils.getPathForFile(file)
})
