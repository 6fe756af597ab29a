/** The opened dataset's shard inventory and how the table is sorted. */
import { create } from 'zustand'
import type { DatasetInventory } from '@shared/contract/datasets'
import { getClient } from '../../api/client'
import { describeError } from '../../app/errors'
import type { ShardColumn, ShardSort } from './sort'
import { nextSort } from './sort'

interface InventoryState {
  datasetId: string | null
  inventory: DatasetInventory | null
  loading: boolean
  error: string | null
  sort: ShardSort
  /** Which split the class histogram shows. */
  histogramSplit: string | null
  load(datasetId: string, force?: boolean): Promise<void>
  sortBy(column: ShardColumn): void
  showHistogramOf(split: string): void
}

export const useInventory = create<InventoryState>((set, get) => ({
  datasetId: null,
  inventory: null,
  loading: false,
  error: null,
  sort: { column: 'split', descending: false },
  histogramSplit: null,
  async load(datasetId, force = false) {
    if (!force && get().datasetId === datasetId && (get().inventory || get().loading)) return
    set({ datasetId, loading: true, error: null, inventory: null })
    try {
      const inventory = await getClient().call('datasets.inventory', { datasetId })
      if (get().datasetId !== datasetId) return
      set({ inventory, loading: false, histogramSplit: inventory.splits[0]?.name ?? null })
    } catch (err) {
      if (get().datasetId === datasetId) set({ loading: false, error: describeError(err) })
    }
  },
  sortBy: (column) => set((s) => ({ sort: nextSort(s.sort, column) })),
  showHistogramOf: (split) => set({ histogramSplit: split })
}))
