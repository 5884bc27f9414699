import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../shared/backoff.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { LocalInfluxd } from './local-influxd.ts';

/** The last known reachability of the local influxd. */
export interface InfluxdStatus {
  reachable: boolean;
  version?: string;
  /** Whether influxd requires credentials, as last seen. */
  authEnabled?: boolean;
  /** Why it is not reachable. */
  reason?: string;
  checkedAt?: string;
}

/**
 * Watches the local influxd's /ping: with backoff (200 ms up to the check
 * interval) while it is down, every check interval while it is up. Logs each
 * change once, not every failed ping.
 */
export class InfluxdMonitor {
  readonly #influxd: Pick<LocalInfluxd, 'url' | 'ping'>;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #status: InfluxdStatus = { reachable: false, reason: 'not checked yet' };
  #lastVersion: string | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(influxd: Pick<LocalInfluxd, 'url' | 'ping'>, intervalMs: number, logger: Logger) {
    this.#influxd = influxd;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  /** The version influxd last reported (kept while it is down: answers still name it). */
  get lastVersion(): string | undefined {
    return this.#lastVersion;
  }

  get status(): InfluxdStatus {
    return { ...this.#status };
  }

  /** Pings once and records the result. */
  async check(signal?: AbortSignal): Promise<InfluxdStatus> {
    const checkedAt = new Date().toISOString();
    try {
      const { version, authEnabled } = await this.#influxd.ping(signal);
      if (!this.#status.reachable) this.#logger.info({ url: this.#influxd.url, version, authEnabled }, 'influxd reachable');
      this.#status = { reachable: true, version, authEnabled, checkedAt };
      this.#lastVersion = version;
      for (const wake of this.#waiters) wake();
    } catch (err) {
      // A ping cut short by this agent stopping says nothing about influxd (and the demo's
      // Ctrl-C printed "influxd not reachable ... The operation was aborted" for it).
      if (signal?.aborted) return this.status;
      const reason = messageOf(err);
      if (this.#status.reachable || this.#status.reason === 'not checked yet') this.#logger.warn({ url: this.#influxd.url, reason }, 'influxd not reachable');
      this.#status = { reachable: false, reason, checkedAt };
    }
    return this.status;
  }

  /** Checks until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const status = await this.check(signal);
      failures = status.reachable ? 0 : failures + 1;
      const delay = status.reachable ? this.#intervalMs : Math.max(50, backoffDelay(failures, { baseMs: 200, capMs: this.#intervalMs }));
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Resolves once influxd answered a ping (at once if it already has); rejects on abort. */
  async waitUntilReachable(signal: AbortSignal): Promise<InfluxdStatus> {
    while (!this.#status.reachable) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    return this.status;
  }
}
