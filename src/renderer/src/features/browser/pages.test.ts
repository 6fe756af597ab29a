import { describe, expect, it } from 'vitest'
import type { SampleRow } from '@shared/contract/datasets'
import { PageCache, chosenShardValue, columnsFor, describeFilter, moveSelection, noSampleMessage, otherCopiesMessage, pagesForRange, parseJumpTarget, shardChoices } from './pages'

const rows = (page: number, size: number): SampleRow[] =>
  Array.from({ length: size }, (_, i) => ({
    split: 'train',
    shard: 'train-000000.tar',
    index: page * size + i,
    key: `k${page * size + i}`,
    label: 0,
    className: null,
    imageField: 'jpg'
  }))

describe('pagesForRange', () => {
  it.each([
    [0, 10, 1000, 200, [0]],
    [150, 450, 1000, 200, [0, 1, 2]],
    [990, 2000, 1000, 200, [4]],
    [99_950, 99_999, 100_000, 200, [499]],
    [5, 4, 1000, 200, []],
    [0, 10, 0, 200, []]
  ])('positions %i..%i of %i with page size %i need pages %j', (first, last, total, size, expected) => {
    expect(pagesForRange(first, last, total, size)).toEqual(expected)
  })
})

describe('PageCache', () => {
  it('finds a row by listing position across pages', () => {
    const cache = new PageCache(4, 10)
    cache.put(3, rows(3, 10))
    expect(cache.row(35)?.key).toBe('k35')
    expect(cache.row(45)).toBeUndefined()
  })
  it('keeps at most its capacity and drops the least recently read page first', () => {
    const cache = new PageCache(2, 10)
    cache.put(0, rows(0, 10))
    cache.put(1, rows(1, 10))
    cache.row(5) // page 0 read: page 1 is now the oldest
    cache.put(2, rows(2, 10))
    expect(cache.size).toBe(2)
    expect(cache.has(0)).toBe(true)
    expect(cache.has(1)).toBe(false)
    expect(cache.has(2)).toBe(true)
  })
  it("tells a split's image field from any row of it here, without marking pages read", () => {
    const cache = new PageCache(2, 10)
    cache.put(0, rows(0, 10))
    cache.put(1, rows(1, 10).map((r) => ({ ...r, split: 'val', imageField: 'npy' })))
    expect(cache.imageFieldOf('val')).toBe('npy')
    expect(cache.imageFieldOf('train')).toBe('jpg')
    expect(cache.imageFieldOf('test')).toBeUndefined()
    cache.put(2, rows(2, 10)) // page 0 is still the oldest: asking for image fields read nothing
    expect(cache.has(0)).toBe(false)
  })
})

describe('grid geometry and keyboard', () => {
  it('fits at least one column', () => {
    expect(columnsFor(50, 120)).toBe(1)
    expect(columnsFor(1000, 120)).toBe(8)
  })
  it.each([
    [10, 'ArrowRight', 11],
    [10, 'ArrowLeft', 9],
    [10, 'ArrowDown', 18],
    [10, 'ArrowUp', 2],
    [2, 'ArrowUp', 0],
    [95, 'ArrowDown', 99],
    [50, 'Home', 0],
    [50, 'End', 99],
    [50, 'x', 50]
  ])('from %i, %s moves to %i in an 8-column grid of 100', (from, key, to) => {
    expect(moveSelection(from, key, 8, 100)).toBe(to)
  })
})

describe('parseJumpTarget', () => {
  it.each([
    ['99999', 'train', { split: 'train', index: 99_999 }],
    ['#12', 'val', { split: 'val', index: 12 }],
    ['val:7', 'train', { split: 'val', index: 7 }],
    ['train_000123', 'train', { key: 'train_000123' }],
    ['  n0144_3 ', undefined, { key: 'n0144_3' }],
    ['', 'train', null]
  ])('%j (default split %s) means %j', (text, split, expected) => {
    expect(parseJumpTarget(text, split)).toEqual(expected)
  })
})

