import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeFileAtomic } from './atomic-write'

const root = mkdtempSync(join(tmpdir(), 'shardscope-atomic-write-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('writeFileAtomic', () => {
  it('writes the file, creating its folder, and leaves no temporary file', async () => {
    const path = join(root, 'new', 'report.json')
    await writeFileAtomic(path, '{}\n')
    await writeFileAtomic(path, '{"a":1}\n')
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n')
    expect(readdirSync(join(root, 'new'))).toEqual(['report.json'])
  })

  it('a path that is a folder fails naming that path, not the temporary file, and leaves no temporary file', async () => {
    const folder = join(root, 'out')
    mkdirSync(folder)
    const failure = await writeFileAtomic(folder, '{}\n').catch((error: NodeJS.ErrnoException) => error)
    expect(failure).toMatchObject({ code: 'EISDIR', path: folder })
    expect((failure as Error).message).not.toMatch(/\.tmp/)
    expect(readdirSync(root).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})
