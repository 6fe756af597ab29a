import { describe, expect, it } from 'vitest'
import { scanTar } from './tar-scan'
import { packTar } from './testing/tar'
import type { TarMember } from './types'

async function* inChunks(bytes: Buffer, size: number, misalign: boolean): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size)
    if (!misalign) yield piece
    else {
      // Copy to an odd offset in a larger buffer so the chunk is not 4-byte aligned.
      const holder = Buffer.alloc(piece.length + 1)
      piece.copy(holder, 1)
      yield holder.subarray(1)
    }
  }
}

async function scan(bytes: Buffer, size: number, misalign = false): Promise<{ members: TarMember[]; cls: string[]; end: string }> {
  const members: TarMember[] = []
  const cls: string[] = []
  const result = await scanTar(inChunks(bytes, size, misalign), {
    onMember: (m, data) => {
      members.push(m)
      if (data) cls.push(data.toString())
    },
    wantData: (name) => name.endsWith('.cls')
  })
  return { members, cls, end: result.end.kind }
}

describe('scanTar', () => {
  it('finds the same members and offsets whatever the chunk size and alignment', async () => {
    const tar = await packTar([
      { name: 'd/', type: 'directory' },
      { name: `d/${'long'.repeat(40)}.jpg`, data: Buffer.alloc(1300, 1) },
      { name: `d/${'long'.repeat(40)}.cls`, data: '12' },
      { name: 'd/b.cls', data: '' }
    ])
    const whole = await scan(tar, 1 << 20)
    expect(whole.members.map((m) => [m.name, m.type, m.size])).toEqual([
      ['d/', 'directory', 0],
      [`d/${'long'.repeat(40)}.jpg`, 'file', 1300],
      [`d/${'long'.repeat(40)}.cls`, 'file', 2],
      ['d/b.cls', 'file', 0]
    ])
    expect(tar.subarray(whole.members[2]!.dataOffset, whole.members[2]!.dataOffset + 2).toString()).toBe('12')
    expect(whole.cls).toEqual(['12', ''])
    expect(whole.end).toBe('complete')
    for (const [size, misalign] of [[7, false], [512, true], [1000, true], [4096, false]] as const) {
      expect(await scan(tar, size, misalign)).toEqual(whole)
    }
  })

  it('stops at a header whose checksum is wrong, aligned or not', async () => {
    const tar = await packTar([
      { name: 'a.txt', data: 'x' },
      { name: 'b.txt', data: 'y' }
    ])
    tar[1024 + 3] = tar[1024 + 3]! ^ 0x20 // second header's name: checksum no longer matches
    for (const misalign of [false, true]) {
      const result = await scan(tar, 1 << 16, misalign)
      expect(result.members.map((m) => m.name)).toEqual(['a.txt'])
      expect(result.end).toBe('bad-header')
    }
  })
})
