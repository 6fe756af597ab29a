/**
 * A grid row's cells as one HTML string, set as the row's innerHTML (./BrowserView.tsx).
 *
 * Why not React elements: a new listing's first screen is ~70 cells of 7 elements each, and
 * React's render and commit of them (fibers, props, per-image listeners) was the largest
 * part of the page's work between "Open folder" and the first thumbnails. Measured with the
 * UI bench's open-from-Browse trial, interleaved fresh page + host against React cells,
 * medians: 357 → 343 ms (16 trials), 285 → 241, 297 → 274 and 380 → 338 (24 trials each;
 * the machine's speed moved between sets); scrolling 57.5 vs 57.0 fps (6 trials each).
 *
 * Everything that comes from data (keys, splits, class names, URLs) is escaped: shard
 * member names are untrusted, and this is HTML. The selection is not in the string (the
 * grid marks the selected cell itself), so moving it does not rebuild rows and their images.
 */
import type { SampleRow } from '@shared/contract/datasets'
import type { ThumbnailUrl } from './thumbnails'

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text or an attribute value, safe inside double quotes or between tags. */
export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => escapes[c]!)
}

/** One cell: position, and the sample (undefined while its page is on its way) with its image URL. */
export interface CellContent {
  position: number
  sample: SampleRow | undefined
  src: ThumbnailUrl
}

export function cellHtml({ position, sample, src }: CellContent): string {
  const data = sample
    ? ` data-key="${escapeHtml(sample.key)}" data-split="${escapeHtml(sample.split)}" data-index="${sample.index}" data-label="${sample.label ?? ''}"`
    : ''
  const thumb =
    src === 'broken'
      ? '<span class="thumb-broken small">cannot decode</span>'
      : src
        ? `<img src="${escapeHtml(src)}" alt="${escapeHtml(sample?.key ?? '')}" decoding="async" draggable="false">`
        : `<span class="muted small">${sample && !sample.imageField ? 'no image' : ''}</span>`
  const label = sample
    ? `<div class="cell-label" title="${escapeHtml(`${sample.key} · ${sample.shard}`)}"><span class="label-id">${escapeHtml(sample.label ?? '—')}</span> <span class="class-name">${escapeHtml(sample.className ?? '')}</span></div>`
    : '<div class="cell-label">…</div>'
  return `<div class="sample-cell" role="gridcell" aria-selected="false" data-position="${position}"${data}><div class="thumb">${thumb}</div>${label}</div>`
}
