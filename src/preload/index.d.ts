// What the preload puts on window, for the renderer's types (tsconfig.web.json includes this file).
import type { ShardScopeClient } from '../shared/contract'

declare global {
  interface Window {
    /** Present under Electron only; serve mode uses the WebSocket client instead. */
    shardscope?: ShardScopeClient
  }
}

export {}
