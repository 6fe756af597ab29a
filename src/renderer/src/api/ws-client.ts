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
  /** Asks whether the host refuses the token once a reconnect fails (defaults to the browser's fetch of the page URL). */
  fetch?: (url: string) => Promise<{ status: number }>
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
  /**
   * Calls `listener` with each change of the connection: 'connected'; 'reconnecting' while
   * the host cannot be reached; 'refused' when it answers but refuses this page's access
   * token (a restarted host has a new one). Returns the unsubscribe.
   */
  onConnection(listener: (state: ConnectionState) => void): () => void
}

export type ConnectionState = 'connected' | 'reconnecting' | 'refused'

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
  const connectionListeners = new Set<(state: ConnectionState) => void>()
  let state: ConnectionState = 'connected'
  /** Connections opened so far: a probe's answer counts only if none opened while it was on its way. */
  let opens = 0
  const setState = (next: ConnectionState) => {
    if (next === state) return
    state = next
    for (const l of connectionListeners) l(next)
  }
  const probe = options.fetch ?? ((url: string) => (globalThis as unknown as { fetch: (u: string, o: object) => Promise<{ status: number }> }).fetch(url, { cache: 'no-store' }))

  function connect(): void {
    const s = new Socket(wsUrl)
    socket = s
    let opened = false
    s.onopen = () => {
      opened = true
      opens++
      setState('connected')
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
      if (opened) setState('reconnecting')
      else {
        // A connection that never opened: the host is down, or it is up and refuses the token
        // (a WebSocket handshake's 403 is not visible to the page; the page URL's answer is).
        const opensBefore = opens
        const still = () => !closed && opens === opensBefore
        probe(`${base}/?token=${encodeURIComponent(token)}`).then(
          (r) => still() && setState(r.status === 403 ? 'refused' : 'reconnecting'),
          () => still() && setState('reconnecting')
        )
      }
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
    onConnection(listener) {
      connectionListeners.add(listener)
      return () => connectionListeners.delete(listener)
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
