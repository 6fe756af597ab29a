/**
 * Run folders: `<runsDir>/<runId>/` holding config.json, metrics.jsonl (every metric
 * point, appended), checkpoints/ and summary.json (rewritten atomically). Listing,
 * reading metrics, and comparing runs read only these files.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic, writeFileAtomicSync } from '../atomic-write'
import { makeFolder } from '../folders'
import { MetricPoint, RunSummary, TrainConfig, type RunComparison } from '../../shared/contract/train'
import { TrainConfigError } from './config'

export const CONFIG_FILE = 'config.json'
export const METRICS_FILE = 'metrics.jsonl'
export const SUMMARY_FILE = 'summary.json'

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n')
}

/**
 * writeJsonAtomic in one go, for a file that must be right even when the process is
 * ended the next moment (a run's summary on a second Ctrl-C), and whose writes must land
 * in the order they were made.
 */
export function writeJsonAtomicSync(path: string, value: unknown): void {
  writeFileAtomicSync(path, JSON.stringify(value, null, 2) + '\n')
}

/** A new, unique run folder name: sortable by start time. */
export async function createRunDir(runsDir: string, now = new Date()): Promise<{ id: string; dir: string }> {
  await makeFolder(runsDir)
  const stamp = now.toISOString().replace(/[:.]/g, '-').replace('Z', '')
  for (let i = 0; ; i++) {
    const id = i === 0 ? stamp : `${stamp}-${i}`
    const dir = join(runsDir, id)
    try {
      await mkdir(dir)
      return { id, dir }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}

/** A run folder's configuration; TrainConfigError (naming the folder) when it is not a run folder. */
export async function readRunConfig(dir: string): Promise<TrainConfig> {
  const path = join(dir, CONFIG_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TrainConfigError(code === 'ENOENT' ? `${dir} is not a run folder: it has no ${CONFIG_FILE}` : `cannot read ${path}: ${(err as Error).message}`)
  }
  let parsed: ReturnType<typeof TrainConfig.safeParse>
  try {
    parsed = TrainConfig.safeParse(JSON.parse(text))
  } catch (err) {
    throw new TrainConfigError(`${path} is not JSON: ${(err as Error).message}`)
  }
  if (!parsed.success) throw new TrainConfigError(`${path} is not a run configuration: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`)
  return parsed.data
}

export async function readSummary(dir: string): Promise<RunSummary | null> {
  try {
    return RunSummary.parse(JSON.parse(await readFile(join(dir, SUMMARY_FILE), 'utf8')))
  } catch {
    return null
  }
}

/** The run's metric points from line `from` on; a half-written last line is left for next time. */
export async function readMetrics(dir: string, from = 0): Promise<{ points: MetricPoint[]; next: number }> {
  const text = await readFile(join(dir, METRICS_FILE), 'utf8').catch(() => '')
  const lines = text.split('\n')
  const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1)
  const points: MetricPoint[] = []
  for (const line of complete.slice(from)) {
    // A line that is not a point (a run of an older version, or one mangled by hand) is passed over, not the whole file.
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      continue
    }
    const parsed = MetricPoint.safeParse(value)
    if (parsed.success) points.push(parsed.data)
  }
  return { points, next: Math.max(from, complete.length) }
}

/**
 * Makes a run folder ready to go on from the checkpoint at `version`: the metric points
 * recorded after that checkpoint are dropped from metrics.jsonl (the resumed run does those
 * updates again; TensorBoard likewise purges the points a restarted run goes back over),
 * and so is a line half-written when the run was killed, which an append would otherwise
 * run into the next point. The file is rewritten atomically. Temporary files that a killed
 * run left behind (`.summary.json.<pid>.<n>.tmp`, or `summary.json.<pid>.tmp` from older versions) are removed. Returns the
 * points kept and the summary the run had.
 */
export async function prepareResume(dir: string, version: number): Promise<{ kept: MetricPoint[]; previous: RunSummary | null }> {
  const { points } = await readMetrics(dir)
  const cut = points.findLastIndex((p) => p.kind === 'checkpoint' && p.version === version)
  const kept = cut >= 0 ? points.slice(0, cut + 1) : points
  await writeFileAtomic(join(dir, METRICS_FILE), kept.map((p) => JSON.stringify(p) + '\n').join(''))
  const leftovers = async (folder: string) => (await readdir(folder).catch(() => [] as string[])).filter((n) => /\.\d+\.tmp$/.test(n)).map((n) => join(folder, n))
  for (const path of [...(await leftovers(dir)), ...(await leftovers(join(dir, 'checkpoints')))]) await rm(path, { force: true })
  return { kept, previous: await readSummary(dir) }
}

/** Runs under `runsDir` that have a summary, newest first. */
export async function listRuns(runsDir: string): Promise<RunSummary[]> {
  const names = await readdir(runsDir).catch(() => [] as string[])
  const summaries = await Promise.all(names.map((n) => readSummary(join(runsDir, n))))
  return summaries.filter((s): s is RunSummary => s !== null).sort((a, b) => b.startedAt.localeCompare(a.startedAt))
}

/** Config differences and validation curves aligned by server version. */
export async function compareRuns(dirs: string[]): Promise<RunComparison> {
  const runs: RunSummary[] = []
  for (const dir of dirs) {
    const s = await readSummary(dir)
    if (!s) throw new Error(`${dir} holds no summary.json (not a finished run folder)`)
    runs.push(s)
  }
  const configDiff: Record<string, unknown[]> = {}
  const keys = new Set(runs.flatMap((r) => Object.keys(r.config)))
  for (const key of keys) {
    const values = runs.map((r) => (r.config as Record<string, unknown>)[key])
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1) configDiff[key] = values
  }
  const curves = await Promise.all(dirs.map(async (d) => (await readMetrics(d)).points.filter((p) => p.kind === 'validation')))
  const versions = [...new Set(curves.flatMap((c) => c.map((p) => p.version)))].sort((a, b) => a - b)
  const align = (pick: (p: Extract<MetricPoint, { kind: 'validation' }>) => number) =>
    versions.map((version) => ({ version, values: curves.map((c) => { const p = c.filter((q) => q.version === version).at(-1); return p ? pick(p) : null }) }))
  return { runs, configDiff, validationLoss: align((p) => p.loss), validationTop1: align((p) => p.top1) }
}
