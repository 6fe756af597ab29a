/**
 * A uPlot chart fed from a run's series. The chart is created once per set of series
 * and updated with setData when `rev` changes; every series is downsampled to about
 * two points per pixel first, so a run of a million steps draws as fast as a short one.
 */
import { useEffect, useLayoutEffect, useRef } from 'react'
import uPlot from 'uplot'
import { alignSeries, downsampleMinMax, type Series } from './series'

export interface ChartLine {
  label: string
  color: string
  series: Series
  dash?: boolean
}

interface ChartProps {
  title: string
  testId: string
  lines: ChartLine[]
  rev: number
  xLabel: string
  yLabel?: string
  bars?: boolean
  logY?: boolean
  /** The x axis counts whole things (steps, versions): ticks at whole numbers only. */
  integerX?: boolean
  height?: number
}

/** Tick steps for an axis of whole numbers: 1, 2, 5, 10, 20, 50, … */
const integerSteps = Array.from({ length: 27 }, (_, i) => [1, 2, 5][i % 3]! * 10 ** Math.floor(i / 3))

export const palette = ['#1e88e5', '#ef6c00', '#43a047', '#8e24aa', '#e53935', '#00897b', '#6d4c41', '#3949ab']

export function Chart({ title, testId, lines, rev, xLabel, yLabel, bars, logY, integerX, height = 200 }: ChartProps): React.JSX.Element {
  const holder = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const signature = lines.map((l) => `${l.label}|${l.color}|${l.dash ? 1 : 0}`).join(';') + (bars ? 'bars' : '') + (logY ? 'log' : '')
  const linesRef = useRef(lines)
  useLayoutEffect(() => {
    linesRef.current = lines
  })

  const dataOf = (width: number): uPlot.AlignedData => {
    const budget = Math.max(200, Math.round(width * 2))
    return alignSeries(linesRef.current.map((l) => downsampleMinMax(l.series, budget))) as uPlot.AlignedData
  }

  useEffect(() => {
    const el = holder.current
    if (!el) return
    const width = Math.max(300, el.clientWidth)
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      // Bars stand on zero: a count axis that starts at the smallest count hides most of each bar.
      scales: { x: { time: false, ...(bars ? { range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [min - 0.5, max + 0.5] } : {}) }, ...(logY ? { y: { distr: 3 } } : bars ? { y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1] } } : {}) },
      axes: [
        { label: xLabel, size: 36, labelSize: 14, ...(integerX ? { incrs: integerSteps } : {}) },
        { label: yLabel, size: 52, labelSize: 14 }
      ],
      series: [
        { label: xLabel },
        ...linesRef.current.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: 1.5,
          spanGaps: true,
          // A line needs two points: a series of one (a run stopped after its first validation) shows as a dot.
          points: { show: (_u: uPlot, seriesIdx: number) => linesRef.current[seriesIdx - 1]?.series.x.length === 1 },
          ...(l.dash ? { dash: [6, 4] } : {}),
          ...(bars ? { fill: `${l.color}88`, paths: uPlot.paths.bars!({ size: [0.8, 40] }) } : {})
        }))
      ]
    }
    const u = new uPlot(opts, dataOf(width), el)
    plot.current = u
    const ro = new ResizeObserver(() => {
      const w = Math.max(300, el.clientWidth)
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height })
    })
    ro.observe(el)
    return () => {
      ro.disconnect()
      u.destroy()
      plot.current = null
    }
    // The chart is rebuilt only when its series set changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature, height, xLabel, yLabel, integerX])

  useEffect(() => {
    const u = plot.current
    if (u) u.setData(dataOf(u.width))
  }, [rev, lines])

  const points = lines.reduce((n, l) => n + l.series.x.length, 0)
  return (
    <section className="chart-card" data-testid={testId} data-points={points}>
      <header>
        <h4>{title}</h4>
        <button title="Save this chart as a PNG image" onClick={() => plot.current && exportPng(plot.current, title, linesRef.current)}>
          PNG
        </button>
      </header>
      <div className="chart-holder" ref={holder}>
        {points === 0 && <div className="chart-empty muted small">No points yet</div>}
      </div>
    </section>
  )
}

/** The chart canvas (axes and lines) on white with its title and a legend of its lines, as a PNG download. */
function exportPng(u: uPlot, title: string, lines: readonly ChartLine[]): void {
  const src = u.ctx.canvas
  const out = document.createElement('canvas')
  const px = devicePixelRatio
  const pad = 28 * px
  const legend = lines.length > 0 ? 22 * px : 0
  out.width = src.width
  out.height = src.height + pad + legend
  const ctx = out.getContext('2d')!
  ctx.fillStyle = '#fff'
  ctx.fillRect(0, 0, out.width, out.height)
  ctx.fillStyle = '#1d2330'
  ctx.font = `${14 * px}px system-ui, sans-serif`
  ctx.fillText(title, 10 * px, 19 * px)
  ctx.drawImage(src, 0, pad)
  // The legend under the plot: a swatch in each line's colour (dashed lines drawn dashed) and its label.
  ctx.font = `${12 * px}px system-ui, sans-serif`
  let x = 10 * px
  const y = pad + src.height + 14 * px
  for (const line of lines) {
    ctx.strokeStyle = line.color
    ctx.lineWidth = 2 * px
    ctx.setLineDash(line.dash ? [6 * px, 4 * px] : [])
    ctx.beginPath()
    ctx.moveTo(x, y - 4 * px)
    ctx.lineTo(x + 18 * px, y - 4 * px)
    ctx.stroke()
    ctx.fillStyle = '#1d2330'
    ctx.fillText(line.label, x + 24 * px, y)
    x += 24 * px + ctx.measureText(line.label).width + 16 * px
  }
  download(out.toDataURL('image/png'), `${title.replace(/[^\w-]+/g, '-').toLowerCase()}.png`)
}

export function download(href: string, filename: string): void {
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
}
