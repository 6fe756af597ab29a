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
  show(view: ViewName): void
}

export const useNavigation = create<NavigationState>((set) => ({
  view: 'datasets',
  show: (view) => set({ view })
}))
