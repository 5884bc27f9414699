import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { NODE_LOCAL_DATABASE, type Placement } from '../../cluster/placement.ts';
import { backoffDelay } from '../../shared/backoff.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { quoteIdentifier } from '../../influxql/influxql-quoting.ts';
import { parseKeepingNumbers } from './number-text-json.ts';
import type { RawSeries } from './point-format.ts';
import { repairUnit, type ReplicaAccess, type RepairUnit, type UnitReport } from './unit-repair.ts';

/** Units compared and copied at the same time. */
const UNITS_IN_PARALLEL = 4;

/** Which units a repair covers. */
export interface RepairFilter {
  database?: string;
  measurement?: string;
}

/** A repair's running totals. */
export interface RepairProgress extends UnitReport {
  unitsDone: number;
  unitsTotal: number;
  /** Units that could not be compared (an owner unreachable), with the reason. */
  unitsFailed: number;
  startedAt: number;
}

export interface RepairServiceOptions {
  self: string;
  placement: () => Placement;
  metadata: () => ClusterMetadata;
  access: ReplicaAccess;
  /** Whether a node answers now (alive; this node: its influxd reachable). */
  available: (node: string) => boolean;
  logger: Logger;
  /** Background pass over the units this node is first owner of; 0: none. */
  intervalMs: number;
}

/**
 * Anti-entropy across the cluster: a background pass (each unit by its first
 * owner, every --repair-interval), passes on demand (`cflux repair`), and a
 * pass for the units of a node whose queued hints had to be dropped, as soon
 * as it answers again.
 */
export class RepairService {
  readonly #options: RepairServiceOptions;
  /**
   * Nodes whose dropped hints call for a repair of their units: when the
   * next attempt may run, failed attempts so far, and a generation that
   * `owe` bumps (a pass only settles the debt it started on).
   */
  readonly #owed = new Map<string, { at: number; failures: number; generation: number }>();
  #wake: (() => void) | undefined;

  constructor(options: RepairServiceOptions) {
    this.#options = options;
  }

  /** Hints for `node` were dropped (size or age bound): its units are repaired once it answers. */
  owe(node: string): void {
    this.#owed.set(node, { at: 0, failures: 0, generation: (this.#owed.get(node)?.generation ?? 0) + 1 });
    this.#wake?.();
  }

  /** Repairs every unit the filter selects, reporting progress after each unit. */
  async run(filter: RepairFilter, options: { dryRun: boolean; signal: AbortSignal; onProgress?: (progress: RepairProgress) => void; only?: (unit: RepairUnit) => boolean }): Promise<RepairProgress> {
    const units = (await this.#units(filter, options.signal)).filter((unit) => options.only?.(unit) ?? true);
    const progress: RepairProgress = { unitsDone: 0, unitsTotal: units.length, unitsFailed: 0, windowsCompared: 0, windowsDiffering: 0, pointsCopied: 0, bytesCopied: 0, startedAt: Date.now() };
    options.onProgress?.({ ...progress });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < units.length) {
        options.signal.throwIfAborted();
        const unit = units[next++]!;
        try {
          if (!unit.owners.every((owner) => this.#options.available(owner))) throw new Error(`an owner of ${unit.measurement} is not available`);
          const report = await repairUnit(unit, this.#options.access, {
            dryRun: options.dryRun,
            signal: options.signal,
            onCopied: (points, bytes) => {
              progress.pointsCopied += points;
              progress.bytesCopied += bytes;
              options.onProgress?.({ ...progress });
            },
          });
          progress.windowsCompared += report.windowsCompared;
          progress.windowsDiffering += report.windowsDiffering;
          if (report.pointsCopied > 0) this.#options.logger.info({ ...unit, points: report.pointsCopied, dryRun: options.dryRun }, 'repair copied points an owner lacked');
        } catch (err) {
          if (options.signal.aborted) throw err;
          progress.unitsFailed++;
          this.#options.logger.warn({ database: unit.database, measurement: unit.measurement, reason: messageOf(err) }, 'repair could not compare a unit');
        }
        progress.unitsDone++;
        options.onProgress?.({ ...progress });
      }
    };
    // A few units at a time: each is a chain of round trips (counts, reads, writes) that leaves influxd idle between them.
    await Promise.all(Array.from({ length: Math.min(UNITS_IN_PARALLEL, units.length) }, worker));
    return progress;
  }

