import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A rate limit in bytes per second shared by everything that takes from it:
 * `take(n)` resolves when `n` bytes fit (a burst of one second is allowed).
 */
export class TokenBucket {
  readonly #perSecond: number;
  #tokens: number;
  #at = performance.now();

  constructor(bytesPerSecond: number) {
    this.#perSecond = bytesPerSecond;
    this.#tokens = bytesPerSecond;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#at) / 1000) * this.#perSecond);
      this.#at = now;
      // A take larger than the bucket goes once it is full (it would never fit otherwise).
      if (this.#tokens >= Math.min(bytes, this.#perSecond)) {
        this.#tokens -= bytes;
        return;
      }
      const waitMs = ((Math.min(bytes, this.#perSecond) - this.#tokens) / this.#perSecond) * 1000;
      await sleep(Math.max(1, waitMs), undefined, signal ? { signal } : {});
    }
  }
}
