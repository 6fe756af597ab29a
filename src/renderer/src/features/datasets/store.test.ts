import { describe, expect, it } from 'vitest'
import { describeRecentSource } from './store'

const split = (name: string, ...patterns: string[]) => ({ name, patterns, remotePatterns: [] })

describe('describeRecentSource', () => {
  it.each([
    [{ folder: '/data/demo' }, '/data/demo'],
    [{ splits: [split('train', '/data/a/train-{0..3}.tar')] }, '/data/a/train-{0..3}.tar'],
    [{ splits: [split('train', '/data/a/train-{0..3}.tar'), split('val', '/data/a/val-0.tar')] }, '/data/a/train-{0..3}.tar and 1 more pattern'],
    [{ splits: [split('train', '/data/b/t-0.tar', '/data/b/t-1.tar'), split('val', '/data/b/v.tar')] }, '/data/b/t-0.tar and 2 more patterns']
  ])('%j reads %s: two unnamed pattern sets are told apart by their first pattern', (source, text) => {
    expect(describeRecentSource(source)).toBe(text)
  })
})
