import type { DatasetInventory, InventoryShard } from '@shared/contract/datasets'
import { plural } from '../../app/errors'

export type ShardColumn = 'split' | 'name' | 'bytes' | 'samples' | 'fields' | 'status'
export interface ShardSort {
  column: ShardColumn
  descending: boolean
}

/** Worst first when sorting by status ascending: the shards a user must look at come on top. */
const statusRank: Record<InventoryShard['status'], number> = { unreadable: 0, missing: 1, problems: 2, ok: 3 }

/** Shards in table order; ties keep split then name order so the table never jumps. */
export function sortShards(shards: readonly InventoryShard[], sort: ShardSort): InventoryShard[] {
  const key = (s: InventoryShard): number | string => {
    switch (sort.column) {
      case 'split':
        return s.split
      case 'name':
        return s.name
      case 'bytes':
        return s.bytes
      case 'samples':
        return s.samples
      case 'fields':
        return s.fields.join(',')
      case 'status':
        return statusRank[s.status]
    }
  }
  const dir = sort.descending ? -1 : 1
  return [...shards].sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    const primary = typeof ka === 'number' && typeof kb === 'number' ? ka - kb : String(ka).localeCompare(String(kb), 'en', { numeric: true })
    if (primary !== 0) return primary * dir
    return a.split.localeCompare(b.split) || a.name.localeCompare(b.name, 'en', { numeric: true })
  })
}

/** Clicking a header: the same column flips direction, a new one starts ascending. */
export function nextSort(current: ShardSort, column: ShardColumn): ShardSort {
  return current.column === column ? { column, descending: !current.descending } : { column, descending: false }
}

/** A class as the app names it: its id, then its name when the dataset has one ("3 dog", or "3"). */
export function classLabel(classId: number, classNames: readonly string[]): string {
  const name = classNames[classId]
  return name ? `${classId} ${name}` : String(classId)
}

/**
 * The class histogram's bars (with class labels) and counts: the range of counts, and how
 * many classes have no sample. With the dataset's class count (dataset.json), labels at or
 * above it are out of range (1-based labels put every sample of the last class there):
 * their bars are marked, and they are counted apart rather than as more classes.
 */
export function summarizeHistogram(histogram: readonly number[], classNames: readonly string[], classCount?: number) {
  const bars = histogram.map((count, classId) => ({ classId, count, label: classLabel(classId, classNames), outside: classCount !== undefined && classId >= classCount }))
  const inRange = bars.filter((b) => !b.outside)
  const outside = bars.filter((b) => b.outside && b.count > 0)
  const empty = inRange.filter((b) => b.count === 0).length
  const max = bars.reduce((m, b) => Math.max(m, b.count), 0)
  const min = inRange.length ? inRange.reduce((m, b) => Math.min(m, b.count), Infinity) : 0
  return {
    bars,
    max,
    min,
    empty,
    classes: inRange.length,
    outOfRange: { samples: outside.reduce((n, b) => n + b.count, 0), labels: outside.map((b) => b.classId) }
  }
}

/** Per split, the shards its patterns name that do not exist or cannot be read, in one line each. */
export function missingShardLines(inventory: Pick<DatasetInventory, 'splits'>): Array<{ split: string; text: string }> {
  return inventory.splits.flatMap((split) => {
    const missing = split.shards.filter((sh) => sh.status === 'missing')
    const unreadable = split.shards.filter((sh) => sh.status === 'unreadable')
    const parts: string[] = []
    if (missing.length > 0) parts.push(`${plural(missing.length, 'shard')} of ${split.shards.length} named by the pattern ${missing.length === 1 ? 'does' : 'do'} not exist (${names(missing)})`)
    if (unreadable.length > 0) parts.push(`${plural(unreadable.length, 'shard')} cannot be read (${names(unreadable)})`)
    return parts.length > 0 ? [{ split: split.name, text: parts.join('; ') }] : []
  })
}

function names(shards: ReadonlyArray<{ name: string }>): string {
  return shards.length <= 3 ? shards.map((s) => s.name).join(', ') : `${shards.slice(0, 3).map((s) => s.name).join(', ')} and ${shards.length - 3} more`
}

/** Samples the class histogram does not count: no `cls` field, one that does not parse, or an id far past any class count. */
export function unlabelledIn(unit: { samples: number; classHistogram: readonly number[] }): number {
  return unit.samples - unit.classHistogram.reduce((a, n) => a + n, 0)
}

/** What the views read of dataset.json, which the contract carries untyped. */
type ManifestFields = { classes?: unknown; splits?: Record<string, { expectedSamples?: unknown }> } | null | undefined

/** The sample count dataset.json gives a split (`expectedSamples`), when it gives one. */
export function expectedSamplesOf(manifest: unknown, split: string): number | undefined {
  const expected = (manifest as ManifestFields)?.splits?.[split]?.expectedSamples
  return typeof expected === 'number' ? expected : undefined
}

/** The class count dataset.json declares, when it declares one. */
export function declaredClassCount(manifest: unknown): number | undefined {
  const declared = (manifest as ManifestFields)?.classes
  return typeof declared === 'number' ? declared : undefined
}

