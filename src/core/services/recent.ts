/**
 * Recent datasets, remembered in <stateDir>/recent.json (written atomically), most
 * recent first, one entry per source. A missing or unreadable file is an empty list:
 * forgetting history must never stop the app from starting.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { RecentDataset } from '../../shared/contract/datasets'
import { writeFileAtomic } from '../atomic-write'

const maxRecent = 20
const RecentFile = z.object({ items: z.array(RecentDataset) })

export function recentFile(stateDir: string): string {
  return join(stateDir, 'recent.json')
}

export async function readRecent(stateDir: string): Promise<RecentDataset[]> {
  const text = await readFile(recentFile(stateDir), 'utf8').catch(() => null)
  if (text === null) return []
  try {
    const parsed = RecentFile.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data.items : []
  } catch {
    return []
  }
}

export async function rememberRecent(stateDir: string, entry: RecentDataset): Promise<void> {
  // The same data under another name is the same dataset: one entry, the latest name.
  const where = (a: RecentDataset): string => JSON.stringify({ folder: a.source.folder, splits: a.source.splits })
  const sameSource = (a: RecentDataset): boolean => where(a) === where(entry)
  const items = [entry, ...(await readRecent(stateDir)).filter((a) => !sameSource(a))].slice(0, maxRecent)
  await writeFileAtomic(recentFile(stateDir), JSON.stringify({ items }, null, 2) + '\n')
}
