import { describe, expect, it } from 'vitest'
import { pathFromDrop } from './store'

/** What a drop event's dataTransfer carries: dropped files and/or dropped text. */
function dropped(files: File[], text: Record<string, string> = {}): DataTransfer {
  return { files, getData: (type: string) => text[type] ?? '' } as unknown as DataTransfer
}

describe('pathFromDrop', () => {
  const folder = new File([], 'tiny-imagenet-wds')

  it('asks Electron for the path of a dropped folder', () => {
    expect(pathFromDrop(dropped([folder]), (f) => (f === folder ? '/data/tiny-imagenet-wds' : ''))).toBe('/data/tiny-imagenet-wds')
  })

  it.each([
    ['text/plain', '/data/wds\n', '/data/wds'],
    ['text/uri-list', 'file:///data/my%20shards\r\n', '/data/my shards'],
    ['text/plain', '', null]
  ])('falls back to dropped %s text %j: %j', (type, text, expected) => {
    // A browser gives no path for a dropped folder (pathOf is absent), or Electron gives '' for a File made in JS.
    expect(pathFromDrop(dropped([folder], { [type]: text }), undefined)).toBe(expected)
    expect(pathFromDrop(dropped([folder], { [type]: text }), () => '')).toBe(expected)
  })
})
