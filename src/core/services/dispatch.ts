/**
 * Transport-independent request handling: validate a raw request against the
 * contract, call the handler, and turn failures into RemoteErrors. Both the
 * Electron IPC binding and the serve host's WebSocket route go through here, so a
 * payload the contract does not name never reaches a service.
 */
import { isMethodName, methods, type Handlers, type MethodName } from '../../shared/contract'
import type { RemoteError } from '../../shared/rpc'

export type DispatchResult = { ok: true; value: unknown } | { ok: false; error: RemoteError }

/** An error whose message is meant for the user (bad input, unreadable file), not a bug. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly detail?: string
  ) {
    super(message)
    this.name = 'UserFacingError'
  }
}

export async function dispatch(handlers: Handlers, name: unknown, rawInput: unknown): Promise<DispatchResult> {
  if (!isMethodName(name)) return { ok: false, error: { message: `Unknown method ${JSON.stringify(name)}` } }
  const spec = methods[name]
  const parsed = spec.input.safeParse(rawInput ?? {})
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ')
    return { ok: false, error: { message: `Invalid request for ${name}: ${issues}` } }
  }
  try {
    const handler = handlers[name] as (input: unknown) => Promise<unknown>
    const value = await handler(parsed.data)
    return { ok: true, value }
  } catch (err) {
    return { ok: false, error: toRemoteError(name, err) }
  }
}

function toRemoteError(name: MethodName, err: unknown): RemoteError {
  if (err instanceof UserFacingError) return { message: err.message, detail: err.detail }
  if (err instanceof Error) {
    // I/O errors carry a path; that is what the user needs, not a stack trace.
    const nodeErr = err as NodeJS.ErrnoException
    if (nodeErr.code && nodeErr.path) return { message: `${nodeErr.code}: ${nodeErr.path}`, detail: err.message }
    return { message: `${name} failed: ${err.message}` }
  }
  return { message: `${name} failed: ${String(err)}` }
}
