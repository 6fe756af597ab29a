import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
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

  it('stops on SIGTERM while a remote shard is still being read from a server that never answers (it does not wait for the read to time out)', async () => {
    // HEAD answers (so the dataset opens); GET never does (so indexing it waits).
    const silent = createServer((req, res) => {
      if (req.method === 'HEAD') res.writeHead(200, { 'content-length': '10240' }).end()
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const folder = join(root, 'remote-dataset')
    await mkdir(folder, { recursive: true })
    const manifest = JSON.parse(await readFile(join(demoDir, 'dataset.json'), 'utf8')) as { splits: Record<string, { pattern: string }> }
    manifest.splits.train!.pattern = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/train-000000.tar`
    await writeFile(join(folder, 'dataset.json'), JSON.stringify(manifest))
    const cli = new URL('../index.ts', import.meta.url).pathname
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--state-dir', join(root, 'state-remote'), folder], {
      env: { ...process.env, SHARDSCOPE_CLI_MAIN: '1', SHARDSCOPE_HTTP_TIMEOUT_S: '600' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    try {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => /serving at/.test(c.toString()) && resolve()))
      await new Promise((r) => setTimeout(r, 500)) // the background indexing has asked for the shard
      child.kill('SIGTERM')
      // Without the exit after stopping, the process waited the read's whole timeout (600 s here).
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))])).toBe(0)
    } finally {
      child.kill('SIGKILL')
      silent.closeAllConnections()
      silent.close()
    }
  }, 60_000)
})
