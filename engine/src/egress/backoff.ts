/**
 * The wait before attempt `attempt + 1` after `attempt` failed: doubling from `initialMs`, capped at `maxMs`,
 * with jitter (50–100 %) so many senders that failed together do not retry together.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + Math.random() / 2));
}
