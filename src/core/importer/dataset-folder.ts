/**
 * The output folder of make-demo and import: refused when it holds someone else's
 * files, cleared of our own previous output when it is an earlier ShardScope dataset,
 * and written atomically (temporary file in the same folder, then rename).
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MANIFEST_FILE, parseManifest, type DatasetManifest } from '../../shared/manifest'

/** Files and folders make-demo and import write at the top of a dataset folder. */
export const DATASET_OUTPUTS = [MANIFEST_FILE, 'faults.json', 'wnids.txt', 'words.txt', 'train', 'val', 'remote', '.shardscope-recipe.json']

export class OutputFolderRefused extends Error {}

/**
 * Make `dir` ready for a new dataset: create it if missing; if it is an earlier
 * ShardScope dataset (a valid dataset.json), remove what we wrote before; refuse any
 * other non-empty folder, saying why, rather than mixing our shards with the user's files.
 */
export async function prepareDatasetFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const entries = await readdir(dir)
  if (entries.length === 0) return
  if (!entries.includes(MANIFEST_FILE)) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '')
    throw new OutputFolderRefused(`${dir} is not empty (${shown}) and is not a ShardScope dataset (no ${MANIFEST_FILE}); choose an empty or new folder`)
  }
  const parsed = parseManifest(await readFile(join(dir, MANIFEST_FILE), 'utf8'))
  if (!parsed.ok) {
    throw new OutputFolderRefused(`${dir} holds a ${MANIFEST_FILE} that ShardScope did not write (${parsed.error}); choose an empty or new folder`)
  }
  const foreign = entries.filter((e) => !DATASET_OUTPUTS.includes(e) && !e.startsWith('.'))
  if (foreign.length > 0) {
    throw new OutputFolderRefused(`${dir} is a ShardScope dataset but also holds ${foreign.slice(0, 3).join(', ')}; move those away or choose a new folder`)
  }
  for (const e of entries) if (DATASET_OUTPUTS.includes(e) || e.startsWith('.shardscope')) await rm(join(dir, e), { recursive: true, force: true })
}

/** Write a file atomically: a reader sees the old content or the new, never half. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, content)
  await rename(tmp, path)
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
