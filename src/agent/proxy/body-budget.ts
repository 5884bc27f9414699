/** The release of a request that holds nothing. */
const NOTHING_HELD = (): void => {};

/**
 * A bound on the request bodies the proxy holds at once, across connections
 * (`--max-buffered-bodies`). A body is read whole before its write goes to its
 * owners (docs/agent.md "Memory"); without a bound, N clients sending 25 MB
 * bodies at once hold N × 25 MB. A request whose bytes do not fit waits,
 * unread, so TCP holds its client back, until earlier ones end; requests are
 * served in arrival order, and a body larger than the whole budget goes
 * alone (the per-request limit is `--max-body-size`).
 */
export class BodyBudget {
  readonly #limitBytes: number;
  #used = 0;
  readonly #waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
  }

  /** Bytes held by requests now. */
  get used(): number {
    return this.#used;
  }

  /** Requests waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with the release function once `bytes` fit (call it once the
   * body is no longer held); rejects if `signal` aborts first (the client
   * left), having taken nothing.
   */
  take(bytes: number, signal: AbortSignal): Promise<() => void> {
    // A request without a body (a GET query, /ping) holds nothing: it never waits behind writes.
    if (bytes === 0) return Promise.resolve(NOTHING_HELD);
    if (this.#waiting.length === 0 && this.#fits(bytes)) return Promise.resolve(this.#grant(bytes));
    return new Promise((resolve, reject) => {
      const entry = {
        bytes,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#grant(bytes));
        },
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(entry);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('the client left while its request waited for room'));
        this.#wakeWaiting();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Whether `bytes` fit now: within the limit, or alone when larger than it. */
  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limitBytes;
  }

  #grant(bytes: number): () => void {
    this.#used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
      this.#wakeWaiting();
    };
  }

  /** Grants waiting requests in order while the first one fits. */
  #wakeWaiting(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) this.#waiting.shift()!.grant();
  }
}
