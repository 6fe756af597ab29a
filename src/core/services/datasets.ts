import type { ServiceContext } from './context'

// Handlers for the 'datasets.*' methods of the contract (src/shared/contract/datasets.ts).
export function createDatasetService(_ctx: ServiceContext) {
  return {
    handlers: {},
    async dispose(): Promise<void> {}
  }
}
