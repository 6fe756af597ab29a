import type { OffendingSample } from '../../shared/contract/verify'

/**
 * A capped list of offending samples plus the full count: the report names the first
 * few and counts them all, so memory stays bounded on any dataset.
 */
export class OffenderList {
  readonly items: OffendingSample[] = []
  count = 0

  constructor(private readonly cap: number) {}

  add(offender: OffendingSample): void {
    this.count++
    if (this.items.length < this.cap) this.items.push(offender)
  }

  /** Forget an offender already counted (e.g. the half sample at a truncation point, reported by the truncation instead). */
  remove(match: (o: OffendingSample) => boolean): void {
    const i = this.items.findIndex(match)
    if (i >= 0) {
      this.items.splice(i, 1)
      this.count--
    }
  }
}

/** Offender lists by finding code, created on first use. */
export class OffenderBook {
  private readonly lists = new Map<string, OffenderList>()

  constructor(private readonly cap: number) {}

  add(code: string, offender: OffendingSample): void {
    this.list(code).add(offender)
  }

  private list(code: string): OffenderList {
    let list = this.lists.get(code)
    if (!list) {
      list = new OffenderList(this.cap)
      this.lists.set(code, list)
    }
    return list
  }

  get(code: string): OffenderList | undefined {
    const list = this.lists.get(code)
    return list && list.count > 0 ? list : undefined
  }

  codes(): string[] {
    return [...this.lists.keys()].filter((c) => (this.lists.get(c)?.count ?? 0) > 0)
  }

  removeEverywhere(match: (o: OffendingSample) => boolean): void {
    for (const list of this.lists.values()) list.remove(match)
  }

  /** Plain data (to cross from a worker thread): code → listed offenders and full count. */
  toRecord(): Record<string, { items: OffendingSample[]; count: number }> {
    const out: Record<string, { items: OffendingSample[]; count: number }> = {}
    for (const [code, list] of this.lists) if (list.count > 0) out[code] = { items: list.items, count: list.count }
    return out
  }

  /** Adds another book's offenders (a shard's) after this one's. */
  merge(record: Record<string, { items: OffendingSample[]; count: number }>): void {
    for (const [code, { items, count }] of Object.entries(record)) {
      const list = this.list(code)
      for (const item of items) list.add(item)
      list.count += count - items.length
    }
  }
}
