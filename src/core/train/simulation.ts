/**
 * The simulation knobs as arithmetic: how long a transfer of n bytes takes on the
 * simulated network, how long a slow worker sleeps after computing.
 */
export function transferMs(bytes: number, latencyMs: number, bandwidthMBps: number): number {
  return latencyMs + (bandwidthMBps > 0 ? (bytes / (bandwidthMBps * 1e6)) * 1000 : 0)
}

/** A worker at speed factor f takes computeMs/f: it sleeps the difference. */
export function slowdownMs(computeMs: number, speed: number): number {
  return speed >= 1 ? 0 : computeMs * (1 / speed - 1)
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}

/** Exit code of a worker process crashed on purpose by `--crash k@t`. */
export const SIMULATED_CRASH_EXIT_CODE = 3
