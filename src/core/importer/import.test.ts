import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatasetManifestSchema } from '../../shared/manifest'
import { importImageFolder, ImportRefused } from './import'

const root = mkdtempSync(join(tmpdir(), 'shardscope-import-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

// Order on purpose not sorted: wnids.txt's order defines the class ids.
const WNIDS = ['n02124075', 'n01443537', 'n01629819']
const COLOURS: [number, number, number][] = [
  [200, 30, 30],
  [30, 200, 30],
  [30, 30, 200]
]

async function jpeg(colour: [number, number, number], n: number, channels: 1 | 3 = 3): Promise<Buffer> {
  const pixels = Buffer.alloc(64 * 64 * channels)
  for (let i = 0; i < 64 * 64; i++) for (let c = 0; c < channels; c++) pixels[i * channels + c] = (colour[c]! + ((i * 7 + n * 13) % 40)) & 0xff
  const img = sharp(pixels, { raw: { width: 64, height: 64, channels } })
  // Tiny ImageNet holds some greyscale JPEGs; sharp writes sRGB unless told otherwise.
  return (channels === 1 ? img.toColourspace('b-w') : img).jpeg({ quality: 85 }).toBuffer()
}

/** A tiny raw Tiny ImageNet: 3 classes × 6 train images, 6 val images, plus a few broken files. */
async function makeRawTinyImageNet(dir: string): Promise<void> {
  writeFileSync(join(dir, 'wnids.txt'), WNIDS.join('\n') + '\n')
  writeFileSync(
    join(dir, 'words.txt'),
    ['n00001740\tentity', 'n01443537\tgoldfish, Carassius auratus', 'n01629819\tEuropean fire salamander, Salamandra salamandra', 'n02124075\tEgyptian cat'].join('\n') + '\n'
  )
  for (const [c, wnid] of WNIDS.entries()) {
    const images = join(dir, 'train', wnid, 'images')
    mkdirSync(images, { recursive: true })
    writeFileSync(join(dir, 'train', wnid, `${wnid}_boxes.txt`), `${wnid}_0.JPEG\t0\t0\t63\t63\n`)
    for (let i = 0; i < 6; i++) writeFileSync(join(images, `${wnid}_${i}.JPEG`), await jpeg(COLOURS[c]!, i, c === 2 && i === 5 ? 1 : 3))
  }
  // A train image cut short, as a failed download leaves it.
  const cut = await jpeg(COLOURS[0]!, 99)
  writeFileSync(join(dir, 'train', WNIDS[0]!, 'images', `${WNIDS[0]}_99.JPEG`), cut.subarray(0, cut.length >> 1))
  mkdirSync(join(dir, 'val', 'images'), { recursive: true })
  const annotations: string[] = []
  for (let i = 0; i < 6; i++) {
    const c = (i * 2) % 3
    writeFileSync(join(dir, 'val', 'images', `val_${i}.JPEG`), await jpeg(COLOURS[c]!, 50 + i))
    annotations.push(`val_${i}.JPEG\t${WNIDS[c]}\t0\t0\t63\t63`)
  }
  writeFileSync(join(dir, 'val', 'images', 'val_6.JPEG'), await jpeg(COLOURS[0]!, 60))
  // Listed but never downloaded, and a line naming a class that wnids.txt does not know.
  annotations.push(`val_7.JPEG\t${WNIDS[1]}\t0\t0\t63\t63`, 'val_8.JPEG\tn09999999\t0\t0\t63\t63')
  writeFileSync(join(dir, 'val', 'val_annotations.txt'), annotations.join('\n') + '\n')
}

function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((p) => relative(dir, join(dir, p))).sort()
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Python tarfile: per shard, samples in order with each field's sha256. */
function readShards(dir: string): Record<string, { key: string; fields: Record<string, string> }[]> {
  const script = `
import tarfile, json, sys, os, re, hashlib
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    samples = []
    with tarfile.open(os.path.join(sys.argv[1], f)) as tf:
        for m in tf:
            key, ext = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", m.name).groups()
            data = tf.extractfile(m).read()
            if not samples or samples[-1]["key"] != key: samples.append({"key": key, "fields": {}})
            samples[-1]["fields"][ext] = data.decode() if ext == "cls" else hashlib.sha256(data).hexdigest()
    out[f] = samples
print(json.dumps(out))
`
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' })) as ReturnType<typeof readShards>
}

/** One member's bytes, found in any shard of the dataset folder (GNU tar lists and extracts it). */
function memberOf(dataset: string, member: string): Buffer {
  for (const split of ['train', 'val']) {
    for (const shard of readdirSync(join(dataset, split))) {
      const path = join(dataset, split, shard)
      if (execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).split('\n').includes(member)) return execFileSync('tar', ['-xOf', path, member])
    }
  }
  throw new Error(`${member} is in no shard of ${dataset}`)
}

describe('importImageFolder on the raw Tiny ImageNet layout', () => {
  const src = join(root, 'tiny-imagenet-200')
  const out = join(root, 'tiny-wds')
  let before: string[]
  let result: Awaited<ReturnType<typeof importImageFolder>>
  const progress: number[] = []
  beforeAll(async () => {
    mkdirSync(src)
    await makeRawTinyImageNet(src)
    before = listTree(src)
    result = await importImageFolder(src, out, { shardMaxcount: 5, seed: 7, onProgress: (p) => progress.push(p.done) })
  }, 60_000)

  it('imports every good image into shards of at most shard-maxcount, val regrouped from val_annotations.txt', () => {
    expect(result.layout).toBe('tiny-imagenet')
    expect(result.imported).toEqual({ train: 18, val: 6 })
    expect(result.shards.train.map((s) => s.samples)).toEqual([5, 5, 5, 3])
    expect(result.shards.val.map((s) => s.samples)).toEqual([5, 1])
    expect(readdirSync(join(out, 'val')).sort()).toEqual(['val-000000.tar', 'val-000001.tar'])
    expect(progress[progress.length - 1]).toBe(25)
  })

  it('reports the cut image and the unannotated val image by file name and leaves them out', () => {
    expect(result.badImages.map((b) => b.file).sort()).toEqual([
      `train/${WNIDS[0]}/images/${WNIDS[0]}_99.JPEG`,
      'val/images/val_6.JPEG',
      'val/images/val_7.JPEG',
      'val/images/val_8.JPEG'
    ])
    expect(result.badImages.find((b) => b.file === 'val/images/val_8.JPEG')!.reason).toBe('its class n09999999 (val/val_annotations.txt line 8) is not in wnids.txt')
    expect(result.badImages.find((b) => b.file === 'val/images/val_7.JPEG')!.reason).toBe('listed in val_annotations.txt but missing')
    expect(result.badImages.find((b) => b.file.endsWith('_99.JPEG'))!.reason).toMatch(/not a decodable image/)
  })

  it('passes colour image bytes through unchanged as jpg, makes the greyscale one RGB, labels by wnids.txt order, val labels from the annotations', async () => {
    const shards = { ...readShards(join(out, 'train')), ...readShards(join(out, 'val')) }
    const samples = Object.values(shards).flat()
    expect(samples).toHaveLength(24)
    const greyscale = `${WNIDS[2]}_5`
    for (const s of samples) {
      expect(Object.keys(s.fields).sort()).toEqual(['cls', 'jpg'])
      const m = /^(n\d{8})_(\d+)$/.exec(s.key)
      const file = m ? join(src, 'train', m[1]!, 'images', `${s.key}.JPEG`) : join(src, 'val', 'images', `${s.key}.JPEG`)
      if (s.key === greyscale) expect(s.fields.jpg).not.toBe(sha(readFileSync(file)))
      else expect(s.fields.jpg).toBe(sha(readFileSync(file)))
      if (m) expect(s.fields.cls).toBe(String(WNIDS.indexOf(m[1]!)))
      else expect(s.fields.cls).toBe(String((Number(s.key.slice(4)) * 2) % 3))
    }
    // Shuffled: the train keys do not come out in source order, and the first shard mixes classes.
    const trainKeys = Object.entries(shards)
      .filter(([f]) => f.startsWith('train'))
      .flatMap(([, v]) => v.map((s) => s.key))
    expect(trainKeys).not.toEqual([...trainKeys].sort())
    expect(new Set(shards['train-000000.tar']!.map((s) => s.fields.cls)).size).toBeGreaterThan(1)
    // As torchvision's loader does (PIL convert("RGB")): three equal channels, the same grey.
    const rgb = await sharp(memberOf(out, `${greyscale}.jpg`)).raw().toBuffer({ resolveWithObject: true })
    expect(rgb.info.channels).toBe(3)
    const original = await sharp(readFileSync(join(src, 'train', WNIDS[2]!, 'images', `${greyscale}.JPEG`))).raw().toBuffer()
    expect(Math.abs(rgb.data[0]! - original[0]!)).toBeLessThanOrEqual(4)
    expect(result.reencoded.madeRgb).toBe(1)
  })

  it('writes dataset.json with wnids order, words.txt names, 64×64×3 and normalisation of the train pixels', () => {
    const m = DatasetManifestSchema.parse(JSON.parse(readFileSync(join(out, 'dataset.json'), 'utf8')))
    expect(m.classIds).toEqual(WNIDS)
    expect(m.classNames).toEqual(['Egyptian cat', 'goldfish, Carassius auratus', 'European fire salamander, Salamandra salamandra'])
    expect(m.splits.train).toEqual({ pattern: 'train/train-{000000..000003}.tar', expectedSamples: 18, shards: 4 })
    expect(m.splits.val).toEqual({ pattern: 'val/val-{000000..000001}.tar', expectedSamples: 6, shards: 2 })
    expect([m.imageShape, m.imageField, m.labelField, m.seed]).toEqual([[64, 64, 3], 'jpg', 'cls', 7])
    // Each class colour is (200|30) + 0…39 per channel, equally often: the mean sits near (200+30+30)/3/255 + ~20/255.
    for (const v of m.normalization.mean) expect(v).toBeCloseTo((260 / 3 + 19.5) / 255, 1)
    for (const v of m.normalization.std) expect(v).toBeGreaterThan(0.2)
    expect(readFileSync(join(out, 'wnids.txt'), 'utf8').trim().split('\n')).toEqual(WNIDS)
    expect(result.oddShapes).toEqual([])
  })

  it('leaves the source folder exactly as it was', () => {
    expect(listTree(src)).toEqual(before)
  })

  it('the same seed writes identical shards; --shard-maxsize bounds shard bytes', async () => {
    const again = await importImageFolder(src, join(root, 'tiny-again'), { shardMaxcount: 5, seed: 7 })
    for (const [i, s] of again.shards.train.entries()) expect(readFileSync(s.path).equals(readFileSync(result.shards.train[i]!.path))).toBe(true)
    const bySize = await importImageFolder(src, join(root, 'tiny-by-size'), { shardMaxsize: 12_000 })
    expect(bySize.shards.train.length).toBeGreaterThan(2)
    for (const s of bySize.shards.train) expect(s.bytes).toBeLessThanOrEqual(12_000)
    expect(bySize.shards.train.reduce((a, s) => a + s.samples, 0)).toBe(18)
  }, 60_000)
})

describe('importImageFolder on class folders', () => {
  it('one subfolder per class: sorted names become ids, a seeded share is held out for val, the PNGs among JPEGs re-encoded as jpg', async () => {
    const src = join(root, 'flowers')
    for (const [c, name] of ['tulip', 'daisy', 'rose'].entries()) {
      mkdirSync(join(src, name), { recursive: true })
      for (let i = 0; i < 10; i++) {
        const img = sharp(await jpeg(COLOURS[c]!, i))
        writeFileSync(join(src, name, `img.${i}.${i % 3 ? 'jpg' : 'PNG'}`), await (i % 3 ? img.jpeg() : img.png()).toBuffer())
      }
      writeFileSync(join(src, name, 'README.txt'), 'not an image')
    }
    const out = join(root, 'flowers-wds')
    const r = await importImageFolder(src, out, { seed: 1, valFraction: 0.2 })
    expect(r.layout).toBe('class-folders')
    expect(r.imported).toEqual({ train: 24, val: 6 })
    expect(r.badImages).toEqual([])
    expect(r.manifest.classIds).toEqual(['daisy', 'rose', 'tulip'])
    expect(r.manifest.imageField).toBe('jpg')
    expect(r.reencoded).toEqual({ from: { png: 12 }, resized: 0, madeRgb: 0 })
    const samples = Object.values({ ...readShards(join(out, 'train')), ...readShards(join(out, 'val')) }).flat()
    const byKey = new Map(samples.map((s) => [s.key, s]))
    // Every sample has the one image field; JPEGs pass through byte for byte.
    expect(samples.every((s) => Object.keys(s.fields).sort().join() === 'cls,jpg')).toBe(true)
    // A dot in a file name would split the webdataset key, so it becomes "_".
    expect(byKey.get('tulip_img_1')!.fields).toEqual({ cls: '2', jpg: sha(readFileSync(join(src, 'tulip', 'img.1.jpg'))) })
    expect(byKey.get('daisy_img_0')!.fields.cls).toBe('0')
    const valClasses = readShards(join(out, 'val'))['val-000000.tar']!.map((s) => s.fields.cls).sort()
    expect(valClasses).toEqual(['0', '0', '1', '1', '2', '2'])
    // The re-encoded PNG is a JPEG of the same picture.
    const png = await sharp(readFileSync(join(src, 'tulip', 'img.3.PNG'))).raw().toBuffer()
    const written = memberOf(out, 'tulip_img_3.jpg')
    expect((await sharp(written).metadata()).format).toBe('jpeg')
    const pixels = await sharp(written).raw().toBuffer()
    expect(pixels.length).toBe(png.length)
    expect(pixels.reduce((a, v, i) => a + Math.abs(v - png[i]!), 0) / pixels.length).toBeLessThan(3)
  }, 60_000)

  it('--resize: images of another size are scaled to cover it and centre-cropped, those of that size pass through', async () => {
    const src = join(root, 'sizes')
    const sizes: Array<[number, number]> = [
      [64, 64],
      [96, 48],
      [32, 32],
      [64, 64]
    ]
    for (const name of ['a', 'b']) {
      mkdirSync(join(src, name), { recursive: true })
      for (const [i, [w, h]] of sizes.entries()) {
        const raw = Buffer.alloc(w * h * 3, name === 'a' ? 60 : 180)
        writeFileSync(join(src, name, `i${i}.jpg`), await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg().toBuffer())
      }
    }
    mkdirSync(join(src, 'c-empty'))
    const out = join(root, 'sizes-wds')
    const r = await importImageFolder(src, out, { seed: 1, valFraction: 0.25, resize: { width: 64, height: 64 } })
    // An empty class folder keeps its id (sorted names, as ImageFolder) and is named: that class has no samples.
    expect(r.manifest.classIds).toEqual(['a', 'b', 'c-empty'])
    expect(r.badImages).toEqual([{ file: 'c-empty', reason: 'class folder has no images (.jpg, .jpeg, .png, .webp, .tif, .tiff); class 2 has no samples' }])
    expect(r.manifest.imageShape).toEqual([64, 64, 3])
    expect(r.oddShapes).toEqual([])
    expect(r.reencoded).toEqual({ from: {}, resized: 4, madeRgb: 0 })
    for (const name of ['a', 'b']) {
      for (const [i, [w, h]] of sizes.entries()) {
        const written = memberOf(out, `${name}_i${i}.jpg`)
        expect(await sharp(written).metadata()).toMatchObject({ width: 64, height: 64 })
        if (w === 64 && h === 64) expect(sha(written)).toBe(sha(readFileSync(join(src, name, `i${i}.jpg`))))
      }
    }
    // Without --resize the odd sizes are kept as they are and named.
    const kept = await importImageFolder(src, join(root, 'sizes-kept'), { seed: 1, valFraction: 0.25 })
    expect(kept.oddShapes.map((o) => o.file).sort()).toEqual(['a/i1.jpg', 'a/i2.jpg', 'b/i1.jpg', 'b/i2.jpg'])
  }, 60_000)

  it('finds images as ImageFolder does (subfolders, symbolic links) and reads what PIL reads: misnamed (PNG, GIF), CMYK, RGBA, TIFF; what it cannot read is named', async () => {
    const src = join(root, 'as-found')
    const make = (r: number, g: number, b: number) => sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g, b } } })
    mkdirSync(join(src, 'cat', 'holiday', '2024'), { recursive: true })
    mkdirSync(join(src, 'dog'), { recursive: true })
    mkdirSync(join(root, 'elsewhere-dogs'), { recursive: true })
    for (let i = 0; i < 4; i++) writeFileSync(join(src, 'cat', `c${i}.jpg`), await make(200, 40 + i, 40).jpeg().toBuffer())
    writeFileSync(join(src, 'cat', 'holiday', '2024', 'deep.jpg'), await make(201, 40, 40).jpeg().toBuffer())
    writeFileSync(join(root, 'elsewhere-dogs', 'linked.jpg'), await make(40, 200, 40).jpeg().toBuffer())
    symlinkSync(join(root, 'elsewhere-dogs', 'linked.jpg'), join(src, 'dog', 'link.jpg'))
    symlinkSync(join(root, 'elsewhere-dogs'), join(src, 'dog', 'more'))
    for (let i = 0; i < 3; i++) writeFileSync(join(src, 'dog', `d${i}.jpg`), await make(40, 200, 41 + i).jpeg().toBuffer())
    writeFileSync(join(src, 'dog', 'png-named.jpg'), await make(40, 201, 40).png().toBuffer())
    writeFileSync(join(src, 'dog', 'gif-named.jpg'), await make(40, 204, 40).gif().toBuffer())
    writeFileSync(join(src, 'dog', 'print.jpg'), await make(40, 202, 40).toColourspace('cmyk').jpeg().toBuffer())
    writeFileSync(join(src, 'dog', 'scan.tiff'), await make(40, 203, 40).tiff().toBuffer())
    // Left half transparent over a blue-grey: PIL's convert("RGB") keeps the colour, flattening would make it black.
    const rgba = Buffer.alloc(32 * 32 * 4)
    for (let p = 0; p < 32 * 32; p++) rgba.set([62, 126, 200, p % 32 < 16 ? 0 : 255], p * 4)
    writeFileSync(join(src, 'cat', 'sticker.png'), await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } }).png().toBuffer())
    writeFileSync(join(src, 'dog', 'old.bmp'), Buffer.from('BM not really read'))
    writeFileSync(join(src, 'dog', 'empty.jpg'), Buffer.alloc(0))
    writeFileSync(join(src, 'cat', 'chat noir 黒猫.jpg'), await make(199, 40, 40).jpeg().toBuffer())
    const out = join(root, 'as-found-wds')
    const r = await importImageFolder(src, out, { seed: 3, valFraction: 0.1 })
    const keys = Object.values({ ...readShards(join(out, 'train')), ...readShards(join(out, 'val')) })
      .flat()
      .map((x) => x.key)
      .sort()
    expect(keys).toEqual(['cat_c0', 'cat_c1', 'cat_c2', 'cat_c3', 'cat_chat_noir_黒猫', 'cat_holiday_2024_deep', 'cat_sticker', 'dog_d0', 'dog_d1', 'dog_d2', 'dog_gif-named', 'dog_link', 'dog_more_linked', 'dog_png-named', 'dog_print', 'dog_scan'])
    expect([...r.badImages].sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: 'dog/empty.jpg', reason: 'empty file (0 bytes)' },
      { file: 'dog/old.bmp', reason: '.bmp images cannot be read here; convert them to PNG or JPEG to import them' }
    ])
    expect(r.manifest.imageField).toBe('jpg')
    expect(r.oddShapes).toEqual([])
    expect(r.reencoded.madeRgb).toBe(1)
    for (const key of ['dog_png-named', 'dog_gif-named', 'dog_print', 'dog_scan', 'cat_sticker']) {
      const info = await sharp(memberOf(out, `${key}.jpg`)).metadata()
      expect([key, info.format, info.channels, info.space]).toEqual([key, 'jpeg', 3, 'srgb'])
    }
    const sticker = await sharp(memberOf(out, 'cat_sticker.jpg')).raw().toBuffer()
    expect(Math.abs(sticker[0]! - 62) + Math.abs(sticker[2]! - 200)).toBeLessThan(12)
  }, 60_000)

  it('train/<class> and val/<class> folders keep their split; a val class without a train folder is reported', async () => {
    const src = join(root, 'split-src')
    for (const [split, classes] of [['train', ['bird', 'fish']], ['val', ['bird', 'fish', 'lizard']]] as const) {
      for (const [c, name] of classes.entries()) {
        mkdirSync(join(src, split, name), { recursive: true })
        for (let i = 0; i < (split === 'train' ? 4 : 2); i++) writeFileSync(join(src, split, name, `${i}.jpg`), await jpeg(COLOURS[c]!, i))
      }
    }
    const out = join(root, 'split-wds')
    const r = await importImageFolder(src, out)
    expect(r.layout).toBe('class-folders-split')
    expect(r.imported).toEqual({ train: 8, val: 4 })
    expect(r.badImages).toEqual([{ file: 'val/lizard', reason: 'class folder has no train folder of the same name' }])
    const val = readShards(join(out, 'val'))['val-000000.tar']!
    expect(val.map((s) => s.key).sort()).toEqual(['val_bird_0', 'val_bird_1', 'val_fish_0', 'val_fish_1'])
    expect(val.find((s) => s.key === 'val_fish_1')!.fields.cls).toBe('1')
  }, 60_000)

  it('refuses an output folder inside the source folder, and a non-empty folder that is not a dataset', async () => {
    const src = join(root, 'flowers')
    await expect(importImageFolder(src, join(src, 'shards'))).rejects.toThrow(ImportRefused)
    const busy = join(root, 'busy')
    mkdirSync(busy)
    writeFileSync(join(busy, 'thesis.tex'), '')
    await expect(importImageFolder(src, busy)).rejects.toThrow(/not empty \(thesis\.tex\)/)
    expect(readdirSync(busy)).toEqual(['thesis.tex'])
    await expect(importImageFolder(src, join(root, 'no-val'), { valFraction: 0 })).rejects.toThrow(/leaves no images for val/)
    // Through a symbolic link to the source, the output folder is still inside it.
    symlinkSync(src, join(root, 'flowers-link'))
    await expect(importImageFolder(src, join(root, 'flowers-link', 'out'))).rejects.toThrow(/inside the source folder/)
    expect(readdirSync(src)).not.toContain('out')
  })

  it('a val image listed twice in val_annotations.txt is imported once, with its first label, and the repeat is named', async () => {
    const src = join(root, 'tiny-twice')
    mkdirSync(src)
    await makeRawTinyImageNet(src)
    const annotations = join(src, 'val', 'val_annotations.txt')
    writeFileSync(annotations, readFileSync(annotations, 'utf8') + `val_2.JPEG\t${WNIDS[0]}\t0\t0\t63\t63\n`)
    const r = await importImageFolder(src, join(root, 'tiny-twice-wds'))
    expect(r.imported.val).toBe(6)
    expect(r.badImages.find((b) => b.file === 'val/images/val_2.JPEG')?.reason).toBe('listed again in val/val_annotations.txt (line 9; first on line 3); the first is kept')
  }, 60_000)

  it('a re-import replaces the earlier dataset only when complete: one that fails midway leaves it as it was', async () => {
    const src = join(root, 'flowers')
    const out = join(root, 'flowers-again')
    await importImageFolder(src, out, { seed: 1, shardMaxcount: 4 })
    const before = fingerprint(out)
    // An error midway through writing the shards (here from the progress callback).
    const failing = importImageFolder(src, out, {
      seed: 2,
      shardMaxcount: 3,
      onProgress: ({ done }) => {
        if (done === 5) throw new Error('disk full')
      }
    })
    await expect(failing).rejects.toThrow('disk full')
    expect(fingerprint(out)).toEqual(before)
    // A folder a killed import staged in is cleared by the next one, which replaces the dataset whole.
    mkdirSync(join(out, '.shardscope-staging-999999', 'train'), { recursive: true })
    const again = await importImageFolder(src, out, { seed: 2, shardMaxcount: 3 })
    const after = fingerprint(out)
    expect(after).not.toEqual(before)
    expect(Object.keys(after).filter((f) => f.includes('.shardscope') || f.endsWith('.tmp'))).toEqual([])
    expect(Object.keys(after).filter((f) => f.startsWith('train/'))).toEqual(again.shards.train.map((s) => relative(out, s.path)))
  }, 60_000)

  it("refuses to re-import over files in the split folders that ShardScope did not write, and leaves them", async () => {
    const src = join(root, 'flowers')
    const out = join(root, 'flowers-notes')
    await importImageFolder(src, out)
    writeFileSync(join(out, 'train', 'README.txt'), 'mine')
    mkdirSync(join(out, 'val', 'extra'))
    await expect(importImageFolder(src, out)).rejects.toThrow(/holds train\/README\.txt, val\/extra\/, which ShardScope did not write/)
    expect(readFileSync(join(out, 'train', 'README.txt'), 'utf8')).toBe('mine')
  }, 60_000)
})

/** Every file under `dir` (relative path) with a digest of its bytes. */
function fingerprint(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    files[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)))
}
