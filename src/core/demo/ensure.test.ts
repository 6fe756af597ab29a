import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BUILT_IN_DEMO_RECIPE, ensureDemoDataset, type DemoRecipe } from './ensure'

const root = mkdtempSync(join(tmpdir(), 'shardscope-ensure-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const tiny: DemoRecipe = { name: 'tiny demo', train: 40, val: 20, classes: 4, size: 16, shardMaxcount: 10, seed: 1, faults: [] }

describe('ensureDemoDataset', () => {
  it('the shipped recipe is small enough to verify and train on in minutes, with 2+ val shards', () => {
    expect(BUILT_IN_DEMO_RECIPE.train).toBeLessThanOrEqual(10_000)
    expect(Math.ceil(BUILT_IN_DEMO_RECIPE.val / BUILT_IN_DEMO_RECIPE.shardMaxcount)).toBeGreaterThanOrEqual(2)
    expect(BUILT_IN_DEMO_RECIPE.size).toBe(64)
  })

  it('generates once, reuses the dataset on the next call, regenerates when the recipe changes', async () => {
    const dir = join(root, 'demo')
    const first = await ensureDemoDataset(dir, tiny)
    expect(first.splits.train.expectedSamples).toBe(40)
    const shard = join(dir, 'train', 'train-000000.tar')
    const mtime = statSync(shard).mtimeMs
    const [a, b] = await Promise.all([ensureDemoDataset(dir, tiny), ensureDemoDataset(dir, tiny)])
    expect(a).toEqual(first)
    expect(b).toEqual(first)
    expect(statSync(shard).mtimeMs).toBe(mtime)
    const changed = await ensureDemoDataset(dir, { ...tiny, train: 30 })
    expect(changed.splits.train.expectedSamples).toBe(30)
    expect(readdirSync(join(dir, 'train')).sort()).toEqual(['train-000000.tar', 'train-000001.tar', 'train-000002.tar'])
  })

  it('refuses to generate into a folder holding files it did not write', async () => {
    const dir = join(root, 'foreign')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    await expect(ensureDemoDataset(dir, tiny)).rejects.toThrow(/not empty \(notes\.txt\).*not a ShardScope dataset/)
  })
})
