import type { ParentPort } from '../process/host'

// The verifier's child-process role is built with the verifier (issue 6).
export function run(_port: ParentPort): void {
  throw new Error('the verifier process role is not built yet')
}
