import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFolder } from './folders'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardscope-folders-'))
})
afterAll(() => rm(root, { recursive: true, force: true }))

describe('makeFolder', () => {
  it('makes every missing level, and is content with a folder that exists', async () => {
    const dir = join(root, 'a', 'b', 'c')
    await makeFolder(dir)
    expect((await stat(dir)).isDirectory()).toBe(true)
    await makeFolder(dir)
    await makeFolder(root)
  })

  it('a file in the way is an error naming the path', async () => {
    await writeFile(join(root, 'file'), 'x')
    await expect(makeFolder(join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR', path: join(root, 'file', 'sub') })
    await expect(makeFolder(join(root, 'file'))).rejects.toMatchObject({ code: 'EEXIST', path: join(root, 'file') })
  })

  // Node's recursive mkdir spins for ever here; the test would time out on it.
  it.skipIf(!existsSync('/proc/self'))('a folder under /proc is refused at once, naming the level that could not be made (skipped where there is no /proc)', async () => {
    await expect(makeFolder('/proc/shardscope-test/runs')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'mkdir', path: '/proc/shardscope-test' })
  }, 5_000)
})
