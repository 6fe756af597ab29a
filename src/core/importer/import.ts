/**
 * importImageFolder: image files on disk → WebDataset shards + dataset.json.
 *
 * Two source layouts:
 *  - Tiny ImageNet as downloaded: `wnids.txt` (its order defines class ids), `words.txt`
 *    (wnid<TAB>names), `train/<wnid>/images/*.JPEG`, `val/images/*.JPEG` with labels in
 *    `val/val_annotations.txt` (filename<TAB>wnid<TAB>bbox…). Validation is regrouped while
 *    writing shards; no image is copied into new folders.
 *  - Image folders, one subfolder per class (sorted names → ids, like torchvision's
 *    ImageFolder), either `SRC/train/<class>` + `SRC/val/<class>` or `SRC/<class>` (then a
 *    seeded fraction is held out for val).
 *
 * Image bytes are passed through unchanged, the field named by the file's lower-cased
 * extension (`.JPEG` → `jpg`), with two exceptions, each counted in the result: in a
 * folder of mixed formats the images not in the most common one are re-encoded into it
 * (so every sample has the one image field a loader's `to_tuple("jpg", "cls")` asks for),
 * and with `resize` images of another size are scaled to cover it and centre-cropped
 * (torchvision's Resize + CenterCrop), then re-encoded. Every image is decoded once to
 * check it; a bad one is reported by file name and left out, the rest imported.
 */
import type { Dirent } from 'node:fs'
import { readFile, readdir, realpath, stat } from 'node:fs/promises'
import { mkdir } from 'node:fs/promises'
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path'
import sharp from 'sharp'
import { decodeJpeg, readJpegHeader } from '../imaging/fast-jpeg'
import { imageSignature } from '../imaging/signature'
import { MANIFEST_VERSION, type DatasetManifest } from '../../shared/manifest'
import { forEachOrdered } from '../ordered'
import { parseWnids, parseWords, WNIDS_FILE, WORDS_FILE } from '../class-files'
import { ShardWriter, type ShardWritten } from '../wds/writer'
import { writeFileAtomic } from '../atomic-write'
import { PixelStatistics, shardPattern, stagingFolder, writeDatasetFolder, writeManifest } from './dataset-folder'

export interface ImportOptions {
  /** Most samples per shard (default 1,000). */
  shardMaxcount?: number
  /** Most bytes per shard (default 1 GB). */
  shardMaxsize?: number
  /** Shuffle seed (default 0). */
  seed?: number
  name?: string
  /** Share of images held out for val when the source has no val folder (default 0.1). */
  valFraction?: number
  /** Train images decoded into the normalisation statistics (default 2,000, chosen at random). */
  statisticsSamples?: number
  /** Images read and checked at once (default 16). */
  concurrency?: number
  /** Scale every image of another size to this one (cover, then centre crop). */
  resize?: { width: number; height: number }
  onProgress?: (progress: { done: number; total: number }) => void
}

export type SourceLayout = 'tiny-imagenet' | 'class-folders' | 'class-folders-split'

/** An image left out, named by its path relative to the source folder. */
export interface BadImage {
  file: string
  reason: string
}

export interface ImportResult {
  layout: SourceLayout
  manifest: DatasetManifest
  imported: { train: number; val: number }
  badImages: BadImage[]
  /** Images imported whose size or channel count differs from the dataset's imageShape. */
  oddShapes: { file: string; shape: [number, number, number] }[]
  /** Images written in another encoding than their file's: `from` format → the dataset's image field, how many were resized, and how many made RGB (greyscale, CMYK). */
  reencoded: { from: Record<string, number>; resized: number; madeRgb: number }
  shards: { train: ShardWritten[]; val: ShardWritten[] }
  seconds: number
}

/** The source folder cannot be imported at all (missing, empty, no classes). */
export class ImportRefused extends Error {}

/** Image files read, by extension: torchvision ImageFolder's IMG_EXTENSIONS that sharp decodes (TIFF is re-encoded). */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'])
const IMAGE_KINDS = [...IMAGE_EXTENSIONS].join(', ')
/** Image files ImageFolder would read (or users might expect read) that this build of sharp cannot decode: reported, not passed over. */
const UNREADABLE_IMAGE_EXTENSIONS = new Set(['.bmp', '.ppm', '.pgm', '.pbm', '.gif', '.heic', '.heif'])
/** Far above any real dataset image; stops a decompression bomb in an untrusted folder. */
const MAX_INPUT_PIXELS = 16384 * 16384

