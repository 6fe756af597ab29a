import { describe, expect, it } from 'vitest'
import type { SampleRow } from '@shared/contract/datasets'
import { cellHtml, escapeHtml } from './cell-html'

const row = (patch: Partial<SampleRow>): SampleRow =>
  ({ split: 'train', index: 7, key: 'shard/000007', shard: 'train-000000.tar', label: 3, className: 'goldfish', imageField: 'jpg', ...patch }) as SampleRow

/** Every tag name in the HTML, in order: what a browser would make of it, as far as tags go. */
const tags = (html: string): string[] => [...html.matchAll(/<([a-z]+)/g)].map((m) => m[1]!)

describe('cellHtml', () => {
  it('makes the cell the grid and the tests read: data attributes, image, label id and class name', () => {
    const html = cellHtml({ position: 12, sample: row({}), src: 'data:image/jpeg;base64,/9j/' })
    expect(tags(html)).toEqual(['div', 'div', 'img', 'div', 'span', 'span'])
    expect(html).toContain('data-position="12" data-key="shard/000007" data-split="train" data-index="7" data-label="3"')
    expect(html).toContain('<img src="data:image/jpeg;base64,/9j/" alt="shard/000007"')
    expect(html).toContain('<span class="label-id">3</span> <span class="class-name">goldfish</span>')
  })

  it('shows a placeholder while the page is on its way, a note for a broken image, and — for no label', () => {
    expect(cellHtml({ position: 0, sample: undefined, src: undefined })).toContain('<div class="cell-label">…</div>')
    expect(cellHtml({ position: 0, sample: row({}), src: 'broken' })).toContain('<span class="thumb-broken small">cannot decode</span>')
    expect(cellHtml({ position: 0, sample: row({ imageField: null }), src: undefined })).toContain('no image')
    expect(cellHtml({ position: 0, sample: row({ label: null }), src: undefined })).toContain('<span class="label-id">—</span>')
  })

  it('escapes whatever a shard puts in a key or a class name: no tag or attribute gets out', () => {
    const evil = `"><img src=x onerror=alert(1)>'&`
    const html = cellHtml({ position: 1, sample: row({ key: evil, className: `</div><script>alert(2)</script>`, split: 'a"b' }), src: `x" onerror="alert(3)` })
    expect(tags(html)).toEqual(['div', 'div', 'img', 'div', 'span', 'span'])
    expect(html).not.toContain('onerror="alert')
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&amp;')
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;')
  })
})
