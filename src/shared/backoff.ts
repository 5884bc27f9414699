/** Exponential backoff with a cap and "full jitter" (AWS architecture blog). */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Largest delay ever returned, in ms. */
  capMs: number;
  /** Random source in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (0-based): a random value in
 * [0, min(cap, base * 2^attempt)]. Full jitter spreads a herd of agents that
 * lost the manager at the same moment over the whole window.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
