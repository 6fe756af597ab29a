import { describe, expect, it } from 'vitest'
import { forEachOrdered } from './ordered'

/** A promise settled from outside, so a test decides the order in which work finishes. */
function settleLater<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets every callback already queued run (no clock involved). */
const settle = () => new Promise<void>((done) => setImmediate(done))

describe('forEachOrdered', () => {
  it('hands results to consume in index order when later items finish first', async () => {
    const pending = Array.from({ length: 5 }, () => settleLater<string>())
    const consumed: [string, number][] = []
    const all = forEachOrdered(
      5,
      5,
      (i) => pending[i]!.promise,
      (result, i) => {
        consumed.push([result, i])
      }
    )
    for (const i of [4, 2, 3, 0, 1]) pending[i]!.resolve(`item ${i}`)
    await all
    expect(consumed).toEqual([0, 1, 2, 3, 4].map((i) => [`item ${i}`, i]))
  })

  it('runs at most `limit` at once and starts the next only when a result is taken', async () => {
    const pending = Array.from({ length: 6 }, () => settleLater<number>())
    const started: number[] = []
    const all = forEachOrdered(
      6,
      2,
      (i) => {
        started.push(i)
        return pending[i]!.promise
      },
      () => undefined
    )
    await settle()
    expect(started).toEqual([0, 1])
    // Item 1 done but item 0 not yet taken: nothing new starts, so results never pile up.
    pending[1]!.resolve(1)
    await settle()
    expect(started).toEqual([0, 1])
    pending[0]!.resolve(0)
    await settle()
    expect(started).toEqual([0, 1, 2, 3])
    for (const i of [2, 3, 4, 5]) pending[i]!.resolve(i)
    await all
    expect(started).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('rejects with the first failure in index order, after consuming the results before it', async () => {
    const consumed: number[] = []
    const run = forEachOrdered(
      4,
      4,
      // Item 3 fails while item 1 is still awaited: that must not surface as an unhandled rejection.
      (i) => (i === 1 ? Promise.reject(new Error('item 1 is broken')) : i === 3 ? Promise.reject(new Error('item 3 is broken')) : Promise.resolve(i)),
      (result) => {
        consumed.push(result)
      }
    )
    await expect(run).rejects.toThrow('item 1 is broken')
    expect(consumed).toEqual([0])
  })

  it('rejects with the failure of consume and takes no further results', async () => {
    const consumed: number[] = []
    const run = forEachOrdered(
      5,
      2,
      async (i) => i,
      (result) => {
        if (result === 2) throw new Error('the writer refused item 2')
        consumed.push(result)
      }
    )
    await expect(run).rejects.toThrow('the writer refused item 2')
    expect(consumed).toEqual([0, 1])
  })

  it('never calls make or consume for no items', async () => {
    let calls = 0
    await forEachOrdered(
      0,
      3,
      async () => ++calls,
      () => {
        calls++
      }
    )
    expect(calls).toBe(0)
  })
})
