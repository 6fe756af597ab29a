import { beforeEach, describe, expect, it } from 'vitest'
import { useNavigation } from './navigation'

describe('where an opened dataset lands', () => {
  beforeEach(() => useNavigation.setState({ view: 'datasets', afterOpen: 'inventory' }))

  it('is the Inventory when the user came to Datasets by the nav', () => {
    useNavigation.getState().show('train')
    useNavigation.getState().show('datasets')
    useNavigation.getState().showOpened()
    expect(useNavigation.getState().view).toBe('inventory')
  })

  it('is the view that sent the user to Datasets for a dataset (Browse back to the grid), once', () => {
    useNavigation.getState().show('browse')
    useNavigation.getState().openDatasetFor('browse')
    expect(useNavigation.getState().view).toBe('datasets')
    useNavigation.getState().showOpened()
    expect(useNavigation.getState().view).toBe('browse')
    // The next open from Datasets, reached by the nav, is back to the Inventory.
    useNavigation.getState().show('datasets')
    useNavigation.getState().showOpened()
    expect(useNavigation.getState().view).toBe('inventory')
  })

  it('forgets the view that asked when the user leaves Datasets by the nav first', () => {
    useNavigation.getState().openDatasetFor('verify')
    useNavigation.getState().show('train')
    useNavigation.getState().show('datasets')
    useNavigation.getState().showOpened()
    expect(useNavigation.getState().view).toBe('inventory')
  })
})
