import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { isRecoverable } from './recoverable.ts';

/** How many times a call is made, and how long to wait between attempts. */
export interface RetryPolicy extends BackoffOptions {
  /** Attempts in all, the first one included. */
  attempts: number;
}

/**
 * Makes `call` until it succeeds, the policy's attempts are used up, or it
 * fails with an error {@link isRecoverable} rejects; waits with backoff and
 * full jitter between attempts. `attempt` (0-based) lets the call pick
 * another server each time. Throws the last error; an abort ends the waiting.
 */
export async function withRetries<T>(policy: RetryPolicy, call: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (attempt + 1 >= policy.attempts || signal?.aborted || !isRecoverable(err)) throw err;
    }
    await sleep(backoffDelay(attempt, policy), undefined, signal ? { signal } : {});
  }
}
