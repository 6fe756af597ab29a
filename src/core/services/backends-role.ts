/**
 * The child process role behind 'system.backends': probes every TensorFlow.js backend
 * the way a training worker would (../train/backends), sends the list and what `auto`
 * picks, and exits.
 */
import type { ParentPort } from '../process/host'
import type { BackendList } from '../../shared/contract/system'
import { initBackend, listBackends } from '../train/backends'

export async function run(port: ParentPort): Promise<void> {
  const backends = await listBackends()
  let auto: BackendList['auto'] = null
  try {
    const chosen = await initBackend('auto')
    auto = { name: chosen.name, reason: chosen.reason }
  } catch {
    // No backend works: the list says why for each.
  }
  const answer: BackendList = { backends: backends.map(({ name, available, reason, detail }) => ({ name, available, reason, ...(detail ? { detail } : {}) })), auto }
  port.send(answer)
  // Let the message leave before the process ends.
  setTimeout(() => process.exit(0), 50)
}
