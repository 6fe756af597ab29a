/** Counts in words, the same in the CLI, the reports and the app: `1 shard`, `2 shards`, `1,200 samples`. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : nouns}`
}
