/** Which view the left nav shows. The only app-wide state; each feature owns the rest. */
import { create } from 'zustand'

export type ViewName = 'datasets' | 'inventory' | 'verify' | 'browse' | 'train'

export const views: ReadonlyArray<{ name: ViewName; label: string }> = [
  { name: 'datasets', label: 'Datasets' },
  { name: 'inventory', label: 'Inventory' },
  { name: 'verify', label: 'Verify' },
  { name: 'browse', label: 'Browse' },
  { name: 'train', label: 'Train' }
]

interface NavigationState {
  view: ViewName
  /**
   * Where a dataset opened from the Datasets view lands: the Inventory, or the view that
   * sent the user there for want of a dataset (Browse's "Open a folder…" comes back to the
   * grid, as FiftyOne opens on its samples).
   */
  afterOpen: ViewName
  show(view: ViewName): void
  /** From a view with no dataset to show: go to Datasets, and come back here once one opens. */
  openDatasetFor(view: ViewName): void
  /** A dataset opened from the Datasets view. */
  showOpened(): void
}

export const useNavigation = create<NavigationState>((set, get) => ({
  view: 'datasets',
  afterOpen: 'inventory',
  show: (view) => set({ view, afterOpen: 'inventory' }),
  openDatasetFor: (view) => set({ view: 'datasets', afterOpen: view }),
  showOpened: () => set({ view: get().afterOpen, afterOpen: 'inventory' })
}))
