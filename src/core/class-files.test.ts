import { describe, expect, it } from 'vitest'
import { parseWnids, parseWords } from './class-files'

describe('wnids.txt', () => {
  it.each([
    ['one id a line, in label order', 'n01443537\nn01629819\n', ['n01443537', 'n01629819']],
    ['Windows line ends, blank lines and stray spaces', 'n01443537\r\n\r\n  n01629819 \r\n', ['n01443537', 'n01629819']],
    ['an empty file', '', []]
  ])('%s', (_, text, ids) => {
    expect(parseWnids(text)).toEqual(ids)
  })
})

describe('words.txt', () => {
  it('maps each id to the name after its tab, commas and spaces kept', () => {
    const words = parseWords('n01443537\tgoldfish, Carassius auratus\r\nn01629819\tEuropean fire salamander \n')
    expect([...words]).toEqual([
      ['n01443537', 'goldfish, Carassius auratus'],
      ['n01629819', 'European fire salamander']
    ])
  })

  it('skips lines without an id before a tab', () => {
    expect([...parseWords('no tab here\n\tname without id\nn1\tfish\n')]).toEqual([['n1', 'fish']])
  })

  it('keeps only the ids asked for', () => {
    expect([...parseWords('n1\tfish\nn2\tnewt\nn3\tfrog\n', new Set(['n3', 'n1']))]).toEqual([
      ['n1', 'fish'],
      ['n3', 'frog']
    ])
  })
})
