/**
 * Making folders a user named (a runs folder, a state folder, an import's output).
 */
import { mkdir, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

/**
 * `mkdir -p` that always ends. Node's own (`mkdir(path, { recursive: true })`) spins at
 * full CPU for ever on a path whose parent exists but answers ENOENT to a new folder,
 * as anything under /proc does: it reads ENOENT as "parent missing", makes the parent
 * (EEXIST), and tries again (seen on Node 20; the same loop was reported to Bun as
 * oven-sh/bun#40600). Here the missing levels are found first and made one at a time,
 * so the first refusal is the error, with the path it was for.
 */
export async function makeFolder(path: string): Promise<void> {
  const missing: string[] = []
  for (let p = resolve(path); ; p = dirname(p)) {
    const found = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null
      throw err
    })
    if (found) {
      // A file where a folder is needed: mkdir's own EEXIST, naming it.
      if (!found.isDirectory()) await mkdir(p)
      break
    }
    missing.push(p)
    if (dirname(p) === p) break
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir)
    } catch (err) {
      // Made meanwhile by someone else is as good as made here.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw err
    }
  }
}
