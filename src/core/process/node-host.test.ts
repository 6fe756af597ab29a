import { describe, expect, it } from 'vitest'
import { nodeProcessHost } from './node-host'

function nextMessage(handle: ReturnType<typeof nodeProcessHost.spawn>): Promise<unknown> {
  return new Promise((resolve) => handle.onMessage(resolve))
}

describe('node process host', () => {
  it('runs a role in its own process and round-trips a typed array intact', async () => {
    const child = nodeProcessHost.spawn('echo', { name: 'echo test' })
    const messages: unknown[] = []
    child.onMessage((m) => messages.push(m))
    await expect.poll(() => messages.length, { timeout: 20_000 }).toBeGreaterThan(0)
    expect(messages[0]).toEqual({ ready: true })
    const weights = new Float32Array([1.5, -2, 3.25])
    child.send({ weights })
    await expect.poll(() => messages.length, { timeout: 10_000 }).toBe(2)
    const reply = messages[1] as { echo: { weights: Float32Array }; pid: number }
    expect(reply.pid).toBe(child.pid)
    expect(reply.pid).not.toBe(process.pid)
    expect(reply.echo.weights).toBeInstanceOf(Float32Array)
    expect(Array.from(reply.echo.weights)).toEqual([1.5, -2, 3.25])
    child.kill()
  })

  it('reports the exit code of a child that dies', async () => {
    const child = nodeProcessHost.spawn('echo', { name: 'crashing echo' })
    const exited = new Promise<number | null>((resolve) => child.onExit((code) => resolve(code)))
    await nextMessage(child)
    child.send({ exit: 3 })
    expect(await exited).toBe(3)
  })
})
