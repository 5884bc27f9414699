import { createHash } from 'node:crypto';
import type { ClusterMetadata } from './cluster-metadata.ts';
import { membersDuring, readOwnersDuring, unitPlacement, writeOwnersDuring, type MemberMove, type UnitPlacement } from './member-moves.ts';

/** Databases that stay on the node that wrote them. */
export const NODE_LOCAL_DATABASE = '_internal';

/** Pins map `db\u0000measurement` to the unit it must follow (SELECT ... INTO keeps data with its source). */
export function unitKey(database: string, measurement: string): string {
  return `${database}\u0000${measurement}`;
}

/** The rendezvous (highest-random-weight) score of a member for a unit: 64 bits of SHA-256. */
function score(member: string, unit: string): bigint {
  return createHash('sha256').update(member).update('\u0000').update(unit).digest().readBigUInt64BE(0);
}

/**
 * The owners of a (database, measurement): the `replicationFactor` data
 * members with the highest rendezvous score for the unit, best first.
 * Deterministic on every agent; adding a member moves only the units it now
 * wins (about RF/N of them). A pinned unit takes its source's owners.
 */
export function ownersOf(database: string, measurement: string, members: readonly string[], replicationFactor: number, pins: Readonly<Record<string, string>> = {}): string[] {
  let unit = unitKey(database, measurement);
  // Follow pins (bounded, so a cycle cannot hang a write).
  for (let hops = 0; hops < 8 && pins[unit] !== undefined; hops++) unit = pins[unit]!;
  const count = Math.max(1, Math.min(replicationFactor, members.length));
  return [...members]
    .map((member) => ({ member, weight: score(member, unit) }))
    .sort((a, b) => (a.weight === b.weight ? (a.member < b.member ? -1 : 1) : a.weight > b.weight ? -1 : 1))
    .slice(0, count)
    .map((entry) => entry.member);
}

/** A database's replication factor: its largest retention policy replicaN, else the cluster default. */
export function replicationFactorOf(metadata: ClusterMetadata, database: string): number {
  const policies = Object.values(metadata.databases[database]?.retentionPolicies ?? {});
  if (policies.length === 0) return metadata.settings.replicationFactor;
  return Math.max(...policies.map((policy) => policy.replicaN));
}

/**
 * Placement over one metadata version, with a cache of owner lists (a write
 * batch asks for the same few measurements again and again). While a move of
 * the data members runs (member-moves.ts), writes go to a moving unit's old
 * and new owners and reads to the owners that hold it whole.
 */
export class Placement {
  readonly metadata: ClusterMetadata;
  readonly #cache = new Map<string, { write: string[]; read: string[]; moving?: UnitPlacement }>();

  constructor(metadata: ClusterMetadata) {
    this.metadata = metadata;
  }

  /** Every node that may hold data now: the data members, and during a move the target members too. */
  get members(): readonly string[] {
    return membersDuring(this.metadata);
  }

  /** The move running, if any. */
  get move(): MemberMove | undefined {
    return this.metadata.settings.move;
  }

  /** Owners a write goes to (during a move: old and new); empty when the cluster has no data members yet (then everything stays local). */
  owners(database: string, measurement: string): string[] {
    return this.#entry(database, measurement).write;
  }

  /** Owners a read may use (during a move: those that hold the unit whole). */
  readOwners(database: string, measurement: string): string[] {
    return this.#entry(database, measurement).read;
  }

  /** How the running move changes this unit; undefined when no move runs or the unit stays where it is. */
  moving(database: string, measurement: string): UnitPlacement | undefined {
    return this.#entry(database, measurement).moving;
  }

  #entry(database: string, measurement: string): { write: string[]; read: string[]; moving?: UnitPlacement } {
    const members = this.metadata.settings.dataMembers;
    if (database === NODE_LOCAL_DATABASE || (members.length === 0 && !this.move)) return { write: [], read: [] };
    const key = unitKey(database, measurement);
    let entry = this.#cache.get(key);
    if (!entry) {
      const replication = replicationFactorOf(this.metadata, database);
      const current = ownersOf(database, measurement, members, replication, this.metadata.settings.pins);
      const move = this.move;
      const moving = move ? unitPlacement(current, ownersOf(database, measurement, move.target, replication, this.metadata.settings.pins), move.empty) : undefined;
      entry = moving ? { write: writeOwnersDuring(moving), read: readOwnersDuring(moving, move!, database, measurement), moving } : { write: current, read: current };
      this.#cache.set(key, entry);
    }
    return entry;
  }
}
