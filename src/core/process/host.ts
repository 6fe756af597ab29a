/** A role a child process can play; each maps to a module with `run(port: ParentPort)`. */
export const roles = ['verifier', 'parameter-server', 'worker', 'echo', 'backends'] as const
export type ProcessRole = (typeof roles)[number]

export interface ChildHandle {
  readonly role: ProcessRole
  readonly pid: number | undefined
  /** Structured-clone a message to the child. ArrayBuffers in `transfer` are moved where the host can (Electron), copied otherwise. */
  send(message: unknown, transfer?: ArrayBuffer[]): void
  onMessage(listener: (message: unknown) => void): void
  /** Called once when the child ends; `code` is null when it was killed by a signal. */
  onExit(listener: (code: number | null, signal: string | null) => void): void
  kill(): void
}

export interface SpawnOptions {
  /** Shown in process lists and error messages, e.g. "worker 2". */
  name: string
  env?: Record<string, string>
}

export interface ProcessHost {
  readonly kind: 'node' | 'electron'
  spawn(role: ProcessRole, options: SpawnOptions): ChildHandle
}

/** The child's side of the channel, the same under child_process and utilityProcess. */
export interface ParentPort {
  send(message: unknown, transfer?: ArrayBuffer[]): void
  onMessage(listener: (message: unknown) => void): void
}

export function isProcessRole(value: unknown): value is ProcessRole {
  return typeof value === 'string' && (roles as readonly string[]).includes(value)
}
