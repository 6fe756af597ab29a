import { describe, expect, it } from 'vitest'
import { alignSeries, downsampleMinMax, histogram, toCsv } from './series'

const ramp = (n: number) => ({ x: Array.from({ length: n }, (_, i) => i), y: Array.from({ length: n }, (_, i) => Math.sin(i / 50)) })

describe('downsampleMinMax', () => {
  it('leaves a short series as it is', () => {
    const s = ramp(100)
    expect(downsampleMinMax(s, 1000)).toBe(s)
  })
  it('cuts 100,000 points to at most the budget, x still ascending', () => {
    const d = downsampleMinMax(ramp(100_000), 2000)
    expect(d.x.length).toBeLessThanOrEqual(2000)
    expect(d.x.length).toBeGreaterThan(1000)
    for (let i = 1; i < d.x.length; i++) expect(d.x[i]!).toBeGreaterThan(d.x[i - 1]!)
  })
  it('keeps a single spike that averaging would hide', () => {
    const s = ramp(50_000)
    s.y[31_337] = 2_500_000
    const d = downsampleMinMax(s, 500)
    expect(Math.max(...(d.y as number[]))).toBe(2_500_000)
    expect(d.x[d.y.indexOf(2_500_000)]).toBe(31_337)
  })
  it('keeps the global minimum and maximum of the series', () => {
    const s = ramp(10_000)
    const d = downsampleMinMax(s, 300)
    const vals = d.y.filter((v): v is number => v !== null)
    expect(Math.min(...vals)).toBe(Math.min(...(s.y as number[])))
    expect(Math.max(...vals)).toBe(Math.max(...(s.y as number[])))
  })
  it('a bucket of missing values becomes one gap', () => {
    const s = { x: Array.from({ length: 100 }, (_, i) => i), y: Array.from({ length: 100 }, (_, i) => (i >= 20 && i < 40 ? null : i)) }
    const d = downsampleMinMax(s, 20)
    expect(d.y.filter((v) => v === null).length).toBeGreaterThan(0)
  })
})

describe('alignSeries', () => {
  it('puts runs or workers reporting at different steps on one x axis with nulls where one has no point', () => {
    const a = { x: [1, 2, 4], y: [10, 9, 7] }
    const b = { x: [2, 3], y: [5, 4] }
    expect(alignSeries([a, b])).toEqual([
      [1, 2, 3, 4],
      [10, 9, null, 7],
      [null, 5, 4, null]
    ])
  })
  it('an empty run adds an all-null series', () => {
    expect(alignSeries([{ x: [0, 1], y: [1, 2] }, { x: [], y: [] }])).toEqual([
      [0, 1],
      [1, 2],
      [null, null]
    ])
  })
})

describe('histogram', () => {
  it('counts staleness 0..max with zeros for values never seen', () => {
    expect(histogram(new Map([[0, 5], [3, 2]]))).toEqual({ x: [0, 1, 2, 3], y: [5, 0, 0, 2] })
    expect(histogram({ 1: 4 })).toEqual({ x: [0, 1], y: [0, 4] })
  })
})

describe('toCsv', () => {
  it('writes a header of every key and quotes cells that need it', () => {
    expect(toCsv([{ step: 1, loss: 2.5 }, { step: 2, worker: 'w,1', note: 'say "hi"' }])).toBe(
      'step,loss,worker,note\n1,2.5,,\n2,,"w,1","say ""hi"""\n'
    )
  })
})
