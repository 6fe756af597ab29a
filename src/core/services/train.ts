import type { ServiceContext } from './context'

// Handlers for the 'train.*' methods of the contract (src/shared/contract/train.ts).
export function createTrainService(_ctx: ServiceContext) {
  return {
    handlers: {},
    async dispose(): Promise<void> {}
  }
}
