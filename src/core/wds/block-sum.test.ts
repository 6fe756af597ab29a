import { describe, expect, it } from 'vitest'
import { BLOCK_SUM_BUFFER_BYTES, createBlockSummer } from './block-sum'
import { storedChecksumMatches } from './tar-scan'
import { packTar } from './testing/tar'

describe('block sums in WebAssembly', () => {
  it('sum the 512 bytes of a block as a byte loop does, anywhere in the buffer', () => {
    const { buffer, sum512 } = createBlockSummer()
    expect(buffer.length).toBe(BLOCK_SUM_BUFFER_BYTES)
    let seed = 7
    for (let i = 0; i < buffer.length; i++) buffer[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
    buffer.fill(255, 0, 512) // the largest block sum: 512 × 255
    for (const at of [0, 8, 512, 4096 + 24, BLOCK_SUM_BUFFER_BYTES - 512]) {
      let expected = 0
      for (let i = at; i < at + 512; i++) expected += buffer[i]!
      expect(sum512(at), `block at ${at}`).toBe(expected)
    }
  })

  it('with the stored checksum, tell good headers from damaged ones', async () => {
    const tar = await packTar([
      { name: 'a.cls', data: '1' },
      { name: `dir/${'k'.repeat(90)}.jpg`, data: 'x' }
    ])
    const { buffer, sum512 } = createBlockSummer()
    tar.copy(buffer)
    const damaged = [-1, 3, 148, 150, 300]
    for (const at of [0, 1024]) {
      for (const flip of damaged) {
        const saved = buffer[at + Math.max(flip, 0)]!
        if (flip >= 0) buffer[at + flip] = saved ^ 0x01
        expect(storedChecksumMatches(buffer, at, sum512(at)), `header at ${at}, byte ${flip} changed`).toBe(flip < 0)
        buffer[at + Math.max(flip, 0)] = saved
      }
    }
  })
})
