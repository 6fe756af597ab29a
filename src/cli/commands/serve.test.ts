import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDemo } from '../../core/demo'

let root: string
let demoDir: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-serve-cli-'))
  demoDir = join(root, 'demo')
  await generateDemo(demoDir, { train: 12, val: 4, classes: 2, size: 8, shardMaxcount: 12, seed: 2 })
})

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe('shardscope serve', () => {
  it('prints a tokened 127.0.0.1 URL with the opened dataset, answers on it, and stops cleanly on SIGTERM', async () => {
    const cli = new URL('../index.ts', import.meta.url).pathname
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--state-dir', join(root, 'state'), demoDir], {
      env: { ...process.env, SHARDSCOPE_CLI_MAIN: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        const m = /serving at (http:\S+)/.exec(stdout)
        if (m) resolve(m[1]!)
      })
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)))
    })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+&dataset=[0-9a-f]{16}$/)
    expect(stderr).toMatch(/opened \S/)
    const origin = new URL(url).origin
    expect((await fetch(`${origin}/media/x/train/0/jpg`)).status).toBe(403)
    const datasetId = new URL(url).searchParams.get('dataset')!
    const token = new URL(url).searchParams.get('token')!
    const thumb = await fetch(`${origin}/media/${datasetId}/train/0/jpg?variant=thumb&token=${token}`)
    expect(thumb.status).toBe(200)
    // The demo's small JPEGs already fit a thumbnail: their stored bytes are served.
    expect(thumb.headers.get('content-type')).toBe('image/jpeg')
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stderr).toContain('stopping')
    expect(stderr).not.toMatch(/\bat .*\(.*:\d+:\d+\)/)
  })
})
