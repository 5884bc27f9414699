import type { Logger } from '../../shared/logging.ts';
import type { MetadataWatch, Store, VersionedMetadata } from '../store/store.ts';

interface Waiter {
  knownVersion: number;
  settle(result: VersionedMetadata | undefined): void;
}

interface ClusterWatch {
  opening: Promise<MetadataWatch>;
  latest: VersionedMetadata;
  waiters: Set<Waiter>;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Pause between slices of answers (a slice is a tenth of the rate, so the
 * default 2,500 a second answers 250 at once, then 250 every 100 ms). Each
 * answer brings the agent's next poll back at once, ~120 µs of the
 * manager's CPU for both; 10,000 answered in one go held every heartbeat
 * behind them for more than a second (p99 1.3-1.5 s at 10,000 agents),
 * paced they take 4 s and leave the heartbeats room (p99 0.2-0.5 s on the
 * same 2-core VM).
 */
const FAN_OUT_PAUSE_MS = 100;

/** The default of `--poll-answer-rate`: long-polls answered per second when a new version arrives. */
export const DEFAULT_POLL_ANSWER_RATE = 2500;

/** How long a cluster's store watch stays open after its last waiter left. */
const IDLE_WATCH_LINGER_MS = 30_000;

/**
 * Long-polls on cluster metadata. One store watch per cluster per process is
 * shared by every waiting request, so 10,000 agents polling cost one etcd
 * watch. A waiter is removed the moment its request ends, times out or is
 * aborted, so abandoned polls leak nothing.
 */
export class MetadataWatchHub {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #clusters = new Map<string, ClusterWatch>();
  /** Answers per slice, and the pause after each (FAN_OUT_PAUSE_MS, longer for rates under 10 a second). */
  readonly #slice: number;
  readonly #pauseMs: number;
  #waiterCount = 0;
  #closed = false;

  constructor(store: Store, logger: Logger, answersPerSecond = DEFAULT_POLL_ANSWER_RATE) {
    this.#store = store;
    this.#logger = logger;
    this.#slice = Math.max(1, Math.round((answersPerSecond * FAN_OUT_PAUSE_MS) / 1000));
    this.#pauseMs = (this.#slice * 1000) / answersPerSecond;
  }

  /** Requests currently waiting for a change. */
  get openWaiters(): number {
    return this.#waiterCount;
  }

  /** Store watches currently open. */
  get openWatches(): number {
    return this.#clusters.size;
  }

  /**
   * Resolves with the cluster's metadata as soon as its version differs from
   * `knownVersion`, or with undefined on timeout, abort or shutdown.
   */
  async waitForChange(cluster: string, knownVersion: number, timeoutMs: number, signal: AbortSignal): Promise<VersionedMetadata | undefined> {
    if (this.#closed || signal.aborted) return undefined;
    const watch = await this.#watch(cluster);
    if (watch.latest.version !== knownVersion) {
      // The watch may lag a write this client already saw; the store decides.
      const current = await this.#store.readMetadata(cluster);
      if (current.version !== knownVersion) return current;
    }
    if (this.#closed || signal.aborted) return undefined;
    return new Promise((resolve) => {
      const finish = (result: VersionedMetadata | undefined) => {
        if (!watch.waiters.delete(waiter)) return;
        this.#waiterCount--;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (watch.waiters.size === 0) this.#scheduleIdleClose(cluster, watch);
        resolve(result);
      };
      const waiter: Waiter = { knownVersion, settle: finish };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      clearTimeout(watch.idleTimer);
      watch.idleTimer = undefined;
      watch.waiters.add(waiter);
      this.#waiterCount++;
    });
  }

  /** Answers every open wait with "no change" and closes every store watch. Safe twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const watches = [...this.#clusters.values()];
    this.#clusters.clear();
    for (const watch of watches) {
      clearTimeout(watch.idleTimer);
      for (const waiter of [...watch.waiters]) waiter.settle(undefined);
    }
    await Promise.all(watches.map((watch) => watch.opening.then((opened) => opened.close(), () => undefined)));
  }

  async #watch(cluster: string): Promise<ClusterWatch> {
    let watch = this.#clusters.get(cluster);
    if (!watch) {
      const created: ClusterWatch = {
        latest: { version: -1, metadata: null },
        waiters: new Set(),
        idleTimer: undefined,
        opening: this.#store.watchMetadata(cluster, (current) => this.#onChange(created, current)),
      };
      watch = created;
      this.#clusters.set(cluster, watch);
      watch.opening.then(
        (opened) => {
          if (created.latest.version === -1) created.latest = opened.initial;
        },
        (err: unknown) => {
          // A failed open is forgotten so the next poll tries again.
          if (this.#clusters.get(cluster) === created) this.#clusters.delete(cluster);
          this.#logger.warn({ cluster, err }, 'cannot watch cluster metadata');
        },
      );
    }
    await watch.opening;
    return watch;
  }

  #onChange(watch: ClusterWatch, current: VersionedMetadata): void {
    watch.latest = current;
    const waiters = [...watch.waiters];
    // Answered a slice at a time, paced (see FAN_OUT_PAUSE_MS). A slice checks
    // the version again: a newer one answers the rest itself.
    const settleFrom = (start: number): void => {
      if (watch.latest !== current) return;
      const end = Math.min(waiters.length, start + this.#slice);
      for (let i = start; i < end; i++) {
        const waiter = waiters[i]!;
        if (waiter.knownVersion !== current.version) waiter.settle(current);
      }
      if (end < waiters.length) setTimeout(settleFrom, this.#pauseMs, end).unref();
    };
    settleFrom(0);
  }

  #scheduleIdleClose(cluster: string, watch: ClusterWatch): void {
    if (this.#closed) return;
    clearTimeout(watch.idleTimer);
    watch.idleTimer = setTimeout(() => {
      if (watch.waiters.size > 0 || this.#clusters.get(cluster) !== watch) return;
      this.#clusters.delete(cluster);
      void watch.opening.then((opened) => opened.close(), () => undefined);
    }, IDLE_WATCH_LINGER_MS);
    watch.idleTimer.unref();
  }
}
