/**
 * The output folder of make-demo and import: refused when it holds someone else's
 * files; an earlier ShardScope dataset there is replaced only once the new one is
 * complete (written into a staging folder beside it, then swapped in), so an error or
 * Ctrl-C midway leaves the old dataset as it was; files are written atomically
 * (temporary file in the same folder, then rename).
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { makeFolder } from '../folders'
import { MANIFEST_FILE, parseManifest, type DatasetManifest } from '../../shared/manifest'
import { writeFileAtomic } from '../atomic-write'

/** Files and folders make-demo and import write at the top of a dataset folder. */
export const DATASET_OUTPUTS = [MANIFEST_FILE, 'faults.json', 'wnids.txt', 'words.txt', 'train', 'val', 'remote', '.shardscope-recipe.json']

export class OutputFolderRefused extends Error {}

/** Where a writer of `dir` in this process stages the new dataset. */
export function stagingFolder(dir: string): string {
  return join(dir, `.shardscope-staging-${process.pid}`)
}

/** What a staging or swap of another (or a killed) process left in a dataset folder: `.shardscope-staging-PID`, `.shardscope-replaced-PID`. */
const LEFTOVER = /^\.shardscope-(staging|replaced)-(\d+)$/
/** Files our writers put in train/, val/ and remote/: shards, and their temporary files while being written. */
const OWN_SHARD_FILE = /^(?:[A-Za-z0-9_]+-\d+\.(?:tar|tar\.gz|tgz)|\..+\.\d+\.tmp)$/

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Files under a split folder that ShardScope did not write there (relative to the dataset folder). */
async function foreignFilesIn(dir: string, name: string, depth = 0): Promise<string[]> {
  const entries = await readdir(join(dir, name), { withFileTypes: true }).catch(() => [])
  const foreign: string[] = []
  for (const e of entries) {
    const path = `${name}/${e.name}`
    // remote/ holds a copy's split folders (remote/val/…); train/ and val/ hold shards only.
    if (e.isDirectory() && depth === 0 && name === 'remote') foreign.push(...(await foreignFilesIn(dir, path, 1)))
    else if (!e.isFile() || !OWN_SHARD_FILE.test(e.name)) foreign.push(e.isDirectory() ? `${path}/` : path)
  }
  return foreign
}

/**
 * Refuses `dir` unless it is new, empty, or an earlier ShardScope dataset holding only
 * what ShardScope wrote (top level and in its split folders), saying what is in the way;
 * creates it when missing. Removes what a killed writer left; refuses while another
 * process is writing into it.
 */
async function checkDatasetFolder(dir: string): Promise<void> {
  await makeFolder(dir)
  let entries = await readdir(dir)
  let manifestAt: string | null = entries.includes(MANIFEST_FILE) ? join(dir, MANIFEST_FILE) : null
  for (const name of entries) {
    const leftover = LEFTOVER.exec(name)
    if (!leftover) continue
    const pid = Number(leftover[2])
    if (pid !== process.pid && isRunning(pid)) throw new OutputFolderRefused(`another ShardScope process (pid ${pid}) is writing a dataset into ${dir}; wait for it or choose another folder`)
    // A swap cut short after the old manifest was moved aside: the folder is still ours.
    if (leftover[1] === 'replaced' && !manifestAt && existsSync(join(dir, name, MANIFEST_FILE))) manifestAt = join(dir, name, MANIFEST_FILE)
  }
  const manifestText = manifestAt ? await readFile(manifestAt, 'utf8') : null
  for (const name of entries) if (LEFTOVER.test(name)) await rm(join(dir, name), { recursive: true, force: true })
  entries = entries.filter((e) => !LEFTOVER.test(e))
  if (entries.length === 0) return
  if (manifestText === null) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '')
    throw new OutputFolderRefused(`${dir} is not empty (${shown}) and is not a ShardScope dataset (no ${MANIFEST_FILE}); choose an empty or new folder`)
  }
  const parsed = parseManifest(manifestText)
  if (!parsed.ok) {
    throw new OutputFolderRefused(`${dir} holds a ${MANIFEST_FILE} that ShardScope did not write (${parsed.error}); choose an empty or new folder`)
  }
  const foreign = entries.filter((e) => !DATASET_OUTPUTS.includes(e) && !e.startsWith('.'))
  for (const split of ['train', 'val', 'remote']) if (entries.includes(split)) foreign.push(...(await foreignFilesIn(dir, split)))
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '')
    throw new OutputFolderRefused(`${dir} is a ShardScope dataset but also holds ${shown}, which ShardScope did not write and would replace; move those away or choose a new folder`)
  }
}

