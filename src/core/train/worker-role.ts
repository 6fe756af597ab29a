import type { ParentPort } from '../process/host'

// Built with the trainer (issue 3).
export function run(_port: ParentPort): void {
  throw new Error('this training process role is not built yet')
}
