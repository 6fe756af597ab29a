/**
 * Checkpoints: one file per checkpoint, `checkpoints/step-000120.ckpt`, written
 * atomically (temp file in the same folder + rename) so a crash never leaves half a
 * checkpoint under the real name.
 *
 * Layout: "SSCKPT1\n", a uint32 (LE) JSON length, the JSON (config, version, worker
 * positions, optimizer kind/steps, the arrays' lengths), then the float32 arrays (LE)
 * in this order: weights, batch-norm statistics, optimizer buffers.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../atomic-write'
import type { TrainConfig } from '../../shared/contract/train'
import type { OptimizerState } from './optimizer'
import type { ResumeState } from './protocol'

const MAGIC = 'SSCKPT1\n'

export interface Checkpoint extends ResumeState {
  config: TrainConfig
  writtenAt: string
}

interface CheckpointHeader {
  config: TrainConfig
  writtenAt: string
  version: number
  workerSteps: Record<number, number>
  workerEpochs: ResumeState['workerEpochs']
  optimizer: { kind: OptimizerState['kind']; steps: number }
  lengths: number[]
}

export function checkpointName(version: number): string {
  return `step-${String(version).padStart(6, '0')}.ckpt`
}

export async function writeCheckpoint(runDir: string, c: Checkpoint): Promise<string> {
  const dir = join(runDir, 'checkpoints')
  const arrays = [c.weights, c.batchNormStats, ...c.optimizer.buffers]
  const header: CheckpointHeader = {
    config: c.config,
    writtenAt: c.writtenAt,
    version: c.version,
    workerSteps: c.workerSteps,
    workerEpochs: c.workerEpochs,
    optimizer: { kind: c.optimizer.kind, steps: c.optimizer.steps },
    lengths: arrays.map((a) => a.length)
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const prefix = Buffer.alloc(MAGIC.length + 4)
  prefix.write(MAGIC, 0, 'latin1')
  prefix.writeUInt32LE(json.length, MAGIC.length)
  const body = Buffer.concat([prefix, json, ...arrays.map((a) => floatBytes(a))])
  const path = join(dir, checkpointName(c.version))
  await writeFileAtomic(path, body)
  return path
}

function floatBytes(a: Float32Array): Buffer {
  const b = Buffer.alloc(a.length * 4)
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i]!, i * 4)
  return b
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const bytes = await readFile(path)
  if (bytes.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) throw new Error(`${path} is not a ShardScope checkpoint`)
  const jsonLength = bytes.readUInt32LE(MAGIC.length)
  let offset = MAGIC.length + 4
  const header = JSON.parse(bytes.subarray(offset, offset + jsonLength).toString('utf8')) as CheckpointHeader
  offset += jsonLength
  const arrays = header.lengths.map((n) => {
    if (offset + n * 4 > bytes.length) throw new Error(`${path} is truncated: ${bytes.length} bytes, needs at least ${offset + n * 4}`)
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) a[i] = bytes.readFloatLE(offset + i * 4)
    offset += n * 4
    return a
  })
  if (offset !== bytes.length) throw new Error(`${path}: ${bytes.length - offset} unexpected trailing bytes`)
  const [weights, batchNormStats, ...buffers] = arrays
  return {
    config: header.config,
    writtenAt: header.writtenAt,
    version: header.version,
    workerSteps: header.workerSteps,
    workerEpochs: header.workerEpochs,
    weights: weights!,
    batchNormStats: batchNormStats!,
    optimizer: { kind: header.optimizer.kind, steps: header.optimizer.steps, buffers }
  }
}

/** The newest checkpoint of a run folder, or null when it has none. */
export async function latestCheckpoint(runDir: string): Promise<string | null> {
  const names = await readdir(join(runDir, 'checkpoints')).catch(() => [] as string[])
  const ckpts = names.filter((n) => /^step-\d+\.ckpt$/.test(n)).sort()
  return ckpts.length > 0 ? join(runDir, 'checkpoints', ckpts[ckpts.length - 1]!) : null
}
