/**
 * Writing a file so that a reader sees the old content or the new, never half: the bytes go
 * to a temporary file beside it, which is then renamed over it. Reports, indexes, caches,
 * manifests, run summaries and checkpoints are all written this way, through this module.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { makeFolder } from './folders'
import { basename, dirname, join } from 'node:path'

/** Temporary files written by this process so far: two writes of one file never share one. */
let writes = 0

/**
 * Writes `content` to `path` atomically, creating its folder if need be. A failure is thrown as
 * the file system's error, naming `path`: the temporary file is ours, not something the user
 * gave (`--json out/` where out/ is a folder fails in the rename, against the temporary name).
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const folder = dirname(path)
  const tmp = temporaryPath(path)
  try {
    await makeFolder(folder)
    await writeFile(tmp, content)
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true })
    throw namingPath(error, tmp, path)
  }
}

/**
 * writeFileAtomic in one go, for a file that must be whole even when the process ends the
 * next moment (a run's summary on a second Ctrl-C), its writes landing in the order made.
 * Its folder must exist.
 */
export function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  const tmp = temporaryPath(path)
  try {
    writeFileSync(tmp, content)
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, { force: true })
    throw namingPath(error, tmp, path)
  }
}

/** Hidden, ending in .<number>.tmp: as the importer (its own files) and a resumed run (leftovers to remove) recognise them. */
function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++writes}.tmp`)
}

/** The file system's error, naming the user's path rather than our temporary file. */
function namingPath(error: unknown, tmp: string, path: string): unknown {
  const err = error as NodeJS.ErrnoException
  if (err.path === tmp) {
    err.path = path
    err.message = err.message.replaceAll(tmp, path)
  }
  return err
}
