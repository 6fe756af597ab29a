/**
 * Contract events to the renderer in batches over a MessagePort, not one IPC message
 * per event: training metrics and indexing progress arrive in bursts, and each IPC
 * message costs a task in both processes. Events queue for one interval (≈ one or two
 * animation frames) and go as one array; consecutive `train.metrics` of the same run
 * are merged into one event. Before a port is attached (page loading) events are held,
 * up to a bound, so a reload does not lose the run's status.
 */
import type { EventName, EventPayload, EventSink } from '../shared/contract'
import type { EventMessage } from '../preload/channels'

/** The one method of MessagePortMain (or a DOM MessagePort) the batcher uses. */
export interface EventPort {
  postMessage(message: unknown): void
}

export interface EventBatcher {
  emit: EventSink
  /** Sends later batches to this port (a new page gets a new port); null detaches. */
  attach(port: EventPort | null): void
  /** Sends what is queued now. */
  flush(): void
  /** Stops the timer; queued events are dropped. */
  dispose(): void
  /** Events waiting for the next flush. */
  readonly queued: number
}

export interface BatcherOptions {
  intervalMs?: number
  /** Most events held while no port is attached; the oldest are dropped first. */
  maxHeld?: number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
}

export function createEventBatcher(options: BatcherOptions = {}): EventBatcher {
  const intervalMs = options.intervalMs ?? 50
  const maxHeld = options.maxHeld ?? 5000
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
  const clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout))
  let queue: EventMessage[] = []
  let port: EventPort | null = null
  let timer: unknown = null

  function flush(): void {
    if (timer !== null) clearTimer(timer)
    timer = null
    if (!port || queue.length === 0) return
    const batch = queue
    queue = []
    port.postMessage(batch)
  }

  function schedule(): void {
    if (timer === null && port) timer = setTimer(flush, intervalMs)
  }

  function emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    const last = queue[queue.length - 1]
    if (name === 'train.metrics' && last?.name === 'train.metrics') {
      const prev = last.payload as EventPayload<'train.metrics'>
      const next = payload as EventPayload<'train.metrics'>
      if (prev.runId === next.runId) {
        queue[queue.length - 1] = { name, payload: { runId: prev.runId, points: [...prev.points, ...next.points] } } as EventMessage
        return
      }
    }
    queue.push({ name, payload } as EventMessage)
    if (!port && queue.length > maxHeld) queue.splice(0, queue.length - maxHeld)
    schedule()
  }

  return {
    emit,
    attach(next) {
      port = next
      schedule()
    },
    flush,
    dispose() {
      if (timer !== null) clearTimer(timer)
      timer = null
      queue = []
      port = null
    },
    get queued() {
      return queue.length
    }
  }
}
