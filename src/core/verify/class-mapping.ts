/**
 * The class id → name mapping a split is labelled with: Tiny ImageNet's `wnids.txt`
 * (line i is the class id of label i) and `words.txt` (id TAB name). A split whose
 * shard folder holds its own `wnids.txt` uses that; otherwise the dataset's, from
 * dataset.json (classIds, classNames) or the dataset folder's files. Train and val
 * labelled with different mappings score every validation sample against the wrong
 * class while each split looks healthy on its own.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { DatasetManifest } from '../../shared/manifest'
import type { ShardLocation } from '../wds/types'
import { parseWnids, parseWords, WNIDS_FILE, WORDS_FILE } from '../class-files'

export interface ClassMapping {
  /** Where the mapping was read: a file path, or `dataset.json`. */
  source: string
  ids: string[]
  /** Name of each id, where known. */
  names: Array<string | undefined>
}

/** A file's text, or undefined when it cannot be read (a mapping file is optional). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function readWnids(path: string): string[] {
  return parseWnids(readText(path) ?? '')
}

function readWords(path: string): Map<string, string> | undefined {
  const text = readText(path)
  return text === undefined ? undefined : parseWords(text)
}

export function classMappingOf(split: { locations: ShardLocation[] }, plan: { base: string; datasetDir?: string; manifest?: DatasetManifest; manifestPath?: string }): ClassMapping | undefined {
  // The dataset folder, or where the patterns resolve when none was given.
  const datasetDir = plan.datasetDir ?? plan.base
  const datasetWords = readWords(join(datasetDir, WORDS_FILE))
  const firstFile = split.locations.find((l) => l.kind === 'file' && l.path)?.path
  const folder = firstFile ? dirname(firstFile) : undefined
  if (folder && folder !== datasetDir && existsSync(join(folder, WNIDS_FILE))) {
    const ids = readWnids(join(folder, WNIDS_FILE))
    const words = readWords(join(folder, WORDS_FILE)) ?? datasetWords
    return { source: join(folder, WNIDS_FILE), ids, names: ids.map((id) => words?.get(id)) }
  }
  if (plan.manifest && plan.manifest.classIds.length > 0) {
    const m = plan.manifest
    return { source: plan.manifestPath ?? 'dataset.json', ids: m.classIds, names: m.classIds.map((id, i) => m.classNames[i] ?? datasetWords?.get(id)) }
  }
  if (existsSync(join(datasetDir, WNIDS_FILE))) {
    const ids = readWnids(join(datasetDir, WNIDS_FILE))
    return { source: join(datasetDir, WNIDS_FILE), ids, names: ids.map((id) => datasetWords?.get(id)) }
  }
  return undefined
}

/** Labels whose id or name differ between two mappings (a label only one of them has counts too). */
export function compareClassMappings(a: ClassMapping, b: ClassMapping): Array<{ label: number; a?: string; b?: string }> {
  const out: Array<{ label: number; a?: string; b?: string }> = []
  const describe = (m: ClassMapping, i: number) => (m.ids[i] === undefined ? undefined : m.names[i] ? `${m.ids[i]} “${m.names[i]}”` : m.ids[i])
  for (let i = 0; i < Math.max(a.ids.length, b.ids.length); i++) {
    const sameId = a.ids[i] === b.ids[i]
    const sameName = a.names[i] === undefined || b.names[i] === undefined || a.names[i] === b.names[i]
    if (!sameId || !sameName) out.push({ label: i, a: describe(a, i), b: describe(b, i) })
  }
  return out
}
