/**
 * Runs `fn` once the next frame is on screen: requestAnimationFrame runs before a paint,
 * a timeout queued from it runs after. For work that must not hold up what the user is
 * waiting to see. Returns a cancel function.
 */
export function afterNextPaint(fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  const frame = requestAnimationFrame(() => (timer = setTimeout(fn)))
  return () => {
    cancelAnimationFrame(frame)
    clearTimeout(timer)
  }
}
