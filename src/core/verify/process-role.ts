/**
 * The verifier's child-process role: receives one VerifyRequest, streams progress,
 * answers with the report (or a failure a user can act on). Decoding inside this
 * process is spread over worker threads (./shard-check-pool.ts).
 */
import type { ParentPort } from '../process/host'
import { verifyDataset, VerifyInputError } from './verify-dataset'
import type { VerifierMessage, VerifierCommand } from './run-child'

export function run(port: ParentPort): void {
  const abort = new AbortController()
  let started = false
  const send = (message: VerifierMessage) => port.send(message)
  port.onMessage((raw) => {
    const command = raw as VerifierCommand
    if (command?.type === 'cancel') {
      abort.abort(new Error('cancelled'))
      return
    }
    if (command?.type !== 'start' || started) return
    started = true
    verifyDataset(command.request, { signal: abort.signal, onProgress: (progress) => send({ type: 'progress', progress }) }).then(
      (report) => send({ type: 'done', report }),
      (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err), inputError: err instanceof VerifyInputError })
    )
  })
  send({ type: 'ready' })
}