/**
 * Writes a dataset into `dir` (make-demo, import): `write` fills a staging folder inside
 * `dir`; once it has returned, the earlier dataset's files are moved aside, the new ones
 * moved in (dataset.json last) and the old ones deleted, a few renames. If `write` throws,
 * the staging folder is removed and `dir` is left as it was. A process killed midway
 * leaves its staging folder, which the next writer removes.
 */
export async function writeDatasetFolder<T>(dir: string, write: (staging: string) => Promise<T>): Promise<T> {
  await checkDatasetFolder(dir)
  const staging = stagingFolder(dir)
  await mkdir(staging)
  let result: T
  try {
    result = await write(staging)
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    throw err
  }
  const replaced = join(dir, `.shardscope-replaced-${process.pid}`)
  await mkdir(replaced)
  // The old manifest goes first and the new one comes last, so the folder never names shards it does not hold.
  for (const name of [MANIFEST_FILE, ...DATASET_OUTPUTS.filter((n) => n !== MANIFEST_FILE)]) {
    if (existsSync(join(dir, name))) await rename(join(dir, name), join(replaced, name))
  }
  const incoming = await readdir(staging)
  for (const name of incoming) if (name !== MANIFEST_FILE) await rename(join(staging, name), join(dir, name))
  if (incoming.includes(MANIFEST_FILE)) await rename(join(staging, MANIFEST_FILE), join(dir, MANIFEST_FILE))
  await rm(staging, { recursive: true, force: true })
  await rm(replaced, { recursive: true, force: true })
  return result
}

export async function writeManifest(dir: string, manifest: DatasetManifest): Promise<void> {
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n')
}

/** `prefix-{000000..00000N}.tar` for N+1 shards (or the single name for one), relative to the dataset folder. */
export function shardPattern(folder: string, prefix: string, shards: number): string {
  if (shards <= 1) return `${folder}/${prefix}-000000.tar`
  return `${folder}/${prefix}-{000000..${String(shards - 1).padStart(6, '0')}}.tar`
}

/** Running per-channel sums of pixels scaled to [0, 1], for dataset.json's normalisation. */
export class PixelStatistics {
  private sum: [number, number, number] = [0, 0, 0]
  private sumSquares: [number, number, number] = [0, 0, 0]
  private count = 0

  /** Add interleaved RGB bytes (or RGBA with `channels` 4: alpha ignored). */
  add(rgb: Uint8Array, channels: 3 | 4 = 3): void {
    let sr = 0, sg = 0, sb = 0, qr = 0, qg = 0, qb = 0
    for (let i = 0; i + 2 < rgb.length; i += channels) {
      const r = rgb[i]!
      const g = rgb[i + 1]!
      const b = rgb[i + 2]!
      sr += r
      sg += g
      sb += b
      qr += r * r
      qg += g * g
      qb += b * b
    }
    this.sum = [this.sum[0] + sr, this.sum[1] + sg, this.sum[2] + sb]
    this.sumSquares = [this.sumSquares[0] + qr, this.sumSquares[1] + qg, this.sumSquares[2] + qb]
    this.count += Math.floor(rgb.length / channels)
  }

  get pixels(): number {
    return this.count
  }

  /** Mean and standard deviation per channel, rounded to 4 decimals (torchvision style: of pixels / 255). */
  result(): DatasetManifest['normalization'] {
    const n = Math.max(1, this.count)
    const channel = (c: 0 | 1 | 2): [number, number] => {
      const mean = this.sum[c] / n / 255
      const std = Math.sqrt(Math.max(0, this.sumSquares[c] / n / 65025 - mean * mean))
      return [Math.round(mean * 1e4) / 1e4, Math.round(std * 1e4) / 1e4 || 1]
    }
    const [r, g, b] = [channel(0), channel(1), channel(2)]
    return { mean: [r[0], g[0], b[0]], std: [r[1], g[1], b[1]] }
  }
}
