import type { Handlers } from '../../shared/contract'
import type { ServiceContext } from './context'

export function createSystemService(ctx: ServiceContext): { handlers: Pick<Handlers, 'system.info'> } {
  return {
    handlers: {
      async 'system.info'() {
        return {
          version: process.env.npm_package_version ?? '0.1.0',
          host: ctx.host,
          platform: `${process.platform}-${process.arch}`,
          demoDatasetPath: ctx.demoDir
        }
      }
    }
  }
}
