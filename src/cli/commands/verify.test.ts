import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../../core/demo'
import { main } from '../index'
import { captureCliOutput } from '../testing'

const root = mkdtempSync(join(tmpdir(), 'shardscope-cli-verify-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const small = { train: 200, val: 100, classes: 4, size: 16, shardMaxcount: 50, seed: 7 }

const output = captureCliOutput()

beforeAll(async () => {
  await generateDemo(join(root, 'clean'), small)
  await generateDemo(join(root, 'postmortem'), { ...small, faults: ['pattern-misses-shard', 'stale-copy', 'unnormalized-val'] })
}, 120_000)

describe('shardscope verify', () => {
  it('names the post-mortem causes (pattern, stale copy, unnormalised val) first and exits 1', async () => {
    const json = join(root, 'out', 'report.json')
    expect(await main(['verify', join(root, 'postmortem'), '--json', json, '--threads', '1'])).toBe(1)
    const numbered = output.stdout.split('\n').filter((l) => /^\d+\. \[/.test(l))
    expect(numbered).toHaveLength(3)
    expect(numbered.join('\n')).toMatch(/Validation copy `remote\/val\/val-\{000000\.\.\d+\}\.tar` is stale/)
    expect(numbered.join('\n')).toMatch(/Validation pattern `val\/val-000000\.tar` covers 1 of 2 shards in the folder: 50 of 100 samples are skipped\./)
    expect(numbered.join('\n')).toMatch(/Validation pixels are not normalised/)
    expect(output.stdout).toContain('Fix: Use `val/val-{000000..000001}.tar`.')
    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report.findings.map((f: { code: string }) => f.code).sort()).toEqual(['not-normalised', 'pattern-misses-shards', 'stale-copy'])
  }, 120_000)

  it('Ctrl-C ends the verifier and the command with 130, as train and import do', async () => {
    const before = process.listenerCount('SIGINT')
    const running = main(['verify', join(root, 'clean'), '--threads', '1'])
    // Once the command listens for Ctrl-C, the verifier's process is on its way.
    while (process.listenerCount('SIGINT') === before) await new Promise((r) => setTimeout(r, 10))
    process.emit('SIGINT')
    expect(await running).toBe(130)
    expect(output.stderr).toMatch(/verification cancelled/)
  }, 120_000)

  it('a clean dataset exits 0 with no findings; patterns on the command line work without dataset.json', async () => {
    const dir = join(root, 'clean')
    expect(await main(['verify', '--base', dir, '--train', 'train/train-{000000..000003}.tar', '--val', 'val/val-{000000..000001}.tar', '--json', '-', '--threads', '1'])).toBe(0)
    const report = JSON.parse(output.stdout)
    expect(report.findings).toEqual([])
    expect(report.samplesVerified).toBe(300)
  }, 120_000)

  it('--json naming an existing folder: one line naming that folder (not a temporary file), exit 2', async () => {
    const folder = join(root, 'json-is-a-folder')
    mkdirSync(folder)
    expect(await main(['verify', join(root, 'clean'), '--json', folder, '--threads', '1'])).toBe(2)
    expect(output.stderr).toBe(`shardscope: ${folder}: is a folder, not a file (EISDIR in rename)\n`)
    expect(readdirSync(root).filter((f) => f.endsWith('.tmp'))).toEqual([])
  }, 120_000)

  it('a folder that does not exist cannot be verified: one line on output.stderr, exit 2', async () => {
    expect(await main(['verify', join(root, 'nope')])).toBe(2)
    expect(output.stderr).toMatch(/^shardscope: dataset folder .*nope does not exist\n$/)
  }, 120_000)

  it('patterns that match no file at all: the run cannot happen, exit 2 with the pattern named', async () => {
    const dir = join(root, 'clean')
    expect(await main(['verify', '--base', dir, '--train', 'train/trian-{000000..000003}.tar', '--threads', '1'])).toBe(2)
    expect(output.stderr).toBe(`shardscope: no shard to verify: the train pattern \`train/trian-{000000..000003}.tar\` matches no existing file (looked in ${join(dir, 'train')})\n`)
  }, 120_000)
})
