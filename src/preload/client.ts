/**
 * The contract's typed client as the preload builds it: `call` invokes the method's
 * own IPC channel, `on` registers a listener fed by batches arriving on the event
 * MessagePort, `mediaUrl` builds a `shardscope-media:` URL. Only this object crosses
 * the context bridge; ipcRenderer never does. Takes ipcRenderer as a parameter so it
 * is tested in plain Node.
 */
import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput, ShardScopeClient } from '../shared/contract'
import { formatMediaUrl } from '../main/media-protocol'
import { callChannelOf, eventPortChannel, type CallReply, type EventMessage } from './channels'

/** The two things of ipcRenderer the client uses. */
export interface PreloadIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: { ports: ReadonlyArray<EventPortLike> }, ...args: unknown[]) => void): unknown
}

/** A DOM MessagePort as the preload receives it. */
export interface EventPortLike {
  onmessage: ((event: { data: unknown }) => void) | null
  start?(): void
  close?(): void
}

export function createPreloadClient(ipc: PreloadIpc): ShardScopeClient {
  const listeners = new Map<string, Set<(payload: unknown) => void>>()
  let port: EventPortLike | null = null

  function deliver(batch: unknown): void {
    if (!Array.isArray(batch)) return
    for (const message of batch as EventMessage[]) {
      const set = listeners.get(message?.name)
      if (!set) continue
      for (const listener of [...set]) {
        try {
          listener(message.payload)
        } catch (err) {
          // One view's faulty listener must not stop the others getting the event.
          console.error(`shardscope: a listener of ${message.name} failed:`, err)
        }
      }
    }
  }

  ipc.on(eventPortChannel, (event) => {
    const next = event.ports[0]
    if (!next) return
    port?.close?.()
    port = next
    port.onmessage = (e) => deliver(e.data)
    port.start?.()
  })

  return {
    async call<M extends MethodName>(name: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
      const reply = (await ipc.invoke(callChannelOf(name), input)) as CallReply
      if (reply.ok) return reply.value as MethodOutput<M>
      // Only an Error's message survives the context bridge, so the detail goes into it.
      const { message, detail } = reply.error
      throw new Error(detail && !message.includes(detail) ? `${message} (${detail})` : message)
    },
    on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
      let set = listeners.get(name)
      if (!set) listeners.set(name, (set = new Set()))
      const l = listener as (payload: unknown) => void
      set.add(l)
      return () => void set.delete(l)
    },
    mediaUrl(datasetId, split, sampleIndex, field, variant) {
      return formatMediaUrl(datasetId, split, sampleIndex, field, variant)
    }
  }
}
