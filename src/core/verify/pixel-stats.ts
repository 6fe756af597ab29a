/**
 * Per-channel pixel statistics, raw (as stored) and as a model sees them after the
 * configured normalisation: for 8-bit pixels (x / 255 − mean) / std, as torchvision's
 * ToTensor + Normalize; float32 `npy` data is meant to be stored already normalised,
 * so it is taken as is. Sums are merged per image; mean and std come at the end.
 */
import type { ChannelStats } from '../../shared/contract/verify'
import type { PixelSums } from './inspect-image'

export interface Normalization {
  mean: number[]
  std: number[]
}

export function emptySums(channels: number): PixelSums {
  return {
    count: 0,
    sum: new Array<number>(channels).fill(0),
    sumSq: new Array<number>(channels).fill(0),
    min: new Array<number>(channels).fill(Infinity),
    max: new Array<number>(channels).fill(-Infinity)
  }
}

export function mergeSums(into: PixelSums, add: PixelSums): void {
  into.count += add.count
  for (let c = 0; c < into.sum.length; c++) {
    into.sum[c]! += add.sum[c] ?? 0
    into.sumSq[c]! += add.sumSq[c] ?? 0
    into.min[c] = Math.min(into.min[c]!, add.min[c] ?? Infinity)
    into.max[c] = Math.max(into.max[c]!, add.max[c] ?? -Infinity)
  }
}

/** The sums of one image's 8-bit pixels after normalisation (a linear map, so sums transform exactly). */
export function normaliseSums(raw: PixelSums, norm: Normalization): PixelSums {
  const out = emptySums(raw.sum.length)
  out.count = raw.count
  for (let c = 0; c < raw.sum.length; c++) {
    const m = norm.mean[c] ?? norm.mean[0] ?? 0
    const s = norm.std[c] ?? norm.std[0] ?? 1
    const n = raw.count
    const sum = raw.sum[c]! / 255
    const sumSq = raw.sumSq[c]! / (255 * 255)
    out.sum[c] = (sum - n * m) / s
    out.sumSq[c] = (sumSq - 2 * m * sum + n * m * m) / (s * s)
    out.min[c] = (raw.min[c]! / 255 - m) / s
    out.max[c] = (raw.max[c]! / 255 - m) / s
  }
  return out
}

export function channelStats(sums: PixelSums): ChannelStats {
  const n = Math.max(1, sums.count)
  const mean = sums.sum.map((s) => s / n)
  const std = sums.sumSq.map((s2, c) => Math.sqrt(Math.max(0, s2 / n - mean[c]! * mean[c]!)))
  const round = (x: number) => Math.round(x * 1e4) / 1e4
  return { mean: mean.map(round), std: std.map(round), min: sums.min.map(round), max: sums.max.map(round) }
}
