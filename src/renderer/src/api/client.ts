/**
 * The one place the renderer chooses its transport: under Electron the preload
 * exposes the contract's typed client as `window.shardscope`; in a browser (serve
 * mode) we open the WebSocket client against this page's origin with the access
 * token the serve host put in the URL (`?token=`).
 */
import type { ShardScopeClient } from '@shared/contract'
import { createWebSocketClient } from './ws-client'

let client: ShardScopeClient | null = null

/** The client every store talks through; created on first use. */
export function getClient(): ShardScopeClient {
  if (client) return client
  if (window.shardscope) {
    client = window.shardscope
    return client
  }
  const token = new URLSearchParams(window.location.search).get('token') ?? ''
  client = createWebSocketClient(window.location.origin, token)
  return client
}