describe('noSampleMessage', () => {
  const names = (...splits: string[]) => splits.map((name) => ({ name }))
  it('with the split sizes known: says the range, and names another split only where the index exists', () => {
    const sizes = [
      { name: 'train', samples: 3000 },
      { name: 'val', samples: 600 }
    ]
    expect(noSampleMessage('19500', { split: 'train', index: 19500 }, {}, false, sizes)).toBe('No sample 19500 in train (it has 3,000: 0 … 2,999).')
    expect(noSampleMessage('3100', { split: 'train', index: 3100 }, {}, false, [{ name: 'train', samples: 3000 }, { name: 'val', samples: 6000 }])).toMatch(/e\.g\. val:3100\.$/)
  })
  it('a bare index with all splits shown says indexes count within a split and how to name another', () => {
    expect(noSampleMessage('650', { split: 'train', index: 650 }, {}, false, names('train', 'val'))).toBe("No sample 650 in train: indexes count within each split; type another split's name first, e.g. val:650.")
  })
  it('a dataset of one split needs no hint; the hint names a split the dataset has', () => {
    expect(noSampleMessage('650', { split: 'train', index: 650 }, {}, false, names('train'))).toBe('No sample 650 in train.')
    expect(noSampleMessage('9', { split: 'train', index: 9 }, {}, false, names('train', 'test'))).toMatch(/e\.g\. test:9\.$/)
  })
  it('an index in a named split, or with the split filter set, needs no hint', () => {
    expect(noSampleMessage('val:650', { split: 'val', index: 650 }, {}, false, names('train', 'val'))).toBe('No sample 650 in val.')
    expect(noSampleMessage('650', { split: 'val', index: 650 }, { split: 'val' }, false, names('train', 'val'))).toBe('No sample 650 in val.')
  })
  it('a key, and a sample that exists but the filter hides', () => {
    expect(noSampleMessage(' nope ', { key: 'nope' }, {}, false, names('train'))).toBe('No sample with key nope.')
    expect(noSampleMessage('t3', { key: 't3' }, { classId: 2 }, true, names('train'))).toBe('Sample t3 is not among the samples this filter shows; clear the filter to see it.')
  })
})

describe('describeFilter', () => {
  it('names each condition in the user\'s words', () => {
    expect(describeFilter({}, [])).toBe('all samples')
    expect(describeFilter({ split: 'val', shard: 'val-000001.tar', classId: 2, problem: 'any' }, ['a', 'b', 'dog'])).toBe(
      'val · shard val-000001.tar · class 2 dog · any problem'
    )
    expect(describeFilter({ keys: [{ split: 'val', key: 'a' }] }, [])).toBe('1 chosen sample')
    expect(describeFilter({ keys: [{ split: 'val', key: 'a' }, { split: 'val', key: 'b' }] }, [])).toBe('2 chosen samples')
  })
  it.each([
    ['no-label', 'no readable label'],
    ['non-adjacent-key', 'non-adjacent key'],
    ['duplicate-field', 'duplicate field'],
    ['truncated', 'truncated shard']
  ])('problem %s reads as the Problem filter shows it: %s', (problem, words) => {
    expect(describeFilter({ problem }, [])).toBe(words)
  })
  it('a class with no name is its id alone', () => {
    expect(describeFilter({ classId: 10 }, [])).toBe('class 10')
  })
})

describe('otherCopiesMessage', () => {
  it('names the copy shown and the split:index to type for each other one, in other splits or its own', () => {
    expect(otherCopiesMessage('s042', { split: 'train', index: 42 }, [{ split: 'val', index: 7 }])).toBe('Key s042 is in 2 splits: this is train:42; the other is val:7 (type it to jump there).')
    expect(otherCopiesMessage('s042', { split: 'train', index: 42 }, [{ split: 'val', index: 7 }, { split: 'test', index: 0 }])).toBe(
      'Key s042 is in 3 splits: this is train:42; the others are val:7, test:0 (type it to jump there).'
    )
    expect(otherCopiesMessage('s042', { split: 'train', index: 0 }, [{ split: 'train', index: 3 }])).toBe('Key s042 names 2 samples in train: this is train:0; the other is train:3 (type it to jump there).')
    expect(otherCopiesMessage('s042', { split: 'train', index: 0 }, [{ split: 'train', index: 3 }, { split: 'val', index: 1 }])).toMatch(/^Key s042 is in 2 splits: this is train:0; the others are train:3, val:1/)
  })
})

describe('shardChoices', () => {
  const splits = [
    { name: 'train', shards: [{ name: 'train-0.tar' }, { name: 'train-1.tar' }] },
    { name: 'val', shards: [{ name: 'train-1.tar' }] }
  ]
  it('names a shard with its split where two splits hold files of that name, and keeps them apart', () => {
    const all = shardChoices(splits, undefined)
    expect(all.map((c) => c.label)).toEqual(['train-0.tar', 'train-1.tar (train)', 'train-1.tar (val)'])
    expect(new Set(all.map((c) => c.value)).size).toBe(3)
    expect(chosenShardValue(all, { split: 'val', shard: 'train-1.tar' })).toBe(all[2]!.value)
    expect(chosenShardValue(all, { shard: 'train-1.tar' })).toBe(all[1]!.value)
    expect(chosenShardValue(all, {})).toBe('')
  })
  it("lists only the shown split's shards, by their plain names there", () => {
    expect(shardChoices(splits, 'val').map((c) => [c.split, c.label])).toEqual([['val', 'train-1.tar']])
  })
})
