import type { Privilege } from './cluster-metadata.ts';
import type { MoveOperation } from './member-moves.ts';

/**
 * A change to the cluster metadata: what one InfluxQL DDL statement means.
 * Durations are whole seconds (0 = INF); undefined means "InfluxQL's default".
 */
export type MetadataOperation =
  | {
      op: 'createDatabase';
      name: string;
      /** `WITH ...` clause: the database's first (default) retention policy. */
      retentionPolicy?: { name?: string; duration?: number; shardGroupDuration?: number; replicaN?: number };
    }
  | { op: 'dropDatabase'; name: string }
  | { op: 'createRetentionPolicy'; database: string; name: string; duration: number; replicaN: number; shardGroupDuration?: number; makeDefault: boolean }
  | { op: 'alterRetentionPolicy'; database: string; name: string; duration?: number; replicaN?: number; shardGroupDuration?: number; makeDefault: boolean }
  | { op: 'dropRetentionPolicy'; database: string; name: string }
  | { op: 'createUser'; name: string; password: string; admin: boolean }
  | { op: 'dropUser'; name: string }
  | { op: 'setPassword'; name: string; password: string }
  /** `GRANT READ|WRITE|ALL ON db TO user`. */
  | { op: 'grant'; user: string; database: string; privilege: Privilege }
  /** `GRANT ALL PRIVILEGES TO user` (admin). */
  | { op: 'grantAdmin'; user: string }
  | { op: 'revoke'; user: string; database: string; privilege: Privilege }
  | { op: 'revokeAdmin'; user: string }
  /** `query` is the whole CREATE CONTINUOUS QUERY statement. */
  | { op: 'createContinuousQuery'; database: string; name: string; query: string }
  | { op: 'dropContinuousQuery'; database: string; name: string }
  /** Placement: a node starts or stops holding data (`cflux members add|remove`). */
  /** `whileEmpty`: only while the cluster holds no database (a node joining by itself). */
  | { op: 'addMember'; name: string; whileEmpty?: boolean }
  | { op: 'removeMember'; name: string }
  /** Whether influxd authentication is on across the cluster; `ifUnset`: only when not recorded yet. */
  | { op: 'setInfluxdAuth'; enabled: boolean; ifUnset?: boolean }
  /** Placement: `measurement` of `database` follows `source` (SELECT ... INTO). */
  | { op: 'pinMeasurement'; database: string; measurement: string; sourceDatabase: string; sourceMeasurement: string }
  /** A change of the data members with the data moved in place. */
  | MoveOperation;

