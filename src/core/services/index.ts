/**
 * Services: what the contract's methods call. Each feature builds its handlers in its
 * own file; this joins them into the one Handlers object that both transports bind.
 * Services run in the main process / serve host and must stay light: heavy work goes
 * to child processes through ctx.processHost.
 */
import type { Handlers } from '../../shared/contract'
import type { ServiceContext } from './context'
import { createSystemService } from './system'
import { createDatasetService } from './datasets'
import { createVerifyService } from './verify'
import { createTrainService } from './train'

export type { ServiceContext } from './context'

export interface Services {
  handlers: Handlers
  /** Ends every child process and pending job (app quit, server shutdown). */
  dispose(): Promise<void>
}

export function createServices(ctx: ServiceContext): Services {
  const system = createSystemService(ctx)
  const datasets = createDatasetService(ctx)
  const verify = createVerifyService(ctx)
  const train = createTrainService(ctx)
  const handlers: Handlers = { ...system.handlers, ...datasets.handlers, ...verify.handlers, ...train.handlers }
  return {
    handlers,
    async dispose() {
      await Promise.all([datasets.dispose(), verify.dispose(), train.dispose()])
    }
  }
}
