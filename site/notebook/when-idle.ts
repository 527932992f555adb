// Work that can wait for a quiet moment: `job` runs in its own task when the page is idle (at the
// latest after `timeoutMs`), so several jobs never add up into one long task. Returns a cancel.
export function whenIdle(job: () => void, timeoutMs = 2000): () => void {
  if (typeof requestIdleCallback === 'function') {
    const id = requestIdleCallback(job, { timeout: timeoutMs });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(job, 50);
  return () => clearTimeout(id);
}