interface SourceImage {
  /** Absolute path. */
  path: string
  /** Relative to the source folder, for messages. */
  file: string
  label: number
  key: string
  field: string
}

interface SourcePlan {
  layout: SourceLayout
  classIds: string[]
  classNames: string[]
  train: SourceImage[]
  val: SourceImage[]
  bad: BadImage[]
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false
  )
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false
  )
}

function fieldOf(path: string): string {
  const ext = extname(path).slice(1).toLowerCase()
  return ext === 'jpeg' ? 'jpg' : ext === 'tif' ? 'tiff' : ext
}

/**
 * A key from a file name: its name without extension, with what webdataset would split on
 * (dots, slashes) and other punctuation made `_`; letters and digits of any script are kept,
 * so `猫/x0.jpg` stays traceable as `猫_x0`.
 */
function keyFrom(...parts: string[]): string {
  return parts.map((p) => p.normalize('NFC').replace(/[^\p{L}\p{N}_-]+/gu, '_')).join('_')
}

/**
 * The image files under `dir` (relative paths, sorted), in subfolders too and through
 * symbolic links, as torchvision's ImageFolder finds them (os.walk with followlinks); a
 * folder reached twice through links is read once. Hidden files and folders are passed
 * over; image files of a format that cannot be read, and folders that cannot be listed,
 * go to `skipped` with the reason.
 */
async function imagesIn(dir: string, skipped?: (relativePath: string, reason: string) => void): Promise<string[]> {
  const found: string[] = []
  const seen = new Set<string>()
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const real = await realpath(folder).catch(() => folder)
    if (seen.has(real)) return
    seen.add(real)
    let entries: Dirent[]
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (prefix !== '' || code !== 'ENOENT') skipped?.(prefix || '.', `cannot list this folder (${code ?? (err as Error).message}); its images are left out`)
      return
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const path = join(folder, e.name)
      // A symbolic link counts as what it points to; a broken one as nothing.
      const kind = e.isSymbolicLink() ? await stat(path).then((s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'), () => 'other') : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other'
      const ext = extname(e.name).toLowerCase()
      if (kind === 'dir') await walk(path, `${prefix}${e.name}/`)
      else if (kind === 'file' && IMAGE_EXTENSIONS.has(ext)) found.push(`${prefix}${e.name}`)
      else if (kind === 'file' && UNREADABLE_IMAGE_EXTENSIONS.has(ext)) skipped?.(`${prefix}${e.name}`, `${ext} images cannot be read here; convert them to PNG or JPEG to import them`)
    }
  }
  await walk(dir, '')
  return found.sort()
}

/** Folders directly in `dir` (through symbolic links too), sorted; hidden ones passed over. */
async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names: string[] = []
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) names.push(e.name)
  }
  return names.sort()
}

