import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../index'

/** Runs the CLI in-process and collects what it prints on stdout. */
async function runCli(argv: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }) as typeof process.stdout.write
  try {
    const code = await main(argv)
    return { code, stdout: chunks.join('') }
  } finally {
    process.stdout.write = write
  }
}

describe('shardscope backends', () => {
  it('--json lists all four backends, each available or with the reason not, and what auto picks', async () => {
    const { code, stdout } = await runCli(['backends', '--json'])
    expect(code).toBe(0)
    const out = JSON.parse(stdout) as { backends: { name: string; available: boolean; reason: string }[]; auto: { name: string; reason: string } }
    expect(out.backends.map((b) => b.name)).toEqual(['cuda', 'webgpu', 'wasm', 'cpu'])
    for (const b of out.backends) expect(b.reason.length).toBeGreaterThan(0)
    // tfjs-node-gpu is an optional dependency that cannot install here: the reason names it.
    const cuda = out.backends.find((b) => b.name === 'cuda')!
    if (!cuda.available) expect(cuda.reason).toMatch(/tfjs-node-gpu/)
    expect(out.backends.find((b) => b.name === 'wasm')!.available).toBe(true)
    expect(['cuda', 'webgpu', 'wasm', 'cpu']).toContain(out.auto.name)
    expect(out.auto.reason).toMatch(/fastest available/)
  })

  it('prints one line per backend without --json', async () => {
    const { code, stdout } = await runCli(['backends'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^cuda\s+(available|not available)/m)
    expect(stdout).toMatch(/^wasm\s+available/m)
    expect(stdout).toMatch(/^auto → \w+/m)
  })

  it('the WebGPU probe writes no driver shader cache into the home folder (ShardScope writes only where it is told)', () => {
    const home = mkdtempSync(join(tmpdir(), 'shardscope-home-'))
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SHARDSCOPE_CLI_MAIN: '1' }
      for (const name of ['XDG_CACHE_HOME', 'MESA_SHADER_CACHE_DIR', 'MESA_SHADER_CACHE_DISABLE', 'MESA_GLSL_CACHE_DISABLE']) delete env[name]
      const cli = new URL('../index.ts', import.meta.url).pathname
      const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', cli, 'backends', '--json'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
        backends: { name: string; available: boolean; reason: string }[]
      }
      const webgpu = out.backends.find((b) => b.name === 'webgpu')!
      // Where no Vulkan driver loads there is nothing to cache; the answer says which case ran.
      if (!webgpu.available) console.log(`webgpu not available, so no driver ran (${webgpu.reason})`)
      expect(readdirSync(home, { recursive: true })).toEqual([])
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  }, 60_000)
})
