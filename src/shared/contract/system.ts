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

/** One TensorFlow.js compute backend as the trainer would find it on this machine. */
export const BackendStatus = z.object({
  name: z.enum(['cuda', 'webgpu', 'wasm', 'cpu']),
  available: z.boolean(),
  /** Why it is (not) available, in one line: the load error, the adapter found, ... */
  reason: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional()
})
export type BackendStatus = z.infer<typeof BackendStatus>

export const BackendList = z.object({
  backends: z.array(BackendStatus),
  /** What `auto` picks, and why the faster ones were passed over; null when none works. */
  auto: z.object({ name: z.string(), reason: z.string() }).nullable()
})
export type BackendList = z.infer<typeof BackendList>

export const methods = {
  'system.info': method('What hosts the back end, its version and where the demo dataset lives.', z.object({}), AppInfo),
  'system.backends': method(
    'Every compute backend for training, available or why not, and what auto picks (probed once, in a child process).',
    z.object({}),
    BackendList
  ),
  'system.chooseFolder': method(
    'Ask the user for a folder with the native dialog (Electron); `supported` is false where there is none (serve mode: type the path).',
    z.object({ title: z.string().max(200).optional() }),
    z.object({ supported: z.boolean(), folder: z.string().nullable() })
  )
}

export const events = {
  /** A background job (verifier, training process) died or failed in a way the user should see. */
  'system.problem': z.object({ source: z.string(), message: z.string() }),
  /**
   * A command chosen in the application menu (Electron) that the page carries out as its own
   * button would: 'rerun-simulation' re-runs the Train form's settings beside the run shown.
   */
  'system.menuCommand': z.object({ command: z.enum(['rerun-simulation']) })
}
