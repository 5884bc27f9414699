import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Callers waiting until the applied document reaches a revision (a peer
 * that was sent a request made after a DDL statement this agent has not
 * applied yet: read-your-DDL).
 */
export class RevisionWaiters {
  readonly #waiters = new Set<{ revision: number; wake: () => void }>();

  /** Resolves true once `current()` reaches `revision`, false after `timeoutMs`. */
  async waitFor(revision: number, current: () => number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (current() >= revision) return true;
    const stop = new AbortController();
    const abort = () => stop.abort();
    signal?.addEventListener('abort', abort, { once: true });
    let wake!: () => void;
    const reached = new Promise<boolean>((resolve) => (wake = () => resolve(true)));
    const waiter = { revision, wake };
    this.#waiters.add(waiter);
    try {
      return await Promise.race([reached, sleep(timeoutMs, false, { signal: stop.signal }).catch(() => false)]);
    } finally {
      this.#waiters.delete(waiter);
      stop.abort();
      signal?.removeEventListener('abort', abort);
    }
  }

  /** The applied revision is now `revision`: wake everyone waiting for it or less. */
  reached(revision: number): void {
    for (const waiter of this.#waiters) if (waiter.revision <= revision) waiter.wake();
  }
}
