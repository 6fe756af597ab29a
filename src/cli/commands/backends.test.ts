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
})
