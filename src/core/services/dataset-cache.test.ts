import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ShardIndex } from '../wds/types'
import { compactShard, encodeDatasetCache, expandShard, readDatasetCache } from './dataset-cache'

const root = await mkdtemp(join(tmpdir(), 'shardscope-dataset-cache-'))
afterAll(() => rm(root, { recursive: true, force: true }))

/** A shard index of `count` samples; every third lacks its `cls`, keys in several scripts. */
function shardIndex(url: string, count: number, first: number): ShardIndex {
  const samples = Array.from({ length: count }, (_, j) => {
    const at = first + j * 2048
    const members: Record<string, [number, number]> = { jpg: [at + 512, 900 + j] }
    if (j % 3 !== 0) members.cls = [at + 1536, 3]
    return { key: `${['größe', '日本語', 'emoji_😀', 'plain'][j % 4]}_${url.slice(-5)}_${j}`, members }
  })
  return { version: 1, url, validator: `${count}:${first}`, bytes: count * 2048, compressed: false, samples, problems: [] }
}

const indexes = [shardIndex('/data/train-000000.tar', 37, 0), shardIndex('/data/train-000001.tar', 0, 0), shardIndex('/data/train-000002.tar', 1001, 7)]
const labelsOf = (index: ShardIndex) => Int32Array.from(index.samples, (_, j) => (j % 3 === 0 ? -1 : j % 200))

/** Paths of this process's open files. */
async function openFiles(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd')
  return (await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).filter(Boolean)
}

describe('the dataset cache file', () => {
  it('gives back every shard as written: labels at once, keys and spans when a shard is first read, the rest later, and then the file is closed', async () => {
    const path = join(root, 'round-trip.bin')
    await writeFile(path, encodeDatasetCache('cls', indexes.map((index) => compactShard(index, labelsOf(index)))))
    const cache = await readDatasetCache(path, 'cls', { restAfterMs: 300 })
    expect(cache).not.toBeNull()
    expect([...cache!.keys()]).toEqual(indexes.map((i) => i.url))
    // Held open for the spans and keys not read yet.
    expect(await openFiles()).toContain(path)
    for (const index of [...indexes].reverse()) {
      const c = cache!.get(index.url)!
      expect({ validator: c.validator, bytes: c.bytes, count: c.count }).toEqual({ validator: index.validator, bytes: index.bytes, count: index.samples.length })
      expect(Array.from(c.labels)).toEqual(Array.from(labelsOf(index)))
      expect(c.keys()).toEqual(index.samples.map((s) => s.key))
      expect(expandShard(c).samples).toEqual(index.samples)
    }
    // The rest is read in the background a while after the open; then nothing holds the file.
    await expect.poll(openFiles, { timeout: 5000 }).not.toContain(path)
    expect(expandShard(cache!.get(indexes[2]!.url)!).samples).toEqual(indexes[2]!.samples)
  })

  it('reads back shards whose spans and keys were read in the background, before anything asked for them', async () => {
    const path = join(root, 'background.bin')
    await writeFile(path, encodeDatasetCache(null, indexes.map((index) => compactShard(index, labelsOf(index)))))
    const cache = await readDatasetCache(path, null, { restAfterMs: 0 })
    await expect.poll(openFiles, { timeout: 5000 }).not.toContain(path)
    for (const index of indexes) expect(expandShard(cache!.get(index.url)!).samples).toEqual(index.samples)
  })

  it('reads a header longer than its first read (hundreds of shards)', async () => {
    const many = Array.from({ length: 600 }, (_, i) => shardIndex(`/data/long/path/to/a/split/train-${String(i).padStart(6, '0')}.tar`, 2, i))
    const path = join(root, 'many.bin')
    const bytes = encodeDatasetCache('cls', many.map((index) => compactShard(index, labelsOf(index))))
    expect(Buffer.from(bytes).readUInt32LE(8)).toBeGreaterThan(64 * 1024)
    await writeFile(path, bytes)
    const cache = await readDatasetCache(path, 'cls', { restAfterMs: 0 })
    expect(cache?.size).toBe(600)
    for (const index of [many[0]!, many[599]!]) {
      const c = cache!.get(index.url)!
      expect(c.keys()).toEqual(index.samples.map((x) => x.key))
      expect(expandShard(c).samples).toEqual(index.samples)
    }
    await expect.poll(openFiles, { timeout: 5000 }).not.toContain(path)
  })

  it('is not used when it is cut short, is not this version, or was written for another label field', async () => {
    const bytes = encodeDatasetCache('cls', indexes.map((index) => compactShard(index, labelsOf(index))))
    const path = join(root, 'damaged.bin')
    await writeFile(path, bytes.subarray(0, bytes.length - 8))
    expect(await readDatasetCache(path, 'cls')).toBeNull()
    await writeFile(path, bytes.subarray(0, 200))
    expect(await readDatasetCache(path, 'cls')).toBeNull()
    const older = Buffer.from(bytes)
    older.write('SSDSCAC3', 0, 'latin1')
    await writeFile(path, older)
    expect(await readDatasetCache(path, 'cls')).toBeNull()
    await writeFile(path, bytes)
    expect(await readDatasetCache(path, 'label')).toBeNull()
    expect(await readDatasetCache(join(root, 'absent.bin'), 'cls')).toBeNull()
    // None of these leaves the file open.
    expect((await openFiles()).filter((f) => f.startsWith(root))).toEqual([])
    expect((await readFile(path)).length).toBe(bytes.length)
  })
})
