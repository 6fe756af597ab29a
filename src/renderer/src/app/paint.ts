/**
 * Deferring work that must not hold up what the user is waiting to see.
 */

/**
 * Runs `fn` once the next frame is on screen: requestAnimationFrame runs before a paint,
 * a timeout queued from it runs after. Returns a cancel function.
 */
export function afterNextPaint(fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  const frame = requestAnimationFrame(() => (timer = setTimeout(fn)))
  return () => {
    cancelAnimationFrame(frame)
    clearTimeout(timer)
  }
}

/** Runs `fn` when the page has a moment (soon in any case); at once where there is no requestIdleCallback. */
export function whenIdle(fn: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 300 })
  else fn()
}
