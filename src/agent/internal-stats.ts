import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../shared/errors.ts';
import type { Logger } from '../shared/logging.ts';
import type { KeyFigures } from './agent-metrics.ts';
import type { InfluxdQueryClient } from './influxd/influxd-query-client.ts';
import type { ResultSeries } from '../influxql/query-result.ts';
import { NODE_LOCAL_DATABASE as INTERNAL_DATABASE } from '../cluster/placement.ts';

/** The retention policy influxd's monitor creates on `_internal`. */
const MONITOR_RETENTION_POLICY = 'monitor';
const INTERNAL_MEASUREMENT = 'clusterflux';

/** Field names in `_internal` (snake_case, as influxd names its own) for each key figure. */
const FIELDS: ReadonlyArray<readonly [string, keyof KeyFigures]> = [
  ['proxy_requests', 'proxyRequests'],
  ['proxy_server_errors', 'proxyServerErrors'],
  ['proxy_points_written', 'proxyPointsWritten'],
  ['proxy_bytes_written', 'proxyBytesWritten'],
  ['peer_requests', 'peerRequests'],
  ['peer_errors', 'peerErrors'],
  ['metadata_revision', 'metadataRevision'],
  ['metadata_reconcile_failures', 'metadataReconcileFailures'],
  ['hh_queued_records', 'hhQueuedRecords'],
  ['hh_queued_bytes', 'hhQueuedBytes'],
  ['hh_replayed_points', 'hhReplayedPoints'],
  ['hh_dropped_records', 'hhDroppedRecords'],
];

/** What the writer last found, so that a lasting condition is logged once. */
type Condition = 'writing' | 'no-database' | 'failing';

export interface InternalStatsOptions {
  node: string;
  hostname: string;
  /** Period between points (`--internal-stats-interval`); 0: never write. */
  intervalMs: number;
  figures: () => Promise<KeyFigures>;
  /** Whether the local influxd answered its last check (no attempt while it is down). */
  influxdReachable: () => boolean;
  /** The local influxd with the agent's own credentials: where `_internal` and its retention policies are looked up. */
  influxd: InfluxdQueryClient;
  /** Writes line protocol to the local influxd with the agent's own credentials. */
  write: (params: URLSearchParams, body: Buffer, signal: AbortSignal) => Promise<{ status: number; body: string }>;
  logger: Logger;
}

/**
 * Writes the agent's key figures into the local influxd's `_internal`
 * database, beside influxd's own statistics, so that one `SELECT` on a node
 * shows both. Only while influxd keeps that database (its `[monitor]
 * store-enabled`, on by default): the agent never creates it. Counters are
 * totals since the agent started, as influxd's own are.
 */
export class InternalStats {
  readonly #options: InternalStatsOptions;
  #condition: Condition | undefined;

  constructor(options: InternalStatsOptions) {
    this.#options = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    if (this.#options.intervalMs === 0) return;
    while (!signal.aborted) {
      await sleep(this.#options.intervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || !this.#options.influxdReachable()) continue;
      try {
        await this.#writeOnce(signal);
      } catch (err) {
        if (signal.aborted) return;
        this.#report('failing', () => this.#options.logger.warn({ reason: messageOf(err) }, `cannot write the agent's statistics into influxd's ${INTERNAL_DATABASE} database; retrying every interval`));
      }
    }
  }

  async #writeOnce(signal: AbortSignal): Promise<void> {
    const retentionPolicy = await this.#retentionPolicy();
    if (retentionPolicy === null) {
      this.#report('no-database', () => this.#options.logger.info(`influxd has no ${INTERNAL_DATABASE} database (its [monitor] store-enabled is off, or the database was dropped): the agent's statistics are not written there`));
      return;
    }
    const params = new URLSearchParams({ db: INTERNAL_DATABASE });
    if (retentionPolicy !== undefined) params.set('rp', retentionPolicy);
    const answer = await this.#options.write(params, Buffer.from(this.#line(await this.#options.figures())), signal);
    if (answer.status !== 204) throw new Error(`influxd answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    this.#report('writing', () => this.#options.logger.info({ every: this.#options.intervalMs / 1000 }, `writing the agent's statistics into influxd's ${INTERNAL_DATABASE} database`));
  }

  /** Where to write: the `monitor` policy, undefined for the default one, null when influxd keeps no `_internal`. */
  async #retentionPolicy(): Promise<string | undefined | null> {
    const databases = await this.#options.influxd.runOrThrow('SHOW DATABASES');
    if (!firstColumn(databases.series).includes(INTERNAL_DATABASE)) return null;
    const policies = await this.#options.influxd.runOrThrow(`SHOW RETENTION POLICIES ON "${INTERNAL_DATABASE}"`);
    return firstColumn(policies.series).includes(MONITOR_RETENTION_POLICY) ? MONITOR_RETENTION_POLICY : undefined;
  }

  /** One point, stamped by influxd on arrival. */
  #line(figures: KeyFigures): string {
    const tags = [...(this.#options.hostname ? [`hostname=${escapeTag(this.#options.hostname)}`] : []), `node=${escapeTag(this.#options.node)}`];
    const fields = FIELDS.map(([field, key]) => `${field}=${Math.round(figures[key])}i`);
    return `${INTERNAL_MEASUREMENT},${tags.join(',')} ${fields.join(',')}\n`;
  }

  /** Logs `announce` when the condition changes (the first success, the first failure of a streak...). */
  #report(condition: Condition, announce: () => void): void {
    if (this.#condition === condition) return;
    this.#condition = condition;
    announce();
  }
}

/** The first column of every row of a SHOW answer. */
function firstColumn(series: ResultSeries[] | undefined): unknown[] {
  return (series ?? []).flatMap((one) => (one.values ?? []).map((row) => row[0]));
}

/** A tag value in line protocol: commas, spaces and equals signs escaped. */
function escapeTag(value: string): string {
  return value.replace(/[,= ]/g, (char) => `\\${char}`);
}
