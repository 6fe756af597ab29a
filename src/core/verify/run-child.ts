/**
 * Runs one verification in a child process through a ProcessHost (Node fork or
 * Electron utilityProcess) and hands back its progress and report. Cancelling ends
 * the process. Used by the verify service and the CLI.
 */
import type { VerificationReport, VerifyRequestInput } from '../../shared/contract/verify'
import type { ChildHandle, ProcessHost } from '../process/host'
import type { VerifyProgressUpdate } from './verify-dataset'

export type VerifierCommand = { type: 'start'; request: VerifyRequestInput } | { type: 'cancel' }
export type VerifierMessage =
  | { type: 'ready' }
  | { type: 'progress'; progress: VerifyProgressUpdate }
  | { type: 'done'; report: VerificationReport }
  | { type: 'failed'; message: string; inputError: boolean }

/** The verification could not run: bad input (exit 2 in the CLI) or the process died. */
export class VerificationFailed extends Error {
  constructor(
    message: string,
    readonly reason: 'input' | 'crashed' | 'cancelled'
  ) {
    super(message)
    this.name = 'VerificationFailed'
  }
}

export interface ChildVerification {
  child: ChildHandle
  /** Resolves with the report; rejects with VerificationFailed. */
  result: Promise<VerificationReport>
  /** Ends the child process at once. */
  cancel(): void
}

export function startVerificationProcess(
  host: ProcessHost,
  request: VerifyRequestInput,
  onProgress?: (progress: VerifyProgressUpdate) => void,
  name = 'verifier'
): ChildVerification {
  const child = host.spawn('verifier', { name })
  let cancelled = false
  let settled = false
  const result = new Promise<VerificationReport>((resolve, reject) => {
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
      child.kill()
    }
    child.onMessage((raw) => {
      const message = raw as VerifierMessage
      if (message.type === 'ready') child.send({ type: 'start', request } satisfies VerifierCommand)
      else if (message.type === 'progress') onProgress?.(message.progress)
      else if (message.type === 'done') finish(() => resolve(message.report))
      else if (message.type === 'failed') finish(() => reject(new VerificationFailed(message.message, message.inputError ? 'input' : 'crashed')))
    })
    child.onExit((code, signal) => {
      if (settled) return
      settled = true
      if (cancelled) reject(new VerificationFailed('verification cancelled', 'cancelled'))
      else reject(new VerificationFailed(`the verifier process ended unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`, 'crashed'))
    })
  })
  return {
    child,
    result,
    cancel() {
      cancelled = true
      child.kill()
    }
  }
}
