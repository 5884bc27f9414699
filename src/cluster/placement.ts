import { createHash } from 'node:crypto';
import type { ClusterMetadata } from './cluster-metadata.ts';

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
 * batch asks for the same few measurements again and again).
 */
export class Placement {
  readonly metadata: ClusterMetadata;
  readonly #cache = new Map<string, string[]>();

  constructor(metadata: ClusterMetadata) {
    this.metadata = metadata;
  }

  get members(): readonly string[] {
    return this.metadata.settings.dataMembers;
  }

  /** Owners of a unit; empty when the cluster has no data members yet (then everything stays local). */
  owners(database: string, measurement: string): string[] {
    if (database === NODE_LOCAL_DATABASE || this.members.length === 0) return [];
    const key = unitKey(database, measurement);
    let owners = this.#cache.get(key);
    if (!owners) {
      owners = ownersOf(database, measurement, this.members, replicationFactorOf(this.metadata, database), this.metadata.settings.pins);
      this.#cache.set(key, owners);
    }
    return owners;
  }
}
