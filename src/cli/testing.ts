import { afterEach, beforeEach, vi } from 'vitest'

/**
 * For CLI tests that call main([...]) in-process: captures what each test writes to
 * stdout and stderr (reset before every test), so the test reads it as a user would.
 */
export function captureCliOutput(): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' }
  beforeEach(() => {
    output.stdout = ''
    output.stderr = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((output.stdout += String(chunk)), true))
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((output.stderr += String(chunk)), true))
  })
  afterEach(() => vi.restoreAllMocks())
  return output
}
