import { describe, expect, it } from 'vitest'
import type { DatasetSummary } from '@shared/contract/datasets'
import type { Finding } from '@shared/contract/verify'
import { browseLinkText, checkBadge, describeProgress, filterForFinding, shardName, verifyRequestFor } from './findings'

const finding = (offenders: Finding['offenders'], split?: string): Finding => ({
  check: 'labels',
  code: 'label-out-of-range',
  severity: 'error',
  ...(split ? { split } : {}),
  title: 'labels out of range',
  evidence: [],
  fix: '',
  impactSamples: offenders.length,
  offenders,
  offenderCount: offenders.length
})

const splits: Record<string, string> = {
  '/d/train/train-000000.tar': 'train',
  '/d/val/val-000000.tar': 'val',
  '/d/val/val-000001.tar': 'val'
}
const splitOf = (url: string) => splits[url]

describe('browseLinkText', () => {
  it('says how many of the finding\'s samples the link shows', () => {
    const listed = { ...finding([{ url: '/d/val/val-000000.tar', key: 'v1' }], 'val'), offenderCount: 32 }
    expect(browseLinkText({ keys: [{ key: 'v1' }] }, listed)).toBe('show 1 listed of 32 samples in the browser')
    expect(browseLinkText({ keys: [{ key: 'v1' }] }, { ...listed, offenderCount: 1 })).toBe('show the sample in the browser')
    expect(browseLinkText({ split: 'val', classId: 10 }, { ...listed, browse: { split: 'val', classId: 10, samples: 32 } })).toBe('show all 32 samples of class 10 in the browser')
    expect(browseLinkText({ split: 'val', shard: 'val-000000.tar' }, listed)).toBe('show the shard in the browser')
  })
})

describe('filterForFinding', () => {
  it('lists the offending samples by split and key, in order, once each', () => {
    const f = finding([
      { url: '/d/val/val-000001.tar', key: 'v9' },
      { url: '/d/train/train-000000.tar', key: 't1' },
      { url: '/d/val/val-000001.tar', key: 'v9', field: 'jpg' }
    ])
    expect(filterForFinding(f, splitOf)).toEqual({
      keys: [
        { key: 'v9', url: '/d/val/val-000001.tar', split: 'val' },
        { key: 't1', url: '/d/train/train-000000.tar', split: 'train' }
      ]
    })
  })
  it('a finding that is one class of one split shows all its samples by class, not the capped offenders it lists', () => {
    const f: Finding = { ...finding([{ url: '/d/val/val-000000.tar', key: 'v1' }], 'val'), offenderCount: 32, browse: { split: 'val', classId: 10, samples: 32 } }
    expect(filterForFinding(f, splitOf)).toEqual({ split: 'val', classId: 10 })
  })
  it("uses the finding's split when the shard is not in the inventory", () => {
    expect(filterForFinding(finding([{ url: 'https://bucket/val-000003.tar', key: 'x' }], 'val'), splitOf)).toEqual({ keys: [{ key: 'x', url: 'https://bucket/val-000003.tar', split: 'val' }] })
  })
  it('a sample whose split is unknown is still named by key and shard URL', () => {
    expect(filterForFinding(finding([{ url: '/other/x.tar', key: 'k' }]), splitOf)).toEqual({ keys: [{ key: 'k', url: '/other/x.tar' }] })
  })
  it('a finding about one shard shows that shard', () => {
    expect(filterForFinding(finding([{ url: '/d/val/val-000001.tar' }]), splitOf)).toEqual({ split: 'val', shard: 'val-000001.tar' })
  })
  it('a finding about a shard the opened dataset does not hold (a pattern skips it) gives no filter once the inventory says so', () => {
    const skipped = finding([{ url: '/d/val/val-000002.tar' }], 'val')
    expect(filterForFinding(skipped, (url) => splits[url] ?? null)).toBeNull()
    // Before the inventory is here, the finding's split is the best guess.
    expect(filterForFinding(skipped, splitOf)).toEqual({ split: 'val', shard: 'val-000002.tar' })
  })
  it('a finding with nothing to show gives no filter', () => {
    expect(filterForFinding(finding([]), splitOf)).toBeNull()
    expect(filterForFinding(finding([{ url: '/elsewhere/a.tar' }, { url: '/elsewhere/b.tar' }]), splitOf)).toBeNull()
  })
})

describe('verifyRequestFor', () => {
  const base: DatasetSummary = { datasetId: 'd', name: 'demo', folder: null, splits: [], classNames: ['a', 'b'], manifest: null }
  it('a folder is verified through its dataset.json', () => {
    expect(verifyRequestFor({ ...base, folder: '/data/demo' })).toEqual({ datasetDir: '/data/demo' })
  })
  it('patterns are joined with :: and remote copies passed along', () => {
    expect(
      verifyRequestFor({
        ...base,
        splits: [
          { name: 'train', patterns: ['/d/a-{0..1}.tar', '/d/b.tar'], remotePatterns: [] },
          { name: 'val', patterns: ['/d/v.tar'], remotePatterns: ['gs://b/v.tar'] }
        ]
      })
    ).toEqual({
      splits: [
        { name: 'train', pattern: '/d/a-{0..1}.tar::/d/b.tar' },
        { name: 'val', pattern: '/d/v.tar', remotePattern: 'gs://b/v.tar' }
      ],
      classes: 2
    })
  })
})

describe('shardName and describeProgress', () => {
  it('takes the file name of paths and URLs', () => {
    expect(shardName('/d/val/val-000001.tar')).toBe('val-000001.tar')
    expect(shardName('https://h/b/val-000001.tar?x=1')).toBe('val-000001.tar')
  })
  it('says rate and ETA in words', () => {
    expect(describeProgress({ samplesDone: 12345, samplesPerSecond: 2400.4, etaSeconds: 12.6 })).toBe('12,345 samples · 2,400 samples/s · ETA 13 s')
    expect(describeProgress({ samplesDone: 0, samplesPerSecond: 0, etaSeconds: null })).toBe('0 samples · 0 samples/s · ETA unknown')
  })
})

describe('checkBadge', () => {
  const f = (check: string, severity: 'error' | 'warning' | 'info') => ({ ...finding([]), check, severity }) as never
  it('passed and skipped checks say so; a failed check is a warning only when its own findings are warnings or notes', () => {
    expect(checkBadge('counts', 'passed', [])).toBe('pass')
    expect(checkBadge('counts', 'skipped', [])).toBe('skipped')
    expect(checkBadge('structure', 'failed', [f('structure', 'warning')])).toBe('warn')
    expect(checkBadge('structure', 'failed', [f('structure', 'warning'), f('structure', 'error')])).toBe('fail')
  })
  it('a check failed by another check\'s finding (counts short because the pattern skips a shard) shows as failed', () => {
    expect(checkBadge('counts', 'failed', [f('coverage', 'error')])).toBe('fail')
  })
})

