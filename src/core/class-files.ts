/**
 * Tiny ImageNet's class files, read the same way by the importer and the verifier:
 * `wnids.txt` (line i is the class id of label i) and `words.txt` (id TAB name; the name
 * may hold commas and spaces). Reading the files, and what a missing one means, is the
 * caller's business.
 */
export const WNIDS_FILE = 'wnids.txt'
export const WORDS_FILE = 'words.txt'

/** Lines without surrounding spaces, blank ones left out; \n or \r\n. */
function nonBlankLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
}

/** The class ids of wnids.txt in label order. */
export function parseWnids(text: string): string[] {
  return nonBlankLines(text)
}

/**
 * Class id → name from words.txt. `only` keeps just those ids: Tiny ImageNet's words.txt
 * names all 82,115 ImageNet synsets for its 200 classes.
 */
export function parseWords(text: string, only?: ReadonlySet<string>): Map<string, string> {
  const names = new Map<string, string>()
  for (const line of nonBlankLines(text)) {
    const tab = line.indexOf('\t')
    if (tab <= 0) continue
    const id = line.slice(0, tab)
    if (!only || only.has(id)) names.set(id, line.slice(tab + 1).trim())
  }
  return names
}
