import { describe, expect, it } from 'vitest'
import { checkTrainingLossFalling } from './health'

/** Step losses falling from `from` to `to` with ±noise alternating (a noisy but healthy run). */
function noisy(steps: number, from: number, to: number, noise: number): number[] {
  return Array.from({ length: steps }, (_, i) => from + ((to - from) * i) / (steps - 1) + (i % 2 === 0 ? noise : -noise))
}

/** Mean loss of each of `epochs` equal slices of the steps. */
function byEpoch(steps: number[], epochs: number): number[] {
  const per = steps.length / epochs
  return Array.from({ length: epochs }, (_, k) => steps.slice(k * per, (k + 1) * per).reduce((a, b) => a + b, 0) / per)
}

describe('training-loss-falling', () => {
  // [case, step losses, epochs, passes]
  const cases: [string, number[], number, boolean][] = [
    ['falls steadily over 3 epochs', noisy(30, 2.3, 1.0, 0.05), 3, true],
    // An async run: noisy steps, the last epoch slightly above the second (failed before).
    ['falls, last epoch a little above the one before', [...noisy(10, 2.3, 1.4, 0.3), ...noisy(10, 1.4, 1.2, 0.3), ...noisy(10, 1.35, 1.35, 0.3)], 3, true],
    ['one epoch, the first and last steps noisy but the thirds falling', [2.3, 1.2, 2.2, 2.0, 1.8, 1.9, 1.5, 1.6, 2.4], 1, true],
    ['flat', noisy(30, 2.3, 2.3, 0.2), 3, false],
    ['rising (learning rate too high)', noisy(30, 2.3, 4.0, 0.1), 3, false]
  ]
  for (const [name, steps, epochs, passes] of cases) {
    it(`${name}: ${passes ? 'passes' : 'fails'}`, () => {
      const check = checkTrainingLossFalling({ stepLosses: steps, epochTrainLoss: byEpoch(steps, epochs) })
      expect(check.passed, check.detail).toBe(passes)
      expect(check.detail).toMatch(/first vs last third of \d+ steps/)
      if (!passes) expect(check.causes.join(' ')).toMatch(/learning rate/)
    })
  }

  it('without step losses compares the first and last epoch; with too few steps it fails and says why', () => {
    expect(checkTrainingLossFalling({ stepLosses: [], epochTrainLoss: [2.1, 1.7, 1.75] }).passed).toBe(true)
    const short = checkTrainingLossFalling({ stepLosses: [2.0, 1.0], epochTrainLoss: [1.5] })
    expect(short.passed).toBe(false)
    expect(short.detail).toMatch(/too few/)
  })
})