async function planTinyImageNet(src: string): Promise<SourcePlan> {
  const classIds = parseWnids(await readFile(join(src, WNIDS_FILE), 'utf8'))
  if (classIds.length === 0) throw new ImportRefused(`${join(src, WNIDS_FILE)} lists no classes`)
  const names = parseWords(await readFile(join(src, WORDS_FILE), 'utf8').catch(() => ''), new Set(classIds))
  const labelOf = new Map(classIds.map((id, i) => [id, i]))
  const bad: BadImage[] = []
  const train: SourceImage[] = []
  for (const [label, wnid] of classIds.entries()) {
    const dir = join(src, 'train', wnid, 'images')
    const files = await imagesIn(dir, (f, reason) => bad.push({ file: relative(src, join(dir, f)), reason }))
    if (files.length === 0) bad.push({ file: relative(src, dir), reason: `class ${wnid} from wnids.txt has no train images` })
    for (const f of files) {
      const path = join(dir, f)
      train.push({ path, file: relative(src, path), label, key: keyFrom(f.slice(0, -extname(f).length)), field: fieldOf(f) })
    }
  }
  for (const extra of await subfolders(join(src, 'train'))) {
    if (!labelOf.has(extra)) bad.push({ file: `train/${extra}`, reason: 'class folder not listed in wnids.txt' })
  }
  const val: SourceImage[] = []
  const valDir = join(src, 'val', 'images')
  /** Annotated file → its line. */
  const annotated = new Map<string, number>()
  // One listing instead of a stat per annotation line (10,000 in Tiny ImageNet).
  const present = new Set(await imagesIn(valDir, (f, reason) => bad.push({ file: relative(src, join(valDir, f)), reason })))
  const annotations = await readFile(join(src, 'val', 'val_annotations.txt'), 'utf8')
  for (const [n, line] of annotations.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue
    const [file, wnid] = line.split('\t')
    if (!file || wnid === undefined) {
      bad.push({ file: `val/val_annotations.txt:${n + 1}`, reason: `expected filename<TAB>wnid, found "${line.slice(0, 80)}"` })
      continue
    }
    const first = annotated.get(file)
    if (first !== undefined) {
      // webdataset would carry the image twice, possibly under two labels.
      bad.push({ file: `val/images/${file}`, reason: `listed again in val/val_annotations.txt (line ${n + 1}; first on line ${first}); the first is kept` })
      continue
    }
    annotated.set(file, n + 1)
    const label = labelOf.get(wnid.trim())
    if (label === undefined) {
      bad.push({ file: `val/images/${file}`, reason: `its class ${wnid.trim()} (val/val_annotations.txt line ${n + 1}) is not in wnids.txt` })
      continue
    }
    const path = join(valDir, file)
    if (!present.has(file)) {
      bad.push({ file: relative(src, path), reason: 'listed in val_annotations.txt but missing' })
      continue
    }
    val.push({ path, file: relative(src, path), label, key: keyFrom(file.slice(0, -extname(file).length)), field: fieldOf(file) })
  }
  for (const f of present) {
    if (!annotated.has(f)) bad.push({ file: `val/images/${f}`, reason: 'not listed in val_annotations.txt, so it has no label' })
  }
  return { layout: 'tiny-imagenet', classIds, classNames: classIds.map((id) => names.get(id) ?? id), train, val, bad }
}

async function listClassFolders(root: string, src: string, classes: string[], bad: BadImage[], keyPrefix: string[] = []): Promise<SourceImage[]> {
  const out: SourceImage[] = []
  for (const [label, cls] of classes.entries()) {
    const dir = join(root, cls)
    for (const f of await imagesIn(dir, (file, reason) => bad.push({ file: relative(src, join(dir, file)), reason }))) {
      const path = join(dir, f)
      out.push({ path, file: relative(src, path), label, key: keyFrom(...keyPrefix, cls, f.slice(0, -extname(f).length)), field: fieldOf(f) })
    }
  }
  return out
}

async function planClassFolders(src: string, valFraction: number, seed: number): Promise<SourcePlan> {
  const split = (await isDir(join(src, 'train'))) && (await isDir(join(src, 'val')))
  if (split) {
    const classes = await subfolders(join(src, 'train'))
    const bad: BadImage[] = []
    for (const extra of await subfolders(join(src, 'val'))) {
      if (!classes.includes(extra)) bad.push({ file: `val/${extra}`, reason: 'class folder has no train folder of the same name' })
    }
    return {
      layout: 'class-folders-split',
      classIds: classes,
      classNames: classes,
      train: await listClassFolders(join(src, 'train'), src, classes, bad),
      // val_ as in Tiny ImageNet: train/bird/0.jpg and val/bird/0.jpg must not share a key.
      val: await listClassFolders(join(src, 'val'), src, classes, bad, ['val']),
      bad
    }
  }
  const classes = await subfolders(src)
  const bad: BadImage[] = []
  const all = await listClassFolders(src, src, classes, bad)
  // Hold out the same share of every class, chosen by the seed.
  const order = shuffle(all, seed ^ 0x5a17)
  const val: SourceImage[] = []
  const train: SourceImage[] = []
  const seen = new Map<number, { n: number; total: number }>()
  for (const img of all) seen.set(img.label, { n: 0, total: (seen.get(img.label)?.total ?? 0) + 1 })
  for (const img of order) {
    const s = seen.get(img.label)!
    if (s.n < Math.round(s.total * valFraction)) {
      s.n++
      val.push(img)
    } else train.push(img)
  }
  // Kept as classes (the ids are the sorted folder names, as in torchvision's ImageFolder), but said: that class can never be learned.
  for (const [label, cls] of classes.entries()) if (!seen.has(label)) bad.push({ file: cls, reason: `class folder has no images (${IMAGE_KINDS}); class ${label} has no samples` })
  return { layout: 'class-folders', classIds: classes, classNames: classes, train, val, bad }
}

