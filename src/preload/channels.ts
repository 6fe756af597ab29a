/**
 * The IPC channel names, derived from the contract's method names in one place so
 * the main process (which binds them) and the preload (which invokes them) cannot
 * disagree. Imports nothing at runtime: a sandboxed preload may only require a few
 * Electron built-ins, so the contract's zod schemas must not be bundled here.
 */
import type { EventName, EventPayload, MethodName } from '../shared/contract'
import type { RemoteError } from '../shared/rpc'

const callPrefix = 'shardscope.call:'

/** `shardscope.call:<method>`: one ipcMain.handle channel per contract method. */
export function callChannelOf(method: MethodName): string {
  return `${callPrefix}${method}`
}

/** The method a call channel names, or null for any other channel. */
export function methodOfChannel(channel: string): string | null {
  return channel.startsWith(callPrefix) ? channel.slice(callPrefix.length) : null
}

/** The one message the main process sends the renderer directly: the MessagePort that carries events. */
export const eventPortChannel = 'shardscope.event-port'

/** What an IPC call resolves to; errors travel as values so Electron does not wrap them in its own text. */
export type CallReply = { ok: true; value: unknown } | { ok: false; error: RemoteError }

/** One event in a batch posted on the event port. */
export interface EventMessage<E extends EventName = EventName> {
  name: E
  payload: EventPayload<E>
}
