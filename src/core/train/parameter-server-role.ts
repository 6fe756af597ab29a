/**
 * The parameter-server process: owns the global weights (ParameterServer), answers
 * pulls when the mode allows, applies pushes, and evaluates: validation every K
 * updates, at each epoch end and at the end (loss, top-1, top-5 on the validation
 * set, decoded once and kept). Writes checkpoints into the run folder: at epoch ends,
 * every checkpointEvery updates, at the end, and when the run is stopped.
 */
import type { MetricPoint } from '../../shared/contract/train'
import type { ParentPort } from '../process/host'
import { initBackend } from './backends'
import { writeCheckpoint } from './checkpoint'
import { loadValidationSet, type ValidationSet } from './data-loader'
import { createModel, evaluate, getBatchNormStats, getWeights, setBatchNormStats, setWeights, type Model } from './model'
import { ParameterServer } from './parameter-server'
import type { FromServer, ResumeState, RunSetup, ToServer } from './protocol'

export function run(port: ParentPort): void {
  const send = (m: FromServer) => port.send(m)
  let server: Session | null = null
  // Messages are handled one at a time, in order: a validation in progress holds later pushes.
  let queue = Promise.resolve()
  port.onMessage((raw) => {
    const m = raw as ToServer
    queue = queue
      .then(async () => {
        if (m.type === 'init') server = await Session.start(m.setup, m.resume, send)
        else await server?.handle(m)
      })
      .catch((err: unknown) => send({ type: 'error', message: (err as Error).message }))
  })
}

class Session {
  private readonly pulls = new Set<number>()
  private readonly epochsDone = new Map<number, number>()
  private readonly positions: ResumeState['workerEpochs']
  /** Each worker's position before its latest push: what a checkpoint records while that push waits in a sync round. */
  private readonly positionsBeforePush: ResumeState['workerEpochs'] = {}
  private validatedEpochs = new Set<number>()
  private points: MetricPoint[] = []

  private constructor(
    private readonly setup: RunSetup,
    private readonly ps: ParameterServer,
    private readonly model: Model,
    private readonly valSet: ValidationSet,
    private readonly send: (m: FromServer) => void,
    resume: ResumeState | undefined
  ) {
    this.positions = resume?.workerEpochs ?? {}
    for (let w = 0; w < setup.config.workers; w++) {
      this.positions[w] ??= { epoch: 0, batchesInEpoch: 0 }
      this.epochsDone.set(w, this.positions[w]!.epoch - 1)
    }
    for (let e = 0; e < Math.min(...[...this.epochsDone.values()]) + 1; e++) this.validatedEpochs.add(e)
  }

  static async start(setup: RunSetup, resume: ResumeState | undefined, send: (m: FromServer) => void): Promise<Session> {
    const { config } = setup
    const backend = await initBackend(config.backend)
    const model = createModel({ kind: config.model, inputShape: config.imageShape, classes: config.classes, seed: config.seed })
    const warnings: string[] = []
    let skipped = 0
    const valSet = await loadValidationSet(
      { imageField: config.valImageField ?? config.imageField, labelField: config.labelField, classes: config.classes, imageShape: config.imageShape, normalization: config.normalization },
      setup.valShards,
      Math.max(config.batch, 64),
      config.valSamples,
      () => skipped++
    )
    if (skipped > 0) warnings.push(`${skipped} validation samples could not be used and were skipped`)
    if (valSet.count === 0) warnings.push('no usable validation samples: validation is skipped')
    const workers = Array.from({ length: config.workers }, (_, i) => i)
    const ps = new ParameterServer(
      { mode: config.mode, staleness: config.staleness, lr: config.lr, stalenessAwareLr: config.stalenessAwareLr, kind: config.optimizer, momentum: config.momentum },
      resume ?? { weights: getWeights(model), batchNormStats: getBatchNormStats(model) },
      workers
    )
    send({ type: 'ready', backend: backend.name, weightCount: model.weightCount, valSamples: valSet.count, warnings })
    return new Session(setup, ps, model, valSet, send, resume)
  }

