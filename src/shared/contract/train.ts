// Declared by the feature that owns it; see ./index.ts.
export const methods = {}
export const events = {}
