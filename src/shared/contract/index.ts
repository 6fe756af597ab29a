/**
 * The one API contract between the renderer and the back end (Electron main process
 * or the serve host). Each feature declares its methods and events in its own file;
 * this index joins them. Transports and both sides derive their types from here.
 */
import type { z } from 'zod'
import * as system from './system'
import * as datasets from './datasets'
import * as verify from './verify'
import * as train from './train'

export const methods = {
  ...system.methods,
  ...datasets.methods,
  ...verify.methods,
  ...train.methods
} as const

export const events = {
  ...system.events,
  ...datasets.events,
  ...verify.events,
  ...train.events
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>

export type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.output<Events[E]>

/** What a back end implements: one async function per method. */
export type Handlers = {
  [M in MethodName]: (input: z.output<Methods[M]['input']>) => Promise<MethodOutput<M>>
}

/** How a back end publishes events to every connected client. */
export type EventSink = <E extends EventName>(name: E, payload: EventPayload<E>) => void

/** The typed client the renderer holds (window.shardscope in Electron, a WebSocket client in serve mode). */
export interface ShardScopeClient {
  call<M extends MethodName>(name: M, input: MethodInput<M>): Promise<MethodOutput<M>>
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void
  /** Base URL under which sample images are served: `shardscope-media://` in Electron, `/media` in serve mode. */
  mediaUrl(datasetId: string, split: string, sampleIndex: number, field: string, variant: 'thumb' | 'full'): string
  /**
   * One URL answering many images (src/shared/media-batch.ts), where fetching one URL
   * per image would queue behind the browser's 6 connections per host (serve mode).
   * Absent under Electron: its media protocol has no such limit.
   */
  mediaBatchUrl?(datasetId: string, items: ReadonlyArray<{ split: string; index: number; field: string }>, variant: 'thumb' | 'full'): string
}

export const methodNames = Object.keys(methods) as MethodName[]
export const eventNames = Object.keys(events) as EventName[]

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name)
}
