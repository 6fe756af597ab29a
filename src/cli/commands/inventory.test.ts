import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Inventory } from '../../core/inventory'
import { generateDemo } from '../../core/demo'
import { serveFolder } from '../../core/wds/testing/http-server'
import { packTar, type TestMember } from '../../core/wds/testing/tar'
import { main } from '../index'
import { captureCliOutput } from '../testing'

let root: string
const output = captureCliOutput()

function samples(prefix: string, count: number): TestMember[] {
  return Array.from({ length: count }, (_, i) => [
    { name: `${prefix}${i}.jpg`, data: Buffer.alloc(600, i) },
    { name: `${prefix}${i}.cls`, data: String(i % 2) }
  ]).flat()
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cli-inventory-'))
  mkdirSync(join(root, 'data', 'train'), { recursive: true })
  mkdirSync(join(root, 'data', 'val'), { recursive: true })
  writeFileSync(join(root, 'data', 'train', 'train-000000.tar'), await packTar(samples('t', 6)))
  writeFileSync(join(root, 'data', 'val', 'val-000000.tar'), await packTar(samples('v', 3)))
  writeFileSync(join(root, 'data', 'val', 'val-000001.tar'), await packTar(samples('w', 2)))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('shardscope inventory', () => {
  it('a reader that closes the pipe early (`| head`) cuts the output short without a stack trace; the exit code is still the result', async () => {
    const cli = new URL('../index.ts', import.meta.url).pathname
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'inventory', join(root, 'data'), '--json'], {
      env: { ...process.env, SHARDSCOPE_CLI_MAIN: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    // Closed before the first line is written: every write meets EPIPE.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    expect(stderr).toBe('')
    expect(code).toBe(0)
  }, 60_000)

  it("names the shard of a sample's problem in the text report", async () => {
    const path = join(root, 'twice.tar')
    writeFileSync(path, await packTar([{ name: 'k0.jpg', data: 'a' }, { name: 'k0.jpg', data: 'b' }, { name: 'k0.cls', data: '1' }]))
    expect(await main(['inventory', path])).toBe(1)
    expect(output.stdout).toContain(`  duplicate-field: ${path}: sample "k0" has field "jpg" twice`)
  })

  it('prints a table of the folder shards with totals, exit 0 when clean', async () => {
    expect(await main(['inventory', join(root, 'data')])).toBe(0)
    expect(output.stdout).toMatch(/train\s+train-000000\.tar\s+.*\s6\s+cls,jpg\s+2\s+t0\s+t5\s+0/)
    expect(output.stdout).toMatch(/val: 2 shards, 5 samples/)
    expect(output.stdout).toMatch(/total: 3 shards, 11 samples/)
    expect(output.stderr).toBe('')
  })

  it('prints JSON with --json and exits 1 when the pattern covers 1 of 2 shards', async () => {
    expect(await main(['inventory', 'file:val/val-{000000..000000}.tar', '--base', join(root, 'data'), '--json'])).toBe(1)
    const inventory = JSON.parse(output.stdout) as Inventory
    expect(inventory.shards.map((s) => [s.name, s.samples])).toEqual([['val-000000.tar', 3]])
    expect(inventory.coverage.map((g) => g.message)).toEqual(['pattern covers 1 of 2 shards in val: val-000001.tar is not covered'])
  })

  it('shows uncovered shards and problems in the table', async () => {
    writeFileSync(join(root, 'data', 'broken.tar'), '<html>oops</html>')
    try {
      expect(await main(['inventory', 'val/val-000000.tar::broken.tar', '--base', join(root, 'data')])).toBe(1)
      expect(output.stdout).toMatch(/! pattern covers 1 of 2 shards in val: val-000001\.tar is not covered/)
      expect(output.stdout).toMatch(/not-a-tar: .*broken\.tar: not a tar archive/)
    } finally {
      rmSync(join(root, 'data', 'broken.tar'))
    }
  })

  it('shows samples whose label is no class id as unlabelled, per shard and per split, when there are any', async () => {
    // None unlabelled: nothing said.
    expect(await main(['inventory', join(root, 'data')])).toBe(0)
    expect(output.stdout).not.toContain('unlabelled')
    const dir = join(root, 'unlabelled')
    mkdirSync(dir)
    writeFileSync(join(dir, 'val-000000.tar'), await packTar([...samples('v', 3), { name: 'x.jpg', data: 'x' }, { name: 'x.cls', data: 'abc' }]))
    expect(await main(['inventory', 'val-000000.tar', '--base', dir])).toBe(0)
    expect(output.stdout).toMatch(/val\s+val-000000\.tar\s+.*\s4\s+cls,jpg\s+2 \(\+1 unlabelled\)\s+v0\s+x\s+0/)
    expect(output.stdout).toMatch(/^val: 1 shard, 4 samples, [\d.]+ KB, 2 classes, 1 unlabelled sample$/m)
  })

  it('reads with the threads asked for, and refuses a thread count that is not a whole number', async () => {
    expect(await main(['inventory', join(root, 'data'), '--json', '--threads', '2'])).toBe(0)
    const inventory = JSON.parse(output.stdout) as Inventory
    expect([inventory.threads, inventory.totals.samples]).toEqual([2, 11])
    expect(await main(['inventory', join(root, 'data'), '--threads', '1.5'])).toBe(2)
    expect(output.stderr).toMatch(/--threads must be a whole number/)
  })

  it("a dataset folder is read as its dataset.json says: the post-mortem's val pattern covering 1 of 2 shards is shown, and the stale copy beside it is not counted as data", async () => {
    const demo = join(root, 'post-mortem')
    await generateDemo(demo, { train: 40, val: 20, classes: 4, size: 16, shardMaxcount: 10, seed: 3, faults: ['pattern-misses-shard', 'stale-copy'] })
    expect(await main(['inventory', demo])).toBe(1)
    expect(output.stdout).toMatch(/! pattern covers 1 of 2 shards in val: val-000001\.tar is not covered/)
    expect(output.stdout).toMatch(/^val: 1 shard, 10 samples \(dataset.json expects 20\), /m)
    expect(output.stdout).toMatch(/not listed: the val copy `remote\/val\/val-\{000000\.\.\d+\}\.tar` that dataset.json names/)
    expect(output.stdout).toMatch(/total: 5 shards, 50 samples, .*; 0 problems, 1 uncovered shard file/)
    expect(output.stdout).not.toMatch(/^remote\s/m)
    output.stdout = ''
    expect(await main(['inventory', demo, '--json'])).toBe(1)
    const inventory = JSON.parse(output.stdout) as Inventory
    expect([inventory.mode, inventory.splits.map((s) => [s.name, s.samples, s.expectedSamples])]).toEqual([
      'dataset',
      [
        ['train', 40, 40],
        ['val', 10, 20]
      ]
    ])
    // A dataset.json without a pattern for a split is named, exit 2.
    writeFileSync(join(demo, 'dataset.json'), JSON.stringify({ splits: { train: {} } }))
    expect(await main(['inventory', demo])).toBe(2)
    expect(output.stderr).toContain(`${join(demo, 'dataset.json')}: field splits.train.pattern: expected a shard pattern`)
  })

  it('over http it says that what a pattern leaves out is not checked, instead of "0 uncovered"', async () => {
    const server = await serveFolder(join(root, 'data'))
    try {
      expect(await main(['inventory', `${server.baseUrl}/val/val-000000.tar`])).toBe(0)
      expect(output.stdout).toContain(`? ${server.baseUrl}/val/val-000000.tar: which shards it leaves out is not checked (a web server or bucket cannot be listed)`)
      expect(output.stdout).toMatch(/0 uncovered shard files \(http\(s\) patterns not checked\)/)
    } finally {
      await server.close()
    }
  })

  it('exits 2 with one line for pipe: patterns and folders without shards', async () => {
    expect(await main(['inventory', 'pipe:curl http://x/a.tar'])).toBe(2)
    expect(output.stderr).toMatch(/^shardscope: .*pipe: patterns run a shell command/)
    output.stderr = ''
    mkdirSync(join(root, 'empty'))
    expect(await main(['inventory', join(root, 'empty')])).toBe(2)
    expect(output.stderr).toMatch(/no shards found/)
    expect(await main(['inventory', join(root, 'nope.tar')])).toBe(2)
  })
})
