/**
 * Each planted fault of the demo generator is found with the right finding and
 * nothing else; the clean demo gives no finding at all. faults.json is the ground
 * truth here (the verifier itself never reads it).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateDemo, type DemoResult, type FaultName } from '../demo'
import type { Finding, VerificationReport } from '../../shared/contract/verify'
import { verifyDataset } from './verify-dataset'

const root = mkdtempSync(join(tmpdir(), 'shardscope-verify-faults-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const small = { train: 200, val: 100, classes: 4, size: 16, shardMaxcount: 50, seed: 3 }

async function demoWith(faults: FaultName[]): Promise<{ dir: string; demo: DemoResult }> {
  const dir = join(root, faults.join('+') || 'clean')
  const demo = await generateDemo(dir, { ...small, faults })
  return { dir, demo }
}

/** Findings a user must act on (errors and warnings). */
function problems(report: VerificationReport): Finding[] {
  return report.findings.filter((f) => f.severity !== 'info')
}

function plantedKeys(demo: DemoResult, name: FaultName): string[] {
  return demo.faults.filter((f) => f.name === name).flatMap((f) => f.keys).sort()
}

describe('verifier on the demo dataset', () => {
  it('the clean demo gives zero findings and every check passes or says why it was skipped (decoding on 2 threads)', async () => {
    const { dir } = await demoWith([])
    const report = await verifyDataset({ datasetDir: dir, threads: 2, batchSize: 16 })
    expect(report.findings).toEqual([])
    expect(report.counts).toEqual({ errors: 0, warnings: 0, infos: 0 })
    expect(report.decodeThreads).toBe(2)
    expect(report.samplesVerified).toBe(300)
    const train = report.splits.find((s) => s.name === 'train')!
    expect(train.imagesDecoded).toBe(200)
    expect(train.imageShapes).toEqual({ '16x16x3': 200 })
    // dataset.json's mean/std were computed on train: normalised train pixels have mean ≈ 0, std ≈ 1.
    for (const m of train.pixelsNormalised!.mean) expect(Math.abs(m)).toBeLessThan(0.05)
    for (const s of train.pixelsNormalised!.std) expect(s).toBeGreaterThan(0.9)
    expect(train.labelDiversity!.mean).toBeGreaterThan(3)
    expect(report.checks.filter((c) => c.status === 'failed')).toEqual([])
    expect(report.checks.find((c) => c.check === 'copy-vs-copy')!.status).toBe('skipped')
  })

  it('pattern covering 1 of 2 val shards is reported with the skipped shard, the lost samples and the pattern to use', async () => {
    const { dir } = await demoWith(['pattern-misses-shard'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual(['pattern-misses-shards'])
    const f = report.findings[0]!
    expect(f.title).toBe('Validation pattern `val/val-000000.tar` covers 1 of 2 shards in the folder: 50 of 100 samples are skipped.')
    expect(f.fix).toBe('Use `val/val-{000000..000001}.tar`.')
    expect(f.offenders.map((o) => o.url)).toEqual([join(dir, 'val', 'val-000001.tar')])
    // The count against the expected one is said once.
    expect(f.evidence.filter((e) => /expected/.test(e))).toEqual(['samples read: 50, expected 100'])
    expect(report.checks.find((c) => c.check === 'counts')).toEqual({ check: 'counts', status: 'failed', note: 'validation: 50 of 100 samples, see the coverage finding' })
  })

  it('a remote copy in an older layout is named a stale copy', async () => {
    const { dir, demo } = await demoWith(['stale-copy'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual(['stale-copy'])
    const f = report.findings[0]!
    expect(f.split).toBe('val')
    const n = demo.shards.remoteVal.length
    expect(f.title).toContain(`Validation copy \`remote/val/val-{000000..${String(n - 1).padStart(6, '0')}}.tar\` is stale: it is in another layout (${n} shards × 5 samples`)
    expect(f.offenderCount).toBe(demo.shards.remoteVal.length)
    expect(f.evidence.join('\n')).toContain(`${plantedKeys(demo, 'stale-copy').length} keys only in the local copy`)
  })

  it('float32 npy val holding raw 0–255 pixels is reported as not normalised', async () => {
    const { dir } = await demoWith(['unnormalized-val'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual(['not-normalised'])
    expect(report.findings[0]!.title).toMatch(/^Validation pixels are not normalised: validation stores float32 `npy` with raw 0–255 values/)
    const val = report.splits.find((s) => s.name === 'val')!
    expect(val.imageFormats).toEqual({ npy: 100 })
    expect(Math.max(...val.pixelsRaw!.max)).toBeGreaterThan(200)
  })

  it('an npy val stored already normalised is recognised as such and gives no finding', async () => {
    const dir = join(root, 'npy-normalised')
    await generateDemo(dir, { ...small, valFormat: 'npy' })
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(report.findings).toEqual([])
    const val = report.splits.find((s) => s.name === 'val')!
    for (const m of val.pixelsNormalised!.mean) expect(Math.abs(m)).toBeLessThan(0.2)
  })

  it('1-based val labels are reported as a label offset, not as scattered out-of-range labels', async () => {
    const { dir } = await demoWith(['label-offset'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual(['label-offset'])
    expect(report.findings[0]!.title).toMatch(/^Validation labels look 1-based: they run 1 … 4 where 0 … 3 is expected/)
    // All the samples carrying label 4, not only the offenders listed (the app's browser lists them by class: services/datasets.test.ts).
    const f = report.findings[0]!
    expect(f.browse).toEqual({ split: 'val', classId: 4, samples: f.offenderCount })
  })

  it.each([
    ['corrupt-image', 'corrupt-image'],
    ['wrong-image-size', 'wrong-image-size'],
    ['missing-label', 'missing-label']
  ] as const)('planted %s is found on exactly the planted samples', async (fault, code) => {
    const { dir, demo } = await demoWith([fault])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual([code])
    const f = report.findings[0]!
    expect(f.offenderCount).toBe(3)
    expect(f.offenders.map((o) => o.key).sort()).toEqual(plantedKeys(demo, fault))
  })

  it('a truncated train shard is reported once, with the samples before the cut still verified', async () => {
    const { dir, demo } = await demoWith(['truncated-shard'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(problems(report).map((f) => f.code)).toEqual(['truncated-shard'])
    const f = report.findings[0]!
    const planted = demo.faults.find((x) => x.name === 'truncated-shard')!
    expect(f.offenders[0]!.url).toBe(join(dir, planted.shards[0]!))
    expect(report.splits.find((s) => s.name === 'train')!.samples).toBe(200 - planted.keys.length)
    expect(f.evidence).toContain(`samples read: ${200 - planted.keys.length}, expected 200`)
  })

  it('duplicate keys are found within a shard (not adjacent) and across splits', async () => {
    const { dir, demo } = await demoWith(['duplicate-keys'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    const found = problems(report)
    expect(found.map((f) => `${f.code}/${f.split}`).sort()).toEqual(['duplicate-keys/train', 'duplicate-keys/val'])
    const keys = found.flatMap((f) => f.offenders.map((o) => o.key!)).sort()
    expect(keys).toEqual(plantedKeys(demo, 'duplicate-keys'))
    expect(found.find((f) => f.split === 'val')!.offenders[0]!.found).toBe('also in split train')
    // The title says where the key was used first when that is another split.
    expect(found.find((f) => f.split === 'val')!.title).toMatch(/^Validation has 1 sample whose key is already used \(in split train\): /)
    expect(found.find((f) => f.split === 'train')!.title).toMatch(/^Training has \d+ samples? whose key is already used: /)
  })

  it('with pattern-misses-shard, stale-copy and unnormalized-val the three causes are the first (and only) findings', async () => {
    const { dir } = await demoWith(['pattern-misses-shard', 'stale-copy', 'unnormalized-val'])
    const report = await verifyDataset({ datasetDir: dir, threads: 0, batchSize: 16 })
    expect(report.findings.map((f) => f.code).sort()).toEqual(['not-normalised', 'pattern-misses-shards', 'stale-copy'])
    expect(report.findings.every((f) => f.severity === 'error')).toBe(true)
    // The local side of the comparison is the folder's split, the shard the pattern skips included, and says so.
    const stale = report.findings.find((f) => f.code === 'stale-copy')!
    expect(stale.evidence[0]).toMatch(/^this copy `val\/val-000000\.tar` with the 1 shard of its folder it skips: 2 shards × \d+ samples/)
  })
})
