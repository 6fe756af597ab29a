/**
 * ParameterServer: the global weights and the update rules of the three modes, as
 * plain logic on Float32Arrays (no processes, no model). The parameter-server process
 * role wraps it; tests drive it directly.
 *
 *  async  every pushed update is applied on arrival; a pull is answered at once.
 *  sync   one update from every live worker per step, averaged in worker order (so
 *         the result does not depend on arrival order), applied once; a worker's next
 *         pull waits until its step's round has been applied.
 *  ssp    updates applied on arrival, but a worker may pull for step k only while
 *         k − (slowest live worker's step) ≤ s.
 *
 * Staleness of an update = server version when applied − version its gradients were
 * computed on.
 *
 * Determinism: same seed + config → same data order per worker, same initial weights.
 * `sync` is then deterministic (each round averages in worker order, whatever order
 * the pushes arrived in). `async` and `ssp` cannot promise the same curves: which
 * version a worker pulls depends on process scheduling, so staleness and the order
 * of updates vary from run to run (the statistics, not the values, repeat).
 */
import { mergeBatchNormStats } from './model'
import { applyUpdate, createOptimizerState, type OptimizerSettings, type OptimizerState } from './optimizer'

export type ServerMode = 'async' | 'sync' | 'ssp'

export interface WorkerUpdate {
  worker: number
  /** The server version the worker pulled and computed on. */
  version: number
  gradients: Float32Array
  batchNormStats: Float32Array
}

/** One update as applied. In sync mode one record per contributing worker. */
export interface AppliedUpdate {
  worker: number
  /** Version after applying. */
  version: number
  staleness: number
  lr: number
}

export interface ServerSettings extends OptimizerSettings {
  mode: ServerMode
  /** SSP bound s. */
  staleness: number
  lr: number
  stalenessAwareLr: boolean
}

export interface ServerState {
  weights: Float32Array
  batchNormStats: Float32Array
  optimizer: OptimizerState
  version: number
  /** Updates pushed so far by each worker (= its step). */
  workerSteps: Record<number, number>
}

export class ParameterServer {
  readonly weights: Float32Array
  readonly batchNormStats: Float32Array
  readonly optimizer: OptimizerState
  version: number
  /** Steps pushed per worker; the live set are those not yet finished or gone. */
  private readonly steps = new Map<number, number>()
  private readonly live = new Set<number>()
  private readonly pending = new Map<number, WorkerUpdate>()
  /** Sync rounds applied. */
  private rounds = 0

  constructor(
    readonly settings: ServerSettings,
    initial: { weights: Float32Array; batchNormStats: Float32Array; optimizer?: OptimizerState; version?: number; workerSteps?: Record<number, number> },
    workers: number[]
  ) {
    this.weights = initial.weights.slice()
    this.batchNormStats = initial.batchNormStats.slice()
    this.optimizer = initial.optimizer ?? createOptimizerState(settings.kind, this.weights.length)
    this.version = initial.version ?? 0
    for (const w of workers) {
      this.steps.set(w, initial.workerSteps?.[w] ?? 0)
      this.live.add(w)
    }
    // A resumed sync run continues from the round its slowest worker reached.
    this.rounds = Math.min(...workers.map((w) => this.steps.get(w) ?? 0))
  }

  stepsOf(worker: number): number {
    return this.steps.get(worker) ?? 0
  }

  liveWorkers(): number[] {
    return [...this.live].sort((a, b) => a - b)
  }

  /** May `worker` pull weights for its next step now? */
  canServe(worker: number): boolean {
    const step = this.stepsOf(worker)
    if (this.settings.mode === 'async') return true
    if (this.settings.mode === 'sync') return step <= this.rounds && !this.pending.has(worker)
    const slowest = Math.min(...this.liveWorkers().map((w) => this.stepsOf(w)))
    return step - slowest <= this.settings.staleness
  }

  /** Take one worker's update; returns what was applied (nothing yet when a sync round is incomplete). */
  push(update: WorkerUpdate): AppliedUpdate[] {
    this.steps.set(update.worker, this.stepsOf(update.worker) + 1)
    if (this.settings.mode !== 'sync') return [this.apply([update])]
    this.pending.set(update.worker, update)
    return this.completeRound()
  }

  /** A worker finished its data or died: it no longer holds back sync rounds or SSP gates. */
  removeWorker(worker: number): AppliedUpdate[] {
    this.live.delete(worker)
    this.pending.delete(worker)
    return this.settings.mode === 'sync' ? this.completeRound() : []
  }

  /** A restarted worker joins again at the step it had reached. */
  addWorker(worker: number): void {
    this.live.add(worker)
  }

  /** Has `worker` pushed an update that waits for the rest of its sync round? */
  isPending(worker: number): boolean {
    return this.pending.has(worker)
  }

  /**
   * The state a checkpoint holds. A step still pending in a sync round is not in the
   * weights, so it is not counted either: a run resumed from here does that step again.
   */
  exportState(): ServerState {
    const workerSteps = Object.fromEntries([...this.steps].map(([w, steps]) => [w, this.pending.has(w) ? steps - 1 : steps]))
    return { weights: this.weights, batchNormStats: this.batchNormStats, optimizer: this.optimizer, version: this.version, workerSteps }
  }

  private completeRound(): AppliedUpdate[] {
    const live = this.liveWorkers()
    if (live.length === 0 || this.pending.size === 0 || !live.every((w) => this.pending.has(w))) return []
    const updates = live.map((w) => this.pending.get(w)!)
    this.pending.clear()
    this.rounds++
    const applied = this.apply(updates)
    return updates.map((u) => ({ ...applied, worker: u.worker }))
  }

  /** Average the updates (in the order given), then apply them as one optimizer step. */
  private apply(updates: WorkerUpdate[]): AppliedUpdate {
    const first = updates[0]!
    let gradients = first.gradients
    let stats = first.batchNormStats
    if (updates.length > 1) {
      gradients = new Float32Array(gradients.length)
      stats = new Float32Array(stats.length)
      for (const u of updates) {
        for (let i = 0; i < gradients.length; i++) gradients[i] = gradients[i]! + u.gradients[i]! / updates.length
        for (let i = 0; i < stats.length; i++) stats[i] = stats[i]! + u.batchNormStats[i]! / updates.length
      }
    }
    const staleness = this.version - Math.min(...updates.map((u) => u.version))
    const lr = this.settings.stalenessAwareLr ? this.settings.lr / (1 + staleness) : this.settings.lr
    applyUpdate(this.weights, gradients, this.optimizer, this.settings, lr)
    if (stats.length > 0) mergeBatchNormStats(this.batchNormStats, stats)
    this.version++
    return { worker: first.worker, version: this.version, staleness, lr }
  }
}
