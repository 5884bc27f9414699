import { addStatusRoutes } from './status/status-routes.ts';
import { closeWithin } from '../shared/closing.ts';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../shared/errors.ts';
import { startJsonServer, type JsonServer } from '../shared/http/json-server.ts';
import { Router } from '../shared/http/router.ts';
import type { Logger } from '../shared/logging.ts';
import { CFLUX_VERSION } from '../shared/version.ts';
import { ManagerApiContext } from './api/api-context.ts';
import { addMetadataRoutes } from './api/metadata-routes.ts';
import { addNodeRoutes } from './api/node-routes.ts';
import { MetadataWatchHub } from './long-poll/metadata-watch-hub.ts';
import { RestoreWindow } from './api/restore-window.ts';
import { ManagerMetrics } from './manager-metrics.ts';
import type { ManagerOptions } from './manager-settings.ts';
import { EtcdStore } from './store/etcd-store.ts';
import { MemoryStore } from './store/memory-store.ts';
import { ManagerAuth } from './api/manager-auth.ts';
import type { ManagerSecrets } from './manager-secrets.ts';
import type { ManagerInfo, Store } from './store/store.ts';

/** Deadline of a single etcd call: long enough for a busy etcd, short enough to answer 503 promptly. */
const ETCD_CALL_TIMEOUT_MS = 3000;
/** The manager's own lease; agents never depend on it, so a generous TTL costs nothing. */
const MANAGER_LEASE_TTL_MS = 15_000;

export type ManagerState = 'starting' | 'running' | 'stopping' | 'stopped';

/** A running `cflux manager`: HTTP API, store, long-poll hub and housekeeping. */
export class Manager {
  readonly options: ManagerOptions;
  readonly info: ManagerInfo;
  readonly store: Store;
  readonly #logger: Logger;
  readonly #hub: MetadataWatchHub;
  readonly #metrics: ManagerMetrics;
  readonly #housekeeping = new AbortController();
  readonly #secrets: ManagerSecrets;
  readonly #auth: ManagerAuth;
  #server: JsonServer | undefined;
  #pruneLoop: Promise<void> | undefined;
  #state: ManagerState = 'starting';
  #stopping: Promise<void> | undefined;

  constructor(options: ManagerOptions, logger: Logger, secrets: ManagerSecrets = {}, store?: Store) {
    this.options = options;
    this.#secrets = secrets;
    this.#auth = new ManagerAuth(secrets);
    this.#logger = logger.child({ component: 'manager' });
    this.store =
      store ??
      (options.etcdEndpoints.length > 0
        ? new EtcdStore({
            endpoints: options.etcdEndpoints,
            prefix: options.etcdPrefix,
            callTimeoutMs: ETCD_CALL_TIMEOUT_MS,
            logger: logger.child({ component: 'etcd-store' }),
            ...(secrets.etcdTls ? { tls: secrets.etcdTls } : {}),
          })
        : new MemoryStore());
    this.#hub = new MetadataWatchHub(this.store, logger.child({ component: 'long-poll' }), options.pollAnswerRate);
    this.#metrics = new ManagerMetrics(this.store, this.#hub);
    this.info = {
      id: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      hostname: hostname(),
      listen: `${options.listen.host}:${options.listen.port}`,
      version: CFLUX_VERSION,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
  }

  get state(): ManagerState {
    return this.#state;
  }

  /** Where the API listens (after start). */
  get url(): string {
    const address = this.#server?.address ?? this.options.listen;
    const host = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
    return `${this.#secrets.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  async start(): Promise<void> {
    const restoreWindow = this.store.kind === 'memory' && this.options.restoreWindow > 0 ? new RestoreWindow(this.options.restoreWindow) : undefined;
    const api = new ManagerApiContext({ store: this.store, hub: this.#hub, metrics: this.#metrics, options: this.options, logger: this.#logger, auth: this.#auth, ...(restoreWindow ? { restoreWindow } : {}) });
    const router = new Router();
    addNodeRoutes(router, api);
    addMetadataRoutes(router, api);
    addStatusRoutes(router, api);
    router.add('GET', '/health', async () => this.#health(), 'public');
    router.add('GET', '/metrics', async () => ({
      status: 200,
      text: await this.#metrics.registry.metrics(),
      contentType: this.#metrics.registry.contentType,
    }));
    this.#server = await startJsonServer({
      router,
      listen: this.options.listen,
      logger: this.#logger,
      ...this.#auth.serverOptions(),
      ...(this.#secrets.tls ? { tls: this.#secrets.tls } : {}),
      onAnswered: (route, method, status, seconds) => {
        this.#metrics.requests.inc({ route, method, status: String(status) });
        if (status !== 204 && !route.includes('/versions/')) this.#metrics.requestSeconds.observe({ route }, seconds);
      },
    });
    this.info.listen = `${this.#server.address.host}:${this.#server.address.port}`;
    try {
      await this.store.registerManager(this.info, MANAGER_LEASE_TTL_MS);
    } catch (err) {
      // etcd may come later; the manager still serves (answering 503 meanwhile).
      this.#logger.warn({ reason: messageOf(err) }, 'cannot list this manager in the store yet');
    }
    this.#pruneLoop = this.#pruneDeadNodes(this.#housekeeping.signal);
    this.#setState('running');
    // Before "manager listening": whoever waits for that line has the warning too.
    if (this.#auth.insecure) {
      this.#logger.warn({ listen: this.info.listen }, 'INSECURE: the manager runs without a token (--insecure); anyone who reaches this port can change every influxd of every cluster. Set CFLUX_MANAGER_TOKEN.');
    }
    this.#logger.info({ listen: this.info.listen, url: this.url, store: this.store.kind, id: this.info.id, ttlSeconds: this.options.ttl / 1000, tls: this.#secrets.tls !== undefined }, 'manager listening');
  }

  /**
   * Graceful shutdown: stop accepting, answer open long-polls with 204,
   * revoke the manager's lease, close the store. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#setState('stopping');
      this.#housekeeping.abort();
      const closing = this.#server ? closeWithin(this.#server, this.options.shutdownTimeout) : undefined;
      await this.#hub.close();
      await closing;
      await this.#pruneLoop;
      await this.store.deregisterManager(this.info.id).catch((err: unknown) => this.#logger.warn({ reason: messageOf(err) }, 'cannot revoke the manager lease'));
      await this.store.close();
      this.#setState('stopped');
    })();
    return this.#stopping;
  }

  async #health() {
    if (this.#state !== 'running') return { status: 503, body: { error: `manager is ${this.#state}` } };
    try {
      await this.store.ping();
      return { status: 200, body: { status: 'ok', store: this.store.kind, id: this.info.id, version: CFLUX_VERSION } };
    } catch (err) {
      return { status: 503, body: { error: messageOf(err) } };
    }
  }

  /** Removes records of nodes dead longer than --prune-after; checked every min(60 s, prune-after / 2). */
  async #pruneDeadNodes(signal: AbortSignal): Promise<void> {
    const interval = Math.min(60_000, this.options.pruneAfter / 2);
    while (!signal.aborted) {
      try {
        await sleep(interval, undefined, { signal });
        const pruned = await this.store.pruneNodes(this.options.pruneAfter);
        if (pruned > 0) this.#logger.info({ pruned }, 'pruned dead nodes');
      } catch (err) {
        if (!signal.aborted) this.#logger.warn({ reason: messageOf(err) }, 'pruning dead nodes failed');
      }
    }
  }

  #setState(next: ManagerState): void {
    if (next === this.#state) return;
    this.#logger.info({ from: this.#state, to: next }, 'manager state');
    this.#state = next;
  }
}
