/**
 * Work on many items a few at a time, results taken in the items' order: the demo
 * generator and the importer encode or check images ahead of a shard writer, which must
 * write samples in a fixed order; the dataset registry stats and indexes shards ahead of
 * numbering their samples split by split.
 */

/**
 * Runs `make(0)` … `make(count − 1)` with at most `limit` running at once and hands each
 * result to `consume` in index order. The next `make` starts only when a result is taken,
 * so no more than `limit` results are ever held (images waiting for a slow writer do not
 * pile up). The first failure, of a `make` or a `consume`, rejects the whole; makes still
 * running then finish on their own and their results or failures are dropped.
 */
export async function forEachOrdered<R>(
  count: number,
  limit: number,
  make: (index: number) => Promise<R>,
  consume: (result: R, index: number) => Promise<void> | void
): Promise<void> {
  const running: Promise<R>[] = []
  let next = 0
  const launch = (): void => {
    const result = make(next++)
    result.catch(() => undefined) // awaited below in order; this only keeps Node from calling it unhandled meanwhile
    running.push(result)
  }
  while (next < count && running.length < Math.max(1, limit)) launch()
  for (let i = 0; i < count; i++) {
    const result = await running.shift()!
    if (next < count) launch()
    await consume(result, i)
  }
}
