import type { Handlers } from '../../shared/contract'
import type { ServiceContext } from './context'
import { UserFacingError } from './dispatch'

type DatasetHandlers = Pick<
  Handlers,
  | 'datasets.open'
  | 'datasets.openDemo'
  | 'datasets.close'
  | 'datasets.recent'
  | 'datasets.completePath'
  | 'datasets.inventory'
  | 'datasets.samples'
  | 'datasets.locate'
  | 'datasets.sample'
>

// Handlers for the 'datasets.*' methods of the contract (src/shared/contract/datasets.ts).
// Being written now; every method answers "not available yet" until it lands.
export function createDatasetService(_ctx: ServiceContext): { handlers: DatasetHandlers; dispose(): Promise<void> } {
  const notYet = async (): Promise<never> => {
    throw new UserFacingError('Datasets are not available in this build yet')
  }
  return {
    handlers: {
      'datasets.open': notYet,
      'datasets.openDemo': notYet,
      'datasets.close': notYet,
      'datasets.recent': notYet,
      'datasets.completePath': notYet,
      'datasets.inventory': notYet,
      'datasets.samples': notYet,
      'datasets.locate': notYet,
      'datasets.sample': notYet
    },
    async dispose(): Promise<void> {}
  }
}