function shuffle<T>(items: T[], seed: number): T[] {
  // mulberry32, the same generator the demo uses; inlined to keep the importer free of the demo.
  let a = seed >>> 0
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Keys must be unique across the dataset; a clash gets `_2`, `_3`… */
function makeKeysUnique(images: SourceImage[]): void {
  const used = new Map<string, number>()
  for (const img of images) {
    const n = used.get(img.key) ?? 0
    used.set(img.key, n + 1)
    if (n > 0) {
      let candidate = `${img.key}_${n + 1}`
      while (used.has(candidate)) candidate += '_'
      used.set(candidate, 1)
      img.key = candidate
    }
  }
}

interface CheckedImage {
  image: SourceImage
  bytes?: Uint8Array
  shape?: [number, number, number]
  /** Decoded pixels, interleaved with `channels` per pixel (alpha ignored). */
  pixels?: { data: Uint8Array; channels: 3 | 4 }
  error?: string
  /**
   * Why the stored bytes cannot be passed through as they are, whatever the dataset's
   * field: not RGB (greyscale, CMYK: made RGB, as ImageFolder's convert("RGB") does), or
   * another format than the file's extension says.
   */
  mustReencode?: 'to-rgb' | 'format'
  /** The format the bytes hold, where the extension says another. */
  held?: string
  /** The source's format when the bytes were re-encoded. */
  reencodedFrom?: string
  resized?: boolean
  /** Made RGB from greyscale or CMYK. */
  madeRgb?: boolean
}

/** What an image must become: the dataset's one image field, and its size when resizing. */
interface ImageTarget {
  field: string
  resize?: { width: number; height: number }
}

/** Quality of re-encoded JPEG and WebP images: high, so a re-encoded image looks like its source. */
const REENCODE_QUALITY = 95

async function checkImage(image: SourceImage, wantPixels: boolean, target: ImageTarget): Promise<CheckedImage> {
  const checked = await decodeImage(image, wantPixels)
  if (checked.error || !checked.bytes || !checked.shape) return checked
  const resize = target.resize && (checked.shape[0] !== target.resize.height || checked.shape[1] !== target.resize.width) ? target.resize : undefined
  if (image.field === target.field && !resize && !checked.mustReencode) return checked
  try {
    // sRGB without alpha, as PIL's convert("RGB"): transparent pixels keep their colour (flattening made them black).
    let img = sharp(checked.bytes, { limitInputPixels: MAX_INPUT_PIXELS }).removeAlpha().toColourspace('srgb')
    if (resize) img = img.resize(resize.width, resize.height, { fit: 'cover', position: 'centre' })
    const bytes = await (target.field === 'png' ? img.png() : target.field === 'webp' ? img.webp({ quality: REENCODE_QUALITY }) : img.jpeg({ quality: REENCODE_QUALITY })).toBuffer()
    // Checked again as written: its shape (and pixels, for the statistics) are those of the new bytes.
    const again = await decodeImage({ ...image, field: target.field }, wantPixels, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length))
    return { ...again, image, reencodedFrom: checked.held ?? image.field, resized: resize !== undefined, madeRgb: checked.mustReencode === 'to-rgb' }
  } catch (err) {
    return { image, error: `cannot re-encode as ${target.field}: ${(err as Error).message.split('\n')[0]}` }
  }
}

async function decodeImage(image: SourceImage, wantPixels: boolean, given?: Uint8Array): Promise<CheckedImage> {
  let bytes: Uint8Array
  try {
    bytes = given ?? (await readFile(image.path))
  } catch (err) {
    return { image, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }
  }
  if (bytes.length === 0) return { image, error: 'empty file (0 bytes)' }
  const signature = imageSignature(bytes)
  // The held format as a field name (a JPEG is stored as .jpg); unknown bytes are taken at their name's word.
  const format = signature === 'jpeg' ? 'jpg' : (signature ?? image.field)
  // Another format than the extension says (a PNG named .jpg): read as what it is, written as what its field says.
  const misnamed = format !== image.field
  // CMYK (print) JPEGs, four components in their frame header, are beyond the fast decoder;
  // libjpeg through sharp reads them, and they are made RGB.
  const header = format === 'jpg' ? readJpegHeader(bytes) : null
  if (header?.components === 4) {
    const cmyk = await decodeWithSharp(image, bytes, wantPixels)
    return cmyk.error ? cmyk : { ...cmyk, mustReencode: 'to-rgb', held: misnamed ? format : undefined }
  }
  if (format === 'jpg') {
    // The imaging module's WASM decoder: ≈ 6,000 small JPEGs/s against sharp's ≈ 800–1,300 (DESIGN.md).
    try {
      const d = await decodeJpeg(bytes, { maxPixels: MAX_INPUT_PIXELS, header })
      const shape: [number, number, number] = [d.height, d.width, d.components === 1 ? 1 : 3]
      const mustReencode = d.components === 1 ? 'to-rgb' : misnamed ? 'format' : undefined
      return { image, bytes, shape, pixels: wantPixels ? { data: d.rgba, channels: 4 } : undefined, mustReencode, held: misnamed ? format : undefined }
    } catch (err) {
      return { image, error: `not a decodable image: ${(err as Error).message.split('\n')[0]}` }
    }
  }
  const decoded = await decodeWithSharp(image, bytes, wantPixels)
  if (decoded.error || !decoded.shape) return decoded
  return { ...decoded, mustReencode: decoded.shape[2] !== 3 ? 'to-rgb' : misnamed ? 'format' : undefined, held: misnamed ? format : undefined }
}

