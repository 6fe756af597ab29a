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
    let list = this.lists.get(code)
    if (!list) {
      list = new OffenderList(this.cap)
      this.lists.set(code, list)
    }
    list.add(offender)
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
}
