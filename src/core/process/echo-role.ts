import type { ParentPort } from './host'

/**
 * A role that answers each message with itself; `{ exit: n }` ends the process with
 * code n. Lets the process host be tested (and smoke-checked under Electron) without
 * starting real work.
 */
export function run(port: ParentPort): void {
  port.onMessage((message) => {
    const exit = (message as { exit?: number } | null)?.exit
    if (typeof exit === 'number') process.exit(exit)
    port.send({ echo: message, pid: process.pid })
  })
  port.send({ ready: true })
}
