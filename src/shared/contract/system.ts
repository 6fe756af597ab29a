import { z } from 'zod'
import { method } from '../rpc'

export const AppInfo = z.object({
  version: z.string(),
  /** 'electron' or 'serve': what hosts the back end. */
  host: z.enum(['electron', 'serve']),
  platform: z.string(),
  demoDatasetPath: z.string()
})
export type AppInfo = z.infer<typeof AppInfo>

export const methods = {
  'system.info': method('What hosts the back end, its version and where the demo dataset lives.', z.object({}), AppInfo)
}

export const events = {
  /** A background job (verifier, training process) died or failed in a way the user should see. */
  'system.problem': z.object({ source: z.string(), message: z.string() })
}