async function decodeWithSharp(image: SourceImage, bytes: Uint8Array, wantPixels: boolean): Promise<CheckedImage> {
  try {
    const img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'truncated' })
    // Channels as stored (1 for greyscale, 4 for RGBA or CMYK); the decoded pixels below are always sRGB.
    const { channels = 3, space } = await img.metadata()
    const decoded = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
    const { width, height } = decoded.info
    const pixels = wantPixels ? { data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length), channels: 3 as const } : undefined
    const stored = space === 'cmyk' ? 4 : channels === 4 ? 3 : channels === 2 ? 1 : channels
    return { image, bytes, shape: [height, width, stored], pixels }
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!
    return { image, error: `not a decodable image: ${/libpng read error|premature end|truncated/i.test(message) ? `truncated or damaged (${message})` : message}` }
  }
}

/** Where a path that may not exist yet would be: its nearest existing folder's real path (symbolic links resolved), then the rest. */
async function realpathOfNew(path: string): Promise<string> {
  const real = await realpath(path).catch(() => null)
  if (real !== null) return real
  const parent = dirname(path)
  return parent === path ? path : join(await realpathOfNew(parent), basename(path))
}

export async function importImageFolder(src: string, out: string, options: ImportOptions = {}): Promise<ImportResult> {
  const t0 = performance.now()
  const seed = options.seed ?? 0
  const maxcount = options.shardMaxcount ?? 1000
  const maxsize = options.shardMaxsize ?? 1e9
  const concurrency = options.concurrency ?? 16
  const statisticsSamples = options.statisticsSamples ?? 2000
  const srcAbs = resolve(src)
  if (!(await isDir(srcAbs))) throw new ImportRefused(`${src} is not a folder`)
  const outAbs = resolve(out)
  const srcReal = await realpath(srcAbs)
  const outReal = await realpathOfNew(outAbs)
  if (outReal === srcReal || outReal.startsWith(srcReal + sep)) throw new ImportRefused(`the output folder ${out} is inside the source folder ${src}; choose one outside it`)

  const tiny = (await isFile(join(srcAbs, WNIDS_FILE))) && (await isFile(join(srcAbs, 'val', 'val_annotations.txt')))
  const plan = tiny ? await planTinyImageNet(srcAbs) : await planClassFolders(srcAbs, options.valFraction ?? 0.1, seed)
  if (plan.classIds.length === 0) throw new ImportRefused(`${src} has no class folders (expected SRC/<class>/*.jpg or the Tiny ImageNet layout)`)
  if (plan.train.length === 0) throw new ImportRefused(`${src} has no ${plan.layout === 'class-folders' ? '' : 'train '}images (${IMAGE_KINDS}) in its class folders`)
  // dataset.json needs a val split; an empty one would name a shard that does not exist.
  if (plan.val.length === 0) throw new ImportRefused(`${src} leaves no images for val; add a val folder or raise --val-fraction (now ${options.valFraction ?? 0.1})`)
  makeKeysUnique([...plan.train, ...plan.val])

  const total = plan.train.length + plan.val.length
  let done = 0
  const bad = [...plan.bad]
  const shapes = new Map<string, number>()
  const shapeOf: { file: string; shape: [number, number, number] }[] = []
  const stats = new PixelStatistics()
  // The image field of the dataset: the most common format among all source images.
  const fieldCounts = new Map<string, number>()
  for (const image of [...plan.train, ...plan.val]) fieldCounts.set(image.field, (fieldCounts.get(image.field) ?? 0) + 1)
  // Never TIFF, which training loaders do not decode: a folder of TIFFs becomes PNG (lossless).
  const imageField = [...fieldCounts.entries()].filter(([field]) => field !== 'tiff').sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? (fieldCounts.has('tiff') ? 'png' : 'jpg')
  const target: ImageTarget = { field: imageField, resize: options.resize }
  const reencoded: ImportResult['reencoded'] = { from: {}, resized: 0, madeRgb: 0 }

  // Everything is written beside the folder's current dataset, which is replaced only once this one is complete.
  const { train, val, manifest, h, w, c } = await writeDatasetFolder(outAbs, async (staging) => {
    await mkdir(join(staging, 'train'))
    await mkdir(join(staging, 'val'))
    const writeSplit = async (split: 'train' | 'val', images: SourceImage[]): Promise<{ shards: ShardWritten[]; imported: number }> => {
      const writer = new ShardWriter({ dir: join(staging, split), pattern: `${split}-%06d.tar`, maxcount, maxsize })
      const order = shuffle(images, seed + (split === 'train' ? 1 : 2))
      let imported = 0
      try {
        await forEachOrdered(
          order.length,
          concurrency,
          (i) => checkImage(order[i]!, split === 'train' && i < statisticsSamples, target),
          async (r) => {
            if (r.error || !r.bytes || !r.shape) bad.push({ file: r.image.file, reason: r.error ?? 'unreadable' })
            else {
              await writer.write({ key: r.image.key, fields: { [imageField]: r.bytes, cls: String(r.image.label) } })
              imported++
              if (r.reencodedFrom) {
                if (r.reencodedFrom !== imageField) reencoded.from[r.reencodedFrom] = (reencoded.from[r.reencodedFrom] ?? 0) + 1
                if (r.resized) reencoded.resized++
                if (r.madeRgb) reencoded.madeRgb++
              }
              const s = r.shape.join('×')
              shapes.set(s, (shapes.get(s) ?? 0) + 1)
              shapeOf.push({ file: r.image.file, shape: r.shape })
              if (r.pixels) stats.add(r.pixels.data, r.pixels.channels)
            }
            options.onProgress?.({ done: ++done, total })
          }
        )
      } catch (err) {
        await writer.abort()
        throw err
      }
      return { shards: await writer.close(), imported }
    }

    const train = await writeSplit('train', plan.train)
    const val = await writeSplit('val', plan.val)

    const common = [...shapes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '0×0×3'
    const [h, w, c] = common.split('×').map(Number) as [number, number, number]
    const manifest: DatasetManifest = {
      version: MANIFEST_VERSION,
      name: options.name ?? `Imported from ${src}`,
      splits: {
        train: { pattern: shardPattern('train', 'train', train.shards.length), expectedSamples: train.imported, shards: train.shards.length },
        val: { pattern: shardPattern('val', 'val', val.shards.length), expectedSamples: val.imported, shards: val.shards.length }
      },
      classes: plan.classIds.length,
      classIds: plan.classIds,
      classNames: plan.classNames,
      // Colour images decode with 3 channels; a mostly-greyscale source still claims 3 (the verifier flags the odd ones).
      imageShape: [h, w, 3],
      imageField,
      labelField: 'cls',
      normalization: stats.result(),
      seed
    }
    await writeFileAtomic(join(staging, WNIDS_FILE), plan.classIds.join('\n') + '\n')
    await writeFileAtomic(join(staging, WORDS_FILE), plan.classIds.map((id, i) => `${id}\t${plan.classNames[i]}`).join('\n') + '\n')
    await writeManifest(staging, manifest)
    return { train, val, manifest, h, w, c }
  })
  // The shards as they lie now, in the output folder.
  const moved = (list: ShardWritten[]) => list.map((s) => ({ ...s, path: join(outAbs, relative(stagingFolder(outAbs), s.path)) }))

  const oddShapes = shapeOf.filter((s) => s.shape[0] !== h || s.shape[1] !== w || s.shape[2] !== c)
  return {
    layout: plan.layout,
    manifest,
    imported: { train: train.imported, val: val.imported },
    badImages: bad,
    oddShapes,
    reencoded,
    shards: { train: moved(train.shards), val: moved(val.shards) },
    seconds: (performance.now() - t0) / 1000
  }
}
