import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../index'
import { captureCliOutput } from '../testing'

const root = mkdtempSync(join(tmpdir(), 'shardscope-cli-demo-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const output = captureCliOutput()

const tiny = ['--train', '60', '--val', '20', '--classes', '3', '--size', '16', '--shard-maxcount', '10']

describe('shardscope make-demo', () => {
  it('writes the dataset and prints its manifest, shards and speed as JSON, exit 0', async () => {
    const out = join(root, 'demo')
    expect(await main(['make-demo', out, ...tiny, '--json'])).toBe(0)
    const r = JSON.parse(output.stdout) as { manifest: { splits: { val: { pattern: string } } }; shards: { train: { samples: number }[] }; samplesPerSecond: number }
    expect(r.shards.train.map((s) => s.samples)).toEqual([10, 10, 10, 10, 10, 10])
    expect(r.manifest.splits.val.pattern).toBe('val/val-{000000..000001}.tar')
    expect(r.samplesPerSecond).toBeGreaterThan(0)
    expect(JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8'))).toEqual(r.manifest)
    expect(output.stderr).toBe('')
  })

  it('plants repeated --fault flags and records them in faults.json; rerunning over its own dataset replaces it', async () => {
    const out = join(root, 'demo')
    expect(await main(['make-demo', out, ...tiny, '--fault', 'pattern-misses-shard', '--fault', 'label-offset'])).toBe(0)
    expect(output.stdout).toMatch(/fault pattern-misses-shard: .*names 1 of the 2 val shards/)
    const faults = (JSON.parse(readFileSync(join(out, 'faults.json'), 'utf8')) as { faults: { name: string }[] }).faults
    expect(faults.map((f) => f.name).sort()).toEqual(['label-offset', 'pattern-misses-shard'])
    expect(JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')).splits.val.pattern).toBe('val/val-000000.tar')
  })

  it('an unknown fault is a usage error naming the known ones, exit 2', async () => {
    expect(await main(['make-demo', join(root, 'x'), '--fault', 'gremlins'])).toBe(2)
    expect(output.stderr).toMatch(/unknown fault "gremlins"; known faults: pattern-misses-shard, stale-copy/)
    expect(existsSync(join(root, 'x'))).toBe(false)
  })

  it('--train 0 is a usage error, exit 2', async () => {
    expect(await main(['make-demo', join(root, 'y'), '--train', '0'])).toBe(2)
    expect(output.stderr).toMatch(/--train must be a whole number ≥ 1, got "0"/)
  })

  it('refuses a non-empty folder that is not a ShardScope dataset and writes nothing there, exit 2', async () => {
    const out = join(root, 'photos')
    mkdirSync(out)
    writeFileSync(join(out, 'holiday.jpg'), await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).jpeg().toBuffer())
    expect(await main(['make-demo', out, ...tiny])).toBe(2)
    expect(output.stderr).toMatch(/photos is not empty \(holiday\.jpg\) and is not a ShardScope dataset/)
    expect(readdirSync(out)).toEqual(['holiday.jpg'])
  })
})
