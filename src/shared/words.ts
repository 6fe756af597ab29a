/** Counts in words, the same in the CLI, the reports and the app: `1 shard`, `2 shards`, `1,200 samples`. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : nouns}`
}

/** A size in decimal units (1 KB = 1,000 bytes, as the README's and the bench's figures are), the same in the CLI and the app: `829.4 KB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