  async handle(m: ToServer): Promise<void> {
    const t = Date.now()
    switch (m.type) {
      case 'pull':
        this.pulls.add(m.worker)
        break
      case 'push': {
        const position = this.positions[m.worker]!
        this.positionsBeforePush[m.worker] = { ...position }
        position.batchesInEpoch++
        const applied = this.ps.push({ worker: m.worker, version: m.version, gradients: m.gradients, batchNormStats: m.batchNormStats })
        await this.afterApply(applied.map((a) => ({ kind: 'update' as const, t, ...a })))
        break
      }
      case 'epoch-end':
        this.positions[m.worker] = { epoch: m.epoch + 1, batchesInEpoch: 0 }
        this.epochsDone.set(m.worker, m.epoch)
        await this.maybeEpochValidation()
        break
      case 'worker-gone':
        if (m.finished) this.epochsDone.set(m.worker, this.setup.config.epochs - 1)
        this.pulls.delete(m.worker)
        await this.afterApply(this.ps.removeWorker(m.worker).map((a) => ({ kind: 'update' as const, t, ...a })))
        await this.maybeEpochValidation()
        break
      case 'worker-back':
        this.ps.addWorker(m.worker)
        break
      case 'finish': {
        await this.validate('final', this.setup.config.epochs - 1)
        const checkpoint = await this.checkpoint()
        this.flush()
        this.send({ type: 'finished', version: this.ps.version, checkpoint })
        return
      }
      case 'checkpoint': {
        const path = await this.checkpoint()
        this.flush()
        this.send({ type: 'checkpointed', path })
        return
      }
      case 'init':
        break
    }
    this.answerPulls()
    this.flush()
  }

  private async afterApply(updates: MetricPoint[]): Promise<void> {
    if (updates.length === 0) return
    this.points.push(...updates)
    const { validateEvery, checkpointEvery } = this.setup.config
    const version = this.ps.version
    const epoch = Math.min(...[...this.epochsDone.values()]) + 1
    if (validateEvery > 0 && version % validateEvery === 0) await this.validate('interval', epoch)
    if (checkpointEvery > 0 && version % checkpointEvery === 0) await this.checkpoint()
  }

  private async maybeEpochValidation(): Promise<void> {
    const live = this.ps.liveWorkers()
    const reached = Math.min(...(live.length > 0 ? live : [...this.epochsDone.keys()]).map((w) => this.epochsDone.get(w) ?? -1))
    for (let e = 0; e <= reached; e++) {
      if (this.validatedEpochs.has(e)) continue
      this.validatedEpochs.add(e)
      await this.validate('epoch', e)
      await this.checkpoint()
    }
  }

  private answerPulls(): void {
    for (const worker of [...this.pulls].sort((a, b) => a - b)) {
      if (!this.ps.canServe(worker)) continue
      this.pulls.delete(worker)
      this.send({ type: 'weights', worker, version: this.ps.version, weights: this.ps.weights.slice(), batchNormStats: this.ps.batchNormStats.slice() })
    }
  }

  private async validate(reason: 'interval' | 'epoch' | 'final', epoch: number): Promise<void> {
    if (this.valSet.count === 0) return
    setWeights(this.model, this.ps.weights)
    setBatchNormStats(this.model, this.ps.batchNormStats)
    let lossSum = 0
    let top1 = 0
    let top5 = 0
    for (const b of this.valSet.batches) {
      const e = await evaluate(this.model, b.xs, b.labels)
      lossSum += e.lossSum
      top1 += e.top1Correct
      top5 += e.top5Correct
    }
    const n = this.valSet.count
    this.points.push({ kind: 'validation', t: Date.now(), version: this.ps.version, epoch, reason, loss: lossSum / n, top1: top1 / n, top5: top5 / n, samples: n })
    this.flush()
  }

  private async checkpoint(): Promise<string> {
    const s = this.ps.exportState()
    const path = await writeCheckpoint(this.setup.runDir, {
      config: this.setup.config,
      writtenAt: new Date().toISOString(),
      version: s.version,
      workerSteps: s.workerSteps,
      workerEpochs: Object.fromEntries(
        Object.entries(this.positions).map(([w, position]) => [w, { ...(this.ps.isPending(Number(w)) ? this.positionsBeforePush[Number(w)]! : position) }])
      ),
      weights: s.weights,
      batchNormStats: s.batchNormStats,
      optimizer: s.optimizer
    })
    this.points.push({ kind: 'checkpoint', t: Date.now(), version: s.version, path })
    return path
  }

  private flush(): void {
    if (this.points.length === 0) return
    this.send({ type: 'points', points: this.points })
    this.points = []
  }
}
