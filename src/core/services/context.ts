import type { EventSink } from '../../shared/contract'
import type { ProcessHost } from '../process/host'

/** What every service gets from its host (Electron main process or the serve host). */
export interface ServiceContext {
  /** Starts verifier and training processes: utilityProcess under Electron, fork under Node. */
  processHost: ProcessHost
  /** Publishes contract events to every connected client. */
  emit: EventSink
  /**
   * The one folder ShardScope writes to (index cache, reports, training runs, recent
   * datasets): the user data folder under Electron, `--state-dir` for serve. Source
   * shards are only ever read.
   */
  stateDir: string
  /** Where the built-in demo dataset is generated on first use. */
  demoDir: string
  /** 'electron' or 'serve'. */
  host: 'electron' | 'serve'
}
