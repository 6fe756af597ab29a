/**
 * The renderer's ShardScopeClient in serve mode: the contract over one WebSocket to
 * the serve host (frames in src/shared/ws-protocol.ts). Pure browser code, no Node
 * imports. Reconnects with backoff when the socket drops; calls made while it is
 * down wait for the next connection; calls in flight when it drops are rejected
 * (the server may not have run them). Event subscriptions survive reconnects.
 */
import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput, ShardScopeClient } from '../../../shared/contract'
import { apiPath, mediaUrlPath } from '../../../shared/ws-protocol'
import { mediaBatchUrlPath } from '../../../shared/media-batch'

/** The part of the browser's WebSocket this client uses; `ws`'s WebSocket has it too (tests run in Node). */
interface SocketLike {
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
type SocketConstructor = new (url: string) => SocketLike

export interface WebSocketClientOptions {
  /** Defaults to the browser's WebSocket. */
  WebSocket?: SocketConstructor
  /** Longest wait between reconnect attempts; default 5 s. */
  maxReconnectDelayMs?: number
}

export interface WebSocketClient extends ShardScopeClient {
  /** Closes the socket and stops reconnecting; pending calls are rejected. */
  close(): void
  /** Resolves once connected (for tests and start-up screens). */
  ready(): Promise<void>
  /** False while the socket is down and the client is trying to reconnect (for a "reconnecting…" notice). */
  isConnected(): boolean
}

interface Pending {
  resolve(value: unknown): void
  reject(err: Error): void
}

const OPEN = 1

/**
 * @param origin the serve host's origin, e.g. `http://127.0.0.1:5321` (`location.origin` in the browser)
 * @param token the access token from the page URL's `?token=`
 */
export function createWebSocketClient(origin: string, token: string, options: WebSocketClientOptions = {}): WebSocketClient {
  const Socket = options.WebSocket ?? (globalThis as unknown as { WebSocket: SocketConstructor }).WebSocket
  const maxDelay = options.maxReconnectDelayMs ?? 5000
  const base = origin.replace(/\/+$/, '')
  const wsUrl = `${base.replace(/^http/, 'ws')}${apiPath}?token=${encodeURIComponent(token)}`

  const pending = new Map<number, Pending>()
  const queued: string[] = []
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  let readyWaiters: Array<() => void> = []
  let nextId = 1
  let socket: SocketLike | null = null
  let closed = false
  let attempt = 0
  let retryTimer: ReturnType<typeof setTimeout> | null = null

  function connect(): void {
    const s = new Socket(wsUrl)
    socket = s
    s.onopen = () => {
      attempt = 0
      for (const frame of queued.splice(0)) s.send(frame)
      for (const w of readyWaiters.splice(0)) w()
    }
    s.onmessage = (ev) => receive(ev.data)
    s.onerror = () => {
      // A close event always follows; reconnecting happens there.
    }
    s.onclose = () => {
      if (socket === s) socket = null
      for (const [id, p] of pending) {
        pending.delete(id)
        p.reject(new Error('Connection to ShardScope was lost before the answer came; try again.'))
      }
      if (closed) return
      const delay = Math.min(maxDelay, 200 * 2 ** attempt)
      attempt += 1
      retryTimer = setTimeout(connect, delay)
    }
  }

  function receive(data: unknown): void {
    let frame: { id?: unknown; ok?: unknown; value?: unknown; error?: { message?: string; detail?: string }; event?: unknown; payload?: unknown }
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data))
    } catch {
      return
    }
    if (typeof frame.id === 'number') {
      const p = pending.get(frame.id)
      if (!p) return
      pending.delete(frame.id)
      if (frame.ok === true) p.resolve(frame.value)
      else {
        const err = new Error(frame.error?.message ?? 'The request failed') as Error & { detail?: string }
        if (frame.error?.detail) err.detail = frame.error.detail
        p.reject(err)
      }
    } else if (typeof frame.event === 'string') {
      for (const l of listeners.get(frame.event) ?? []) l(frame.payload)
    }
  }

  connect()

  return {
    call<M extends MethodName>(name: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
      if (closed) return Promise.reject(new Error('The ShardScope client is closed'))
      const id = nextId++
      const frame = JSON.stringify({ id, method: name, input })
      return new Promise<MethodOutput<M>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        if (socket && socket.readyState === OPEN) socket.send(frame)
        else queued.push(frame)
      })
    },
    on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
      let set = listeners.get(name)
      if (!set) listeners.set(name, (set = new Set()))
      const l = listener as (payload: unknown) => void
      set.add(l)
      return () => set.delete(l)
    },
    mediaUrl(datasetId, split, sampleIndex, field, variant) {
      return `${base}${mediaUrlPath(datasetId, split, sampleIndex, field, variant)}&token=${encodeURIComponent(token)}`
    },
    mediaBatchUrl(datasetId, items, variant) {
      return `${base}${mediaBatchUrlPath(datasetId, items, variant)}&token=${encodeURIComponent(token)}`
    },
    isConnected() {
      return socket !== null && socket.readyState === OPEN
    },
    ready() {
      if (socket && socket.readyState === OPEN) return Promise.resolve()
      return new Promise<void>((resolve) => readyWaiters.push(resolve))
    },
    close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      readyWaiters = []
      for (const [id, p] of pending) {
        pending.delete(id)
        p.reject(new Error('The ShardScope client is closed'))
      }
      socket?.close()
    }
  }
}
