import { describe, expect, it } from 'vitest'
import { formatBytes, plural } from './words'

describe('words', () => {
  it('sizes are decimal, as the CLI, the app and the README write them', () => {
    expect([999, 829_400, 1_560_000, 474_096_640].map(formatBytes)).toEqual(['999 B', '829.4 KB', '1.6 MB', '474.1 MB'])
  })
  it('counts agree with their noun', () => {
    expect([plural(1, 'sample'), plural(1200, 'sample'), plural(2, 'class', 'classes')]).toEqual(['1 sample', '1,200 samples', '2 classes'])
  })
})
