// What the preload puts on window, for the renderer's types (tsconfig.web.json includes this file).
import type { ShardScopeClient } from '../shared/contract'

declare global {
  interface Window {
    /** Present under Electron only; serve mode uses the WebSocket client instead. */
    shardscope?: ShardScopeClient
    /** Under Electron only: the path of a dropped file or folder (webUtils.getPathForFile). */
    shardscopeFiles?: { pathOf(file: File): string }
  }
}

export {}