  /** Background: the periodic pass, and owed repairs as soon as their node answers. */
  async loop(signal: AbortSignal): Promise<void> {
    let nextPass = this.#options.intervalMs > 0 ? Date.now() + this.#options.intervalMs : Infinity;
    while (!signal.aborted) {
      for (const [node, debt] of [...this.#owed]) {
        if (Date.now() < debt.at || !this.#options.available(node)) continue;
        const result = await this.#runLogged({}, signal, (unit) => unit.owners.includes(node), `hints for ${node} were dropped`);
        if (this.#owed.get(node)?.generation !== debt.generation) continue; // owed again meanwhile: the new debt stands
        // Settled only when every unit was compared; otherwise (e.g. its influxd still down) again later.
        if (result && result.unitsFailed === 0) this.#owed.delete(node);
        else this.#owed.set(node, { ...debt, at: Date.now() + backoffDelay(debt.failures, { baseMs: 2000, capMs: 60_000 }), failures: debt.failures + 1 });
      }
      if (Date.now() >= nextPass) {
        nextPass = Date.now() + this.#options.intervalMs;
        await this.#runLogged({}, signal, (unit) => unit.owners[0] === this.#options.self, 'periodic');
      }
      await Promise.race([
        sleep(Math.min(2000, Math.max(0, nextPass - Date.now())), undefined, { signal }).catch(() => undefined),
        new Promise<void>((resolve) => (this.#wake = resolve)),
      ]);
      this.#wake = undefined;
    }
  }

  /** A pass with its outcome logged; undefined when it failed as a whole. */
  async #runLogged(filter: RepairFilter, signal: AbortSignal, only: (unit: RepairUnit) => boolean, why: string): Promise<RepairProgress | undefined> {
    try {
      const result = await this.run(filter, { dryRun: false, signal, only });
      if (result.pointsCopied > 0 || result.unitsFailed > 0) this.#options.logger.info({ why, ...result }, 'repair pass done');
      return result;
    } catch (err) {
      if (!signal.aborted) this.#options.logger.warn({ why, reason: messageOf(err) }, 'repair pass failed');
      return undefined;
    }
  }

  /** Every (database, retention policy, measurement) with two or more owners, filtered. */
  async #units(filter: RepairFilter, signal: AbortSignal): Promise<RepairUnit[]> {
    const metadata = this.#options.metadata();
    const placement = this.#options.placement();
    const units: RepairUnit[] = [];
    for (const [database, db] of Object.entries(metadata.databases)) {
      if (database === NODE_LOCAL_DATABASE || (filter.database !== undefined && filter.database !== database)) continue;
      const measurements = filter.measurement !== undefined ? [filter.measurement] : await this.#measurements(database, placement.members, signal);
      for (const measurement of measurements) {
        // A unit a move of the data members is copying belongs to the move (moves.md), not to repair.
        if (placement.moving(database, measurement)) continue;
        const owners = placement.owners(database, measurement);
        if (owners.length < 2) continue;
        for (const policy of Object.values(db.retentionPolicies)) units.push({ database, retentionPolicy: policy.name, measurement, owners, windowSeconds: policy.shardGroupDuration });
      }
    }
    return units;
  }

  /** The measurements of a database, as every available member lists them. */
  async #measurements(database: string, members: readonly string[], signal: AbortSignal): Promise<string[]> {
    const names = new Set<string>();
    for (const node of members) {
      if (!this.#options.available(node)) continue;
      try {
        const text = await this.#options.access.query(node, database, `SHOW MEASUREMENTS ON ${quoteIdentifier(database)}`, signal);
        const answer = parseKeepingNumbers(text) as { results?: Array<{ series?: RawSeries[] }> };
        for (const row of answer.results?.[0]?.series?.[0]?.values ?? []) names.add(String(row[0]));
      } catch {
        // that node's list is missing: the others' still count
      }
    }
    return [...names].sort();
  }
}
