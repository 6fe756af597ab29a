import { describe, expect, it } from 'vitest'
import type { InventoryShard } from '@shared/contract/datasets'
import { expectedSamplesOf, missingShardLines, nextSort, sortShards, summarizeHistogram, unlabelledIn } from './sort'

const shard = (split: string, name: string, bytes: number, samples: number, status: InventoryShard['status'] = 'ok'): InventoryShard => ({
  split,
  name,
  url: `/d/${split}/${name}`,
  bytes,
  samples,
  fields: ['cls', 'jpg'],
  status,
  problems: [],
  classHistogram: []
})

const shards = [
  shard('val', 'val-000001.tar', 300, 30),
  shard('train', 'train-000010.tar', 100, 50, 'problems'),
  shard('train', 'train-000002.tar', 200, 50),
  shard('val', 'val-000000.tar', 50, 5, 'unreadable')
]

describe('sortShards', () => {
  it('sorts names numerically, so shard 2 comes before shard 10', () => {
    expect(sortShards(shards, { column: 'name', descending: false }).map((s) => s.name)).toEqual([
      'train-000002.tar',
      'train-000010.tar',
      'val-000000.tar',
      'val-000001.tar'
    ])
  })
  it('sorts sizes descending with the biggest shard first', () => {
    expect(sortShards(shards, { column: 'bytes', descending: true }).map((s) => s.bytes)).toEqual([300, 200, 100, 50])
  })
  it('puts the worst status first and breaks ties by split then name', () => {
    expect(sortShards(shards, { column: 'status', descending: false }).map((s) => s.name)).toEqual([
      'val-000000.tar',
      'train-000010.tar',
      'train-000002.tar',
      'val-000001.tar'
    ])
  })
  it('equal sample counts keep split and name order', () => {
    const sorted = sortShards(shards, { column: 'samples', descending: false }).map((s) => s.name)
    expect(sorted).toEqual(['val-000000.tar', 'val-000001.tar', 'train-000002.tar', 'train-000010.tar'])
  })
  it('does not reorder the input array', () => {
    const copy = [...shards]
    sortShards(shards, { column: 'bytes', descending: false })
    expect(shards).toEqual(copy)
  })
})

describe('nextSort', () => {
  it('flips direction on the same column and starts ascending on a new one', () => {
    expect(nextSort({ column: 'name', descending: false }, 'name')).toEqual({ column: 'name', descending: true })
    expect(nextSort({ column: 'name', descending: true }, 'bytes')).toEqual({ column: 'bytes', descending: false })
  })
})

describe('summarizeHistogram', () => {
  it('names classes and counts the ones with no samples', () => {
    const h = summarizeHistogram([3, 0, 5], ['cat', 'dog', 'eel'])
    expect(h.bars.map((b) => `${b.label}:${b.count}`)).toEqual(['0 cat:3', '1 dog:0', '2 eel:5'])
    expect([h.max, h.min, h.empty, h.classes]).toEqual([5, 0, 1, 3])
  })
  it('with the class count, labels at or above it are out of range: counted apart, not as more classes (1-based labels)', () => {
    const h = summarizeHistogram([0, 8, 9, 32], ['a', 'b', 'c'], 3)
    expect([h.classes, h.empty, h.min, h.max]).toEqual([3, 1, 0, 32])
    expect(h.outOfRange).toEqual({ samples: 32, labels: [3] })
    expect(h.bars.map((b) => b.outside)).toEqual([false, false, false, true])
  })
  it('labels a class with no name by its id alone, not the id twice ("Class 10 10")', () => {
    const h = summarizeHistogram([1, 2, 3], ['cat'])
    expect(h.bars.map((b) => b.label)).toEqual(['0 cat', '1', '2'])
  })
})

describe('missingShardLines', () => {
  it('one line per split with missing or unreadable shards, naming up to three', () => {
    const train = ['000', '001', '002', '003', '004', '005'].map((n, i) => shard('train', `train-${n}.tar`, 0, 0, i === 0 ? 'ok' : 'missing'))
    const lines = missingShardLines({
      splits: [
        { name: 'train', shards: train },
        { name: 'val', shards: [shard('val', 'val-0.tar', 0, 0, 'missing'), shard('val', 'val-1.tar', 5, 1, 'unreadable')] },
        { name: 'test', shards: [shard('test', 'test-0.tar', 5, 1)] }
      ] as never
    })
    expect(lines).toEqual([
      { split: 'train', text: '5 shards of 6 named by the pattern do not exist (train-001.tar, train-002.tar, train-003.tar and 2 more)' },
      { split: 'val', text: '1 shard of 2 named by the pattern does not exist (val-0.tar); 1 shard cannot be read (val-1.tar)' }
    ])
  })
})

describe('unlabelledIn and expectedSamplesOf', () => {
  it('counts the samples the histogram leaves out, and reads a split\'s expected count from dataset.json', () => {
    expect(unlabelledIn({ samples: 300, classHistogram: [100, 0, 198] })).toBe(2)
    expect(unlabelledIn({ samples: 5, classHistogram: [] })).toBe(5)
    const manifest = { splits: { val: { pattern: 'val/val-{000000..000001}.tar', expectedSamples: 400 } } }
    expect(expectedSamplesOf(manifest, 'val')).toBe(400)
    expect(expectedSamplesOf(manifest, 'train')).toBeUndefined()
    expect(expectedSamplesOf(null, 'val')).toBeUndefined()
  })
})

