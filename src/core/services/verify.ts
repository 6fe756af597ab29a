import type { ServiceContext } from './context'

// Handlers for the 'verify.*' methods of the contract (src/shared/contract/verify.ts).
export function createVerifyService(_ctx: ServiceContext) {
  return {
    handlers: {},
    async dispose(): Promise<void> {}
  }
}
