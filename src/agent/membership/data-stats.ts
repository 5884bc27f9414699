import { quoteIdentifier } from '../../influxql/influxql-quoting.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';

/** What this node's influxd holds, for the operator's overview (heartbeat stats, the manager's status page). */
export interface DataFigures {
  /** Measurements (placement units) of the cluster's databases. */
  units: number;
  /** Bytes its shards take on disk. */
  diskBytes: number;
  /** Points influxd stored since it started (its shards' writePointsOk). */
  pointsWritten: number;
}

/** How old the figures may get before a heartbeat asks influxd again (they cost a few SHOWs). */
const REFRESH_MS = 30_000;

/**
 * Figures of the local influxd, refreshed in the background at most every
 * 30 s: `SHOW STATS FOR 'shard'` for disk bytes and points written, `SHOW
 * MEASUREMENT EXACT CARDINALITY` per database for the units. A failure keeps
 * the last figures (the heartbeat never waits for influxd).
 */
export class DataStats {
  readonly #query: (statement: string) => Promise<string>;
  readonly #databases: () => string[];
  readonly #logger: Logger;
  #figures: DataFigures | undefined;
  #refreshedAt = -Infinity;
  #refreshing: Promise<void> | undefined;

  constructor(query: (statement: string) => Promise<string>, databases: () => string[], logger: Logger) {
    this.#query = query;
    this.#databases = databases;
    this.#logger = logger;
  }

  /** The latest figures (undefined until the first refresh ends); starts a refresh when they are old. */
  latest(): DataFigures | undefined {
    if (performance.now() - this.#refreshedAt >= REFRESH_MS && !this.#refreshing) {
      this.#refreshing = this.#refresh()
        .catch((err: unknown) => this.#logger.debug({ reason: messageOf(err) }, 'cannot read data figures from influxd yet'))
        .finally(() => (this.#refreshing = undefined));
    }
    return this.#figures;
  }

  async #refresh(): Promise<void> {
    const shards = seriesOf(await this.#query(`SHOW STATS FOR 'shard'`));
    let diskBytes = 0;
    let pointsWritten = 0;
    for (const series of shards) {
      diskBytes += columnOf(series, 'diskBytes');
      pointsWritten += columnOf(series, 'writePointsOk');
    }
    const databases = this.#databases().filter((database) => database !== '_internal');
    let units = 0;
    if (databases.length > 0) {
      const answer = JSON.parse(await this.#query(databases.map((database) => `SHOW MEASUREMENT EXACT CARDINALITY ON ${quoteIdentifier(database)}`).join('; '))) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
      for (const result of answer.results ?? []) units += Number(result.series?.[0]?.values?.[0]?.[0] ?? 0);
    }
    this.#figures = { units, diskBytes, pointsWritten };
    this.#refreshedAt = performance.now();
  }
}

type Series = { tags?: Record<string, string>; columns: string[]; values?: unknown[][] };

function seriesOf(text: string): Series[] {
  const answer = JSON.parse(text) as { results?: Array<{ series?: Series[]; error?: string }>; error?: string };
  const error = answer.error ?? answer.results?.[0]?.error;
  if (error) throw new Error(error);
  return answer.results?.[0]?.series ?? [];
}

function columnOf(series: Series, column: string): number {
  const index = series.columns.indexOf(column);
  const value = index < 0 ? undefined : series.values?.[0]?.[index];
  return typeof value === 'number' ? value : 0;
}
