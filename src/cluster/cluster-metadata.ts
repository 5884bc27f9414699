/**
 * The cluster metadata document: the desired state of every influxd in the
 * cluster, versioned by the manager (docs/design.md, "The cluster document"). Names are
 * InfluxDB's own (case-sensitive). Durations are whole seconds; 0 means
 * infinite (InfluxQL `INF`).
 */
export interface ClusterMetadata {
  /** Format of this document, for later migrations. */
  format: 1;
  /**
   * Counts changes to the content, across manager restarts (the manager's
   * version restarts at 1 with an empty memory store; this does not). The
   * document with the higher revision is the newer one.
   */
  revision?: number;
  databases: Record<string, DatabaseMeta>;
  users: Record<string, UserMeta>;
  settings: ClusterSettings;
}

export interface DatabaseMeta {
  retentionPolicies: Record<string, RetentionPolicyMeta>;
  /** Name of the default retention policy; null when the database has none. */
  defaultRetentionPolicy: string | null;
  continuousQueries: Record<string, ContinuousQueryMeta>;
}

export interface RetentionPolicyMeta {
  name: string;
  /** Seconds; 0 = infinite. */
  duration: number;
  /** Seconds. */
  shardGroupDuration: number;
  replicaN: number;
}

export interface ContinuousQueryMeta {
  name: string;
  /** The whole `CREATE CONTINUOUS QUERY ...` statement as the client sent it. */
  query: string;
}

export type Privilege = 'READ' | 'WRITE' | 'ALL';

export interface UserMeta {
  name: string;
  admin: boolean;
  /** Per-database privileges (InfluxDB's `NO PRIVILEGES` is simply absent). */
  privileges: Record<string, Privilege>;
  /** The password, AES-256-GCM encrypted with the cluster secret (see secret-box.ts); never plaintext. */
  password: string;
}

export interface ClusterSettings {
  /** Replication factor for databases created without `REPLICATION n`. */
  replicationFactor: number;
  /** Node names that hold data (placement members). */
  dataMembers: string[];
  /** Measurement pins: `db\u0000measurement` → the source unit it follows (SELECT ... INTO). */
  pins: Record<string, string>;
  /**
   * Whether every influxd of the cluster has authentication on (one mode per
   * cluster: a node whose influxd differs would be a door around it). Recorded
   * by the first agent that knows its influxd's mode; undefined until then.
   */
  influxdAuth?: boolean;
  /** A change of the data members that is moving data now (member-moves.ts); absent when none runs. */
  move?: MemberMove;
}

/** A document with no databases, users or members. */
export function emptyMetadata(replicationFactor = 2): ClusterMetadata {
  return { format: 1, revision: 0, databases: {}, users: {}, settings: { replicationFactor, dataMembers: [], pins: {} } };
}

/** A document's revision (0 for documents written before revisions existed). */
export function revisionOf(metadata: ClusterMetadata | null | undefined): number {
  return metadata?.revision ?? 0;
}

/** Two retention policies with the same duration, shard-group duration and replication. */
export function sameRetentionPolicy(a: RetentionPolicyMeta, b: RetentionPolicyMeta): boolean {
  return a.duration === b.duration && a.shardGroupDuration === b.shardGroupDuration && a.replicaN === b.replicaN;
}

/**
 * A change of the data members with the data in place (docs/moves.md; member-moves.ts has its logic): the
 * cluster goes from `settings.dataMembers` to `target` while every unit whose
 * owners change is copied to its new owners. Until a unit is copied, reads
 * use the owners that hold it whole and writes go to old and new owners;
 * once it is copied, reads use its new owners; when every unit is copied the
 * target becomes the member set, and each node drops the units it no longer
 * owns.
 */
export interface MemberMove {
  /** Random, names the move (progress and cancel refer to it). */
  id: string;
  kind: 'add' | 'remove' | 'replace';
  /** The data members once the move is done, sorted. */
  target: string[];
  /**
   * Members known to hold nothing (replaced with an empty disk under the
   * same name): never read from or copied from until their units are copied.
   */
  empty: string[];
  /** When the move was started (ISO 8601). */
  startedAt: string;
  /**
   * `dual`: writes go to old and new owners, nothing is copied yet (some
   * agent may still write to the old owners only). `copying`: every agent
   * writes to both; the units listed are copied.
   */
  phase: 'dual' | 'copying';
  /** The units being moved, per database and measurement; filled when copying starts, and again for units created since. */
  units: Record<string, Record<string, UnitMove>>;
}

/** One unit of a move. */
export interface UnitMove {
  state: 'copying' | 'done';
  /** Points copied to its new owners. */
  points: number;
}
