import { setTimeout as sleep } from 'node:timers/promises';
import { revisionOf, type ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { pendingUnits, type MemberMove } from '../../cluster/member-moves.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import { NODE_LOCAL_DATABASE, type Placement } from '../../cluster/placement.ts';
import { quoteIdentifier } from '../../influxql/influxql-quoting.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { parseKeepingNumbers } from '../repair/number-text-json.ts';
import type { RawSeries } from '../repair/point-format.ts';
import { repairUnit, type ReplicaAccess } from '../repair/unit-repair.ts';
import { listUnits, movingUnits, type MovingUnit } from './move-plan.ts';
import { TokenBucket } from './token-bucket.ts';

export interface MemberMoverOptions {
  self: string;
  metadata: () => ClusterMetadata;
  placement: () => Placement;
  /** Whether a node answers now (this node: its influxd is reachable). */
  available: (node: string) => boolean;
  /** Whether some node has queued writes for the unit on `node` (hinted handoff): not a source then, while another is. */
  isBehind: (node: string, database: string, measurement: string) => boolean;
  /** Live nodes whose heartbeats report a metadata revision below this one. */
  laggingBehind: (revision: number) => string[];
  /** Whether this agent has applied the manager's newest document. */
  current: () => boolean;
  /** Writes operations to the cluster document (compare-and-swap). */
  apply: (operations: MetadataOperation[]) => Promise<void>;
  access: ReplicaAccess;
  /** Bytes of line protocol per second this agent copies at most (`--move-rate`). */
  bytesPerSecond: number;
  logger: Logger;
}

/** How often the mover looks at the document. */
const TICK_MS = 1000;
/** Units one agent copies at the same time. */
const UNITS_IN_PARALLEL = 2;
/** Copied units are reported to the document at least this often (one compare-and-swap for many). */
const REPORT_EVERY_MS = 1000;
/** A reported unit the document shows copying this long after the report lost its mark (longer than a poll takes to bring our own write back). */
const LOST_MARK_AFTER_MS = 5000;

/**
 * Carries out a move of the data members on this agent (docs/moves.md):
 *
 * - the **coordinator** (the first member, old or target, that answers)
 *   starts copying once every live agent writes to old and new owners, adds
 *   units created since, and finishes the move when every unit is copied;
 * - **every agent** copies the units it is the first available source of,
 *   to their new owners, window by window (the repair machinery: exact
 *   points, idempotent), within `--move-rate`, and reports them done;
 * - once a move has ended (finished or cancelled) and every live agent has
 *   the new placement, **every agent** drops from its own influxd the units
 *   it no longer owns.
 */
export class MemberMover {
  readonly #options: MemberMoverOptions;
  readonly #bucket: TokenBucket;
  /** Units being copied by this agent, `move\0db\0measurement`. */
  readonly #copying = new Set<string>();
  /** Units this agent copied (the document may not say so yet): never copied twice. */
  readonly #copied = new Set<string>();
  /** Copied, not reported yet (with the move they belong to). */
  #finished: Array<{ move: string; database: string; measurement: string; points: number }> = [];
  /**
   * Units this agent reported copied, and when: a document pushed back to a
   * restarted memory manager by an agent that had not seen the report can
   * drop the mark, and the unit (never copied twice here) would stay pending.
   */
  readonly #reported = new Map<string, ReportedUnit>();
  #reportedAt = 0;
  /** The placement signature last seen (members and move); a change to one with no move schedules a sweep. */
  #shape: string | undefined;
  #sweepPending = false;
  /** Units that failed to copy, retried after this time (ms). */
  readonly #retryAt = new Map<string, number>();

  constructor(options: MemberMoverOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(options.bytesPerSecond);
  }

  async run(signal: AbortSignal): Promise<void> {
    const copies = new Set<Promise<void>>();
    while (!signal.aborted) {
      try {
        await this.#tick(signal, copies);
      } catch (err) {
        if (!signal.aborted) this.#options.logger.warn({ reason: messageOf(err) }, 'move step failed; trying again');
      }
      await sleep(TICK_MS, undefined, { signal }).catch(() => undefined);
    }
    await Promise.allSettled(copies);
  }

  async #tick(signal: AbortSignal, copies: Set<Promise<void>>): Promise<void> {
    const metadata = this.#options.metadata();
    const move = metadata.settings.move;
    const shape = JSON.stringify([metadata.settings.dataMembers, move?.id ?? null]);
    // A placement change, or this agent's start (a move may have ended while it was down), is followed by a sweep.
    if (shape !== this.#shape && !move && (this.#shape !== undefined || metadata.settings.dataMembers.includes(this.#options.self))) this.#sweepPending = true;
    if (shape !== this.#shape) {
      this.#copied.clear();
      this.#reported.clear();
    }
    this.#shape = shape;
    if (!move) {
      await this.#report();
      if (this.#sweepPending) await this.#sweep(metadata, signal);
      return;
    }
    this.#reportLostMarks(metadata, move);
    if (this.#coordinates(metadata)) await this.#coordinate(metadata, move, signal);
    this.#startCopies(signal, copies);
    await this.#report();
  }

  /** Starts copies of this node's pending units, up to UNITS_IN_PARALLEL; each one that ends starts the next. */
  #startCopies(signal: AbortSignal, copies: Set<Promise<void>>): void {
    const metadata = this.#options.metadata();
    const move = metadata.settings.move;
    if (signal.aborted || !move || move.phase !== 'copying') return;
    for (const unit of this.#myUnits(metadata)) {
      if (copies.size >= UNITS_IN_PARALLEL) break;
      const key = unitKeyOf(move.id, unit);
      if (this.#copying.has(key) || this.#copied.has(key) || (this.#retryAt.get(key) ?? 0) > Date.now()) continue;
      this.#copying.add(key);
      const copy = this.#copy(metadata, move, unit, signal).finally(() => {
        this.#copying.delete(key);
        copies.delete(copy);
        this.#startCopies(signal, copies);
      });
      copies.add(copy);
    }
  }

  /** Whether this node coordinates: the first member, old or target, that answers. */
  #coordinates(metadata: ClusterMetadata): boolean {
    const everyone = [...new Set([...metadata.settings.dataMembers, ...(metadata.settings.move?.target ?? [])])].sort();
    return everyone.find((node) => this.#options.available(node)) === this.#options.self;
  }

  async #coordinate(metadata: ClusterMetadata, move: MemberMove, signal: AbortSignal): Promise<void> {
    const { logger } = this.#options;
    // Copying starts only when no agent writes to the old owners alone any more.
    const lagging = this.#options.laggingBehind(revisionOf(metadata));
    if (lagging.length > 0 || !this.#options.current()) return;
    // While units are copying there is nothing to decide; the units are listed again only to finish.
    if (move.phase === 'copying' && pendingUnits(metadata).length > 0) return;
    const placement = this.#options.placement();
    const listed = await listUnits(metadata, placement.members.filter(this.#options.available), this.#options.access, signal);
    const units = movingUnits(placement, listed.units);
    if (move.phase === 'dual') {
      await this.#options.apply([{ op: 'startCopying', id: move.id, units: units.map(({ database, measurement }) => ({ database, measurement })) }]);
      logger.info({ move: move.id, units: units.length }, 'every agent writes to old and new owners: copying starts');
      return;
    }
    const unlisted = units.filter((unit) => !move.units[unit.database]?.[unit.measurement]);
    if (unlisted.length > 0) {
      await this.#options.apply([{ op: 'addMovingUnits', id: move.id, units: unlisted.map(({ database, measurement }) => ({ database, measurement })) }]);
      logger.info({ move: move.id, units: unlisted.length }, 'units created since copying started are copied too');
      return;
    }
    if (listed.unlisted.length > 0) return;
    await this.#options.apply([{ op: 'finishMove', id: move.id }]);
    logger.info({ move: move.id, members: move.target }, 'every unit copied: the move is done, the target members hold the data');
  }

  /** Pending units this node is the first available, current source of. */
  #myUnits(metadata: ClusterMetadata): MovingUnit[] {
    const placement = this.#options.placement();
    const mine: MovingUnit[] = [];
    for (const { database, measurement } of pendingUnits(metadata)) {
      const moving = placement.moving(database, measurement);
      if (!moving) {
        // Owners do not change after all (e.g. the database's replication changed): nothing to copy.
        this.#finished.push({ move: metadata.settings.move!.id, database, measurement, points: 0 });
        continue;
      }
      const available = moving.sources.filter(this.#options.available);
      const current = available.filter((node) => !this.#options.isBehind(node, database, measurement));
      if ((current[0] ?? available[0]) === this.#options.self) mine.push({ database, measurement, ...moving });
    }
    return mine;
  }

  async #copy(metadata: ClusterMetadata, move: MemberMove, unit: MovingUnit, signal: AbortSignal): Promise<void> {
    const key = unitKeyOf(move.id, unit);
    const { logger } = this.#options;
    let points = 0;
    try {
      if (!unit.destinations.every(this.#options.available)) throw new Error(`a new owner of ${unit.measurement} is not available`);
      for (const policy of Object.values(metadata.databases[unit.database]?.retentionPolicies ?? {})) {
        const report = await repairUnit(
          { database: unit.database, retentionPolicy: policy.name, measurement: unit.measurement, owners: [this.#options.self, ...unit.destinations], windowSeconds: policy.shardGroupDuration },
          this.#options.access,
          { dryRun: false, signal, receivers: unit.destinations, throttle: (bytes) => this.#bucket.take(bytes, signal) },
        );
        points += report.pointsCopied;
      }
      this.#finished.push({ move: move.id, database: unit.database, measurement: unit.measurement, points });
      this.#copied.add(key);
      this.#retryAt.delete(key);
      logger.debug({ move: move.id, database: unit.database, measurement: unit.measurement, points, to: unit.destinations }, 'unit copied to its new owners');
    } catch (err) {
      if (signal.aborted) return;
      this.#retryAt.set(key, Date.now() + 5000);
      logger.warn({ move: move.id, database: unit.database, measurement: unit.measurement, reason: messageOf(err) }, 'cannot copy a unit yet; trying again');
    }
  }

  /**
   * Reports again the units this agent reported copied that the document
   * shows copying again, a while after the report (not a document that
   * predates it): the copy on the new owners is whole, since writes go to
   * old and new owners until the move ends.
   */
  #reportLostMarks(metadata: ClusterMetadata, move: MemberMove): void {
    if (this.#reported.size === 0 || move.phase !== 'copying') return;
    for (const unit of lostMarks(this.#reported, pendingUnits(metadata), move.id, performance.now() - LOST_MARK_AFTER_MS)) {
      this.#reported.delete(unitKeyOf(move.id, unit));
      this.#finished.push({ move: move.id, ...unit });
      this.#options.logger.info({ move: move.id, database: unit.database, measurement: unit.measurement }, 'a unit reported copied shows as copying again (the document went back to an older one, e.g. after a memory manager restart): reporting it again');
    }
  }

  /** Reports copied units (one compare-and-swap for all of them), at most every REPORT_EVERY_MS unless many are waiting. */
  async #report(): Promise<void> {
    if (this.#finished.length === 0 || (performance.now() - this.#reportedAt < REPORT_EVERY_MS && this.#finished.length < 50)) return;
    const move = this.#options.metadata().settings.move;
    // Units of a move that ended (finished, cancelled) are not reported.
    const units = this.#finished.filter((unit) => unit.move === move?.id).map(({ database, measurement, points }) => ({ database, measurement, points }));
    this.#finished = [];
    this.#reportedAt = performance.now();
    if (!move || units.length === 0) return;
    try {
      await this.#options.apply([{ op: 'unitsMoved', id: move.id, units }]);
      const at = performance.now();
      for (const unit of units) this.#reported.set(unitKeyOf(move.id, unit), { ...unit, at });
    } catch (err) {
      this.#finished.push(...units.map((unit) => ({ move: move.id, ...unit })));
      throw err;
    }
  }

  /**
   * Drops from this node's influxd the units it does not own (left by a
   * finished or cancelled move), once every live agent has the placement
   * this agent has and it is the manager's newest.
   */
  async #sweep(metadata: ClusterMetadata, signal: AbortSignal): Promise<void> {
    const { self, access, logger } = this.#options;
    if (!this.#options.current() || this.#options.laggingBehind(revisionOf(metadata)).length > 0 || !this.#options.available(self)) return;
    const placement = this.#options.placement();
    let dropped = 0;
    let postponed = 0;
    for (const database of Object.keys(metadata.databases)) {
      if (database === NODE_LOCAL_DATABASE) continue;
      const answer = parseKeepingNumbers(await access.query(self, database, `SHOW MEASUREMENTS ON ${quoteIdentifier(database)}`, signal)) as { results?: Array<{ series?: RawSeries[] }> };
      for (const row of answer.results?.[0]?.series?.[0]?.values ?? []) {
        const measurement = String(row[0]);
        if (placement.owners(database, measurement).includes(self)) continue;
        // A newer document (another move starting) ends this sweep: its copies may count on what is here.
        if (revisionOf(this.#options.metadata()) !== revisionOf(metadata)) return;
        // Hints for it still queued somewhere would bring it back: dropped on a later sweep.
        if (this.#options.isBehind(self, database, measurement)) {
          postponed++;
          continue;
        }
        await access.query(self, database, `DROP MEASUREMENT ${quoteIdentifier(measurement)}`, signal);
        dropped++;
      }
    }
    this.#sweepPending = postponed > 0;
    if (dropped > 0) logger.info({ dropped }, 'dropped the units this node no longer owns (left by a move of the data members)');
  }
}

/** A unit this agent reported copied, and when (performance.now() ms). */
export interface ReportedUnit {
  database: string;
  measurement: string;
  points: number;
  at: number;
}

function unitKeyOf(move: string, unit: { database: string; measurement: string }): string {
  return `${move}\u0000${unit.database}\u0000${unit.measurement}`;
}

/**
 * The units of `pending` (copying, says the document) that this agent
 * reported copied before `settledBefore`: their done mark was lost (a report
 * landing on the document is seen here within a poll).
 */
export function lostMarks(reported: ReadonlyMap<string, ReportedUnit>, pending: ReadonlyArray<{ database: string; measurement: string }>, move: string, settledBefore: number): Array<{ database: string; measurement: string; points: number }> {
  const lost: Array<{ database: string; measurement: string; points: number }> = [];
  for (const unit of pending) {
    const report = reported.get(unitKeyOf(move, unit));
    if (report && report.at <= settledBefore) lost.push({ database: report.database, measurement: report.measurement, points: report.points });
  }
  return lost;
}
