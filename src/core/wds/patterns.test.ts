import { describe, expect, it } from 'vitest'
import { braceExpand, expandPattern, PatternError } from './patterns'

describe('braceExpand follows Python braceexpand', () => {
  const table: [string, string[]][] = [
    ['plain.tar', ['plain.tar']],
    ['train-{000000..000002}.tar', ['train-000000.tar', 'train-000001.tar', 'train-000002.tar']],
    ['{1..3}', ['1', '2', '3']],
    ['{3..1}', ['3', '2', '1']],
    ['{08..10}', ['08', '09', '10']],
    ['{0..10..5}', ['0', '5', '10']],
    ['{0..6..-3}', ['0', '3', '6']],
    ['{-1..1}', ['-1', '0', '1']],
    ['{a..e..2}', ['a', 'c', 'e']],
    ['{a..c}', ['a', 'b', 'c']],
    ['{a,b}.tar', ['a.tar', 'b.tar']],
    ['{a,}x', ['ax', 'x']],
    ['{train,val}-{0..1}', ['train-0', 'train-1', 'val-0', 'val-1']],
    ['{a,b{1..2}}', ['a', 'b1', 'b2']],
    ['{a}', ['{a}']],
    ['{}', ['{}']],
    ['x{a{1,2}}', ['x{a1}', 'x{a2}']],
    ['\\{a,b\\}', ['{a,b}']],
    ['{a\\,b,c}', ['a,b', 'c']],
    ['shard{.tar', ['shard{.tar']],
    ['shard}.tar', ['shard}.tar']]
  ]
  for (const [pattern, expected] of table) {
    it(`${pattern} → ${expected.join(' ')}`, () => {
      expect(braceExpand(pattern)).toEqual(expected)
    })
  }
})

describe('expandPattern', () => {
  it('resolves file: and plain relative paths against the base folder', () => {
    const shards = expandPattern('file:train/train-{0..1}.tar::val/v.tar', { baseDir: '/data' })
    expect(shards).toEqual([
      { url: '/data/train/train-0.tar', kind: 'file', path: '/data/train/train-0.tar', pattern: 'file:train/train-{0..1}.tar' },
      { url: '/data/train/train-1.tar', kind: 'file', path: '/data/train/train-1.tar', pattern: 'file:train/train-{0..1}.tar' },
      { url: '/data/val/v.tar', kind: 'file', path: '/data/val/v.tar', pattern: 'val/v.tar' }
    ])
  })

  it('keeps absolute paths and http(s) URLs, and reads gs:// as the public HTTPS URL', () => {
    expect(expandPattern('/x/a.tar', { baseDir: '/data' })[0]!.url).toBe('/x/a.tar')
    expect(expandPattern('file:///x/a.tar')[0]!.url).toBe('/x/a.tar')
    expect(expandPattern('https://h/s-{0..1}.tar').map((s) => [s.kind, s.url])).toEqual([
      ['http', 'https://h/s-0.tar'],
      ['http', 'https://h/s-1.tar']
    ])
    expect(expandPattern('gs://bucket/dir/s.tar')[0]).toEqual({
      url: 'https://storage.googleapis.com/bucket/dir/s.tar',
      kind: 'http',
      pattern: 'gs://bucket/dir/s.tar'
    })
  })

  it('refuses pipe: with a message saying why', () => {
    expect(() => expandPattern('pipe:curl -s http://x/a.tar')).toThrow(PatternError)
    expect(() => expandPattern('pipe:curl -s http://x/a.tar')).toThrow(/shell command/)
  })

  it('refuses unknown schemes and empty patterns', () => {
    expect(() => expandPattern('s3://bucket/a.tar')).toThrow(/unknown scheme/)
    expect(() => expandPattern(' :: ')).toThrow(/names no shards/)
  })
})
