import { create } from 'zustand'
export const useTrain = create<{ activeRunId: string | null; listen(): () => void }>(() => ({ activeRunId: null, listen: () => () => undefined }))
