/**
 * Chart series arithmetic, pure so it is tested without a browser: downsampling a
 * long series so a long run stays fast to draw, aligning series sampled at
 * different steps (workers, runs) onto one x axis as uPlot wants it, and CSV export.
 */

/** x values ascending; y may hold null (no value at that x). */
export interface Series {
  x: number[]
  y: Array<number | null>
}

/**
 * At most ~maxPoints points: the series is cut into buckets by index and each bucket
 * keeps its minimum and its maximum (in x order). Unlike averaging or LTTB this never
 * hides a spike — a validation loss in the millions stays visible at any zoom.
 */
export function downsampleMinMax(series: Series, maxPoints: number): Series {
  const n = series.x.length
  if (n <= maxPoints || maxPoints < 4) return series
  const buckets = Math.floor(maxPoints / 2)
  const size = n / buckets
  const x: number[] = []
  const y: Array<number | null> = []
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size)
    const end = Math.min(n, Math.floor((b + 1) * size))
    let minI = -1
    let maxI = -1
    for (let i = start; i < end; i++) {
      const v = series.y[i]
      if (v === null || v === undefined || Number.isNaN(v)) continue
      if (minI < 0 || v < (series.y[minI] as number)) minI = i
      if (maxI < 0 || v > (series.y[maxI] as number)) maxI = i
    }
    if (minI < 0) {
      // A bucket with no value keeps one gap so the line breaks there, as in the raw series.
      x.push(series.x[start] as number)
      y.push(null)
      continue
    }
    for (const i of minI === maxI ? [minI] : minI < maxI ? [minI, maxI] : [maxI, minI]) {
      x.push(series.x[i] as number)
      y.push(series.y[i] as number)
    }
  }
  return { x, y }
}

/**
 * Several series on one x axis: the sorted union of their x values, each series with
 * null where it has no point. This is uPlot's AlignedData ([x, y1, y2, …]); with
 * `spanGaps` the lines stay continuous.
 */
export function alignSeries(series: readonly Series[]): [number[], ...Array<Array<number | null>>] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b)
  const at = new Map(xs.map((x, i) => [x, i]))
  const ys = series.map((s) => {
    const out: Array<number | null> = new Array(xs.length).fill(null)
    s.x.forEach((x, i) => {
      out[at.get(x) as number] = s.y[i] ?? null
    })
    return out
  })
  return [xs, ...ys]
}

/** A histogram of integer values (staleness) as bars: value → count, 0 through the largest value seen. */
export function histogram(counts: ReadonlyMap<number, number> | Record<number, number>): Series {
  const entries: Array<[number, number]> =
    counts instanceof Map ? [...counts.entries()] : Object.entries(counts).map(([k, v]) => [Number(k), v as number])
  const max = entries.reduce((m, [k]) => Math.max(m, k), -1)
  const x = Array.from({ length: max + 1 }, (_, i) => i)
  const y = x.map(() => 0)
  for (const [k, v] of entries) if (k >= 0) y[k] = (y[k] ?? 0) + v
  return { x, y }
}

/** Rows of metrics as CSV (RFC 4180 quoting); columns are the union of keys in first-seen order. */
export function toCsv(rows: ReadonlyArray<Record<string, string | number | boolean | null | undefined>>): string {
  const columns: string[] = []
  const seen = new Set<string>()
  for (const r of rows)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k)
        columns.push(k)
      }
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return ''
    const s = String(v)
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n'
}
