/**
 * The webdataset rule that turns tar members into samples (`tariterators.py`:
 * `base_plus_ext` + `group_by_keys`): the key is the member path up to the first dot of
 * its basename, the rest is the field, lower-cased; consecutive members with the same key
 * form one sample. We follow the library where it is lenient and report what it hides:
 * members that are not regular files, names that would escape a folder, keys that come
 * back after other keys (non-adjacent), fields that repeat within a sample.
 */
import type { ReadProblem, TarMember } from './types'

/** `dir.v1/a.seg.PNG` → { key: 'dir.v1/a', field: 'seg.png' }; null when the basename has no dot. */
export function splitMemberName(name: string): { key: string; field: string } | null {
  const slash = name.lastIndexOf('/')
  const dot = name.indexOf('.', slash + 1)
  // The key's basename must be non-empty (webdataset's `[^.]+`): `.hidden` has no key.
  if (dot <= slash + 1) return null
  return { key: name.slice(0, dot), field: name.slice(dot + 1).toLowerCase() }
}

/** True for names we would never write to as paths: absolute, or with a `..` component. */
export function isDangerousName(name: string): boolean {
  // Cheap test first: this runs for every member, and almost every name passes it.
  if (name.charCodeAt(0) !== 47 /* / */ && name.charCodeAt(1) !== 58 /* : */ && !name.includes('..')) return false
  return name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) || /(^|[\\/])\.\.([\\/]|$)/.test(name)
}

/** webdataset skips `__*__` members at the top level (archive metadata, not samples). */
function isMetadataMember(name: string): boolean {
  return !name.includes('/') && name.startsWith('__') && name.endsWith('__')
}

export interface GroupedSample<T> {
  key: string
  indexInShard: number
  fields: Record<string, T>
}

/**
 * Feeds members in tar order, hands out each sample once its last member has passed.
 * `T` is what a field carries: bytes when reading, [offset, size] when indexing.
 */
export class SampleGrouper<T> {
  private current: GroupedSample<T> | null = null
  private readonly seenKeys = new Set<string>()
  private count = 0
  readonly problems: ReadProblem[] = []

  constructor(
    private readonly url: string,
    private readonly onSample: (sample: GroupedSample<T>) => void,
    private readonly onProblem: (problem: ReadProblem) => void = () => {}
  ) {}

  private report(problem: Omit<ReadProblem, 'url'>): void {
    const full = { url: this.url, ...problem }
    this.problems.push(full)
    this.onProblem(full)
  }

  /**
   * Decide whether a member's data is wanted (call before reading its bytes): returns the
   * field name, or null for members that are skipped (and reported where it matters).
   */
  accept(member: Pick<TarMember, 'name' | 'type'>): { key: string; field: string } | null {
    const { name, type } = member
    if (type === 'directory') return null
    if (isDangerousName(name)) {
      this.report({ kind: 'dangerous-name', member: name, message: `member "${name}" has an absolute path or "..": read as data only, never written as a path` })
    }
    if (type !== 'file') {
      const what = type === 'symlink' ? 'a symbolic link' : type === 'link' ? 'a hard link' : type === 'other' ? 'a special file (device, FIFO or sparse)' : `a ${type}`
      this.report({ kind: 'not-regular-file', member: name, message: `member "${name}" is ${what}, not a regular file: skipped, as webdataset does` })
      return null
    }
    if (isMetadataMember(name)) return null
    const split = splitMemberName(name)
    if (!split || split.field === '') {
      const base = name.slice(name.lastIndexOf('/') + 1)
      const why = base.startsWith('.') ? 'its file name starts with "." (a hidden file), so it has no key' : base.endsWith('.') ? 'its file name ends in "."' : 'no "." in its file name'
      this.report({ kind: 'no-field', member: name, message: `member "${name}" is not named key.field (${why}): skipped` })
      return null
    }
    return split
  }

  /**
   * Start an accepted member (before reading its bytes, so the previous sample is handed
   * out even if these bytes never arrive), then `put` its value.
   */
  begin(key: string, field: string, memberName: string): void {
    const current = this.current
    if (current && current.key === key && field in current.fields) {
      this.report({ kind: 'duplicate-field', key, member: memberName, message: `sample "${key}" has field "${field}" twice: webdataset 0.2 stops there ("duplicate file name in tar file"), older versions start a new sample with the same key, as counted here` })
    }
    if (!current || current.key !== key || field in current.fields) {
      if (current) this.emit(current)
      if (this.seenKeys.has(key) && !(current && current.key === key)) {
        this.report({ kind: 'non-adjacent-key', key, member: memberName, message: `key "${key}" appears again after other keys: its members are not adjacent, so it is read as two samples` })
      }
      this.seenKeys.add(key)
      this.current = { key, indexInShard: this.count++, fields: {} }
    }
  }

  put(field: string, value: T): void {
    this.current!.fields[field] = value
  }

  add(key: string, field: string, value: T, memberName: string): void {
    this.begin(key, field, memberName)
    this.put(field, value)
  }

  /** Hand out the last sample. */
  finish(): void {
    if (this.current) this.emit(this.current)
    this.current = null
  }

  /**
   * The end of a shard's bytes, as judgeScanEnd saw it: hands out the sample being built
   * unless the bytes ran out inside one of its own members. (A reader that wants a member's
   * bytes meets that member only once they are all there, so the sample being built can be
   * the whole one before the cut.)
   */
  finishAtEnd(end: { lastSampleWhole: boolean; cutKey?: string }): void {
    if (end.lastSampleWhole || (end.cutKey !== undefined && this.current?.key !== end.cutKey)) this.finish()
  }

  get samples(): number {
    return this.count
  }

  private emit(sample: GroupedSample<T>): void {
    this.onSample(sample)
  }
}
