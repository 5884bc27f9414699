import { formatDuration, quoteIdentifier, quoteString } from '../../influxql/influxql-ddl.ts';
import { sameRetentionPolicy, type ClusterMetadata, type DatabaseMeta, type RetentionPolicyMeta } from '../../cluster/cluster-metadata.ts';
import type { LocalDatabase, LocalSnapshot } from './local-snapshot.ts';
import type { SecretBox } from '../../cluster/secret-box.ts';

/** One InfluxQL statement for the local influxd. */
export interface PlannedStatement {
  text: string;
  /** Holds a password: never logged. */
  sensitive: boolean;
  /** Sets this user's password (CREATE USER or SET PASSWORD). */
  passwordFor?: string;
}

/** What the agent remembers of its last successful reconcile (persisted in --data-dir). */
export interface AppliedRecord {
  /** Sealed password last set on influxd, per user. */
  passwords: Record<string, string>;
  /** Per database, per CQ: the statement the cluster asked for, and influxd's normalised text of it. */
  continuousQueries: Record<string, Record<string, { source: string; normalized: string }>>;
  /** Users the cluster metadata managed at the last reconcile. */
  managedUsers: string[];
}

/** Names of the objects a local change touches (see local-changes.ts). */
export const objectKey = {
  retentionPolicy: (database: string, name: string): string => `policy\0${database}\0${name}`,
  defaultPolicy: (database: string): string => `default\0${database}`,
  admin: (user: string): string => `admin\0${user}`,
  privilege: (user: string, database: string): string => `privilege\0${user}\0${database}`,
  continuousQuery: (database: string, name: string): string => `query\0${database}\0${name}`,
};

export interface PlanOptions {
  /** Drop local users the cluster never knew (revert mode); push mode keeps them (they cannot be mirrored without a password). */
  dropUnmanagedUsers: boolean;
  secrets: SecretBox | undefined;
  /**
   * The document applied before (push mode): a database, retention policy or
   * continuous query influxd holds that the desired document lacks is dropped
   * only when this one had it (the cluster deleted it). One it never had was
   * made directly on influxd since the last drift check, which pushes it;
   * dropping it here lost it. Absent (or revert mode): every such one is dropped.
   */
  knownBefore?: ClusterMetadata;
  /** Push mode: objects changed directly on influxd that the plan leaves for the drift check to push (`localChangesToKeep`). */
  keep?: ReadonlySet<string>;
}

function retentionPolicyClause(rp: RetentionPolicyMeta): string {
  // A shard duration of 0 means "influxd's default", written 0s (INF is not accepted there).
  const shard = rp.shardGroupDuration === 0 ? '0s' : formatDuration(rp.shardGroupDuration);
  return `DURATION ${formatDuration(rp.duration)} REPLICATION ${rp.replicaN} SHARD DURATION ${shard}`;
}


/**
 * The statements that turn the local influxd (as far as `local` was read)
 * into the desired cluster state, in dependency order: databases, retention
 * policies, users and passwords, privileges, continuous queries, then the
 * drops (users, databases). Pure: no I/O.
 */
export function planReconcile(desired: ClusterMetadata, local: LocalSnapshot, applied: AppliedRecord, options: PlanOptions): PlannedStatement[] {
  const plan: PlannedStatement[] = [];
  const add = (text: string, sensitive = false) => plan.push({ text, sensitive });
  const known = options.dropUnmanagedUsers ? undefined : options.knownBefore;
  const kept = (key: string): boolean => options.keep?.has(key) ?? false;
  const mayDrop = (database: string, part?: { policy?: string; query?: string }): boolean => {
    if (!known) return true;
    const db = known.databases[database];
    if (!db) return false;
    if (part?.policy !== undefined) return part.policy in db.retentionPolicies;
    if (part?.query !== undefined) return part.query in db.continuousQueries;
    return true;
  };
  // New users go first: on an auth-enabled influxd without users, only CREATE USER ... WITH ALL
  // PRIVILEGES is allowed, and the agent's own admin user must exist before anything else.
  const newUsers: PlannedStatement[] = [];

  for (const [name, db] of Object.entries(desired.databases)) {
    let localDb = local.databases[name];
    // A database created here holds only what this plan gives it: its extra policy (autogen) goes.
    const created = !localDb;
    if (!localDb) {
      localDb = createDatabase(name, db, add);
    }
    planRetentionPolicies(name, db, localDb, add, (policy) => created || mayDrop(name, { policy }), kept);
  }

  const managed = new Set(applied.managedUsers);
  for (const [name, user] of Object.entries(desired.users)) {
    const localUser = local.users[name];
    const password = () => {
      if (!options.secrets) throw new Error('a cluster secret is needed to create users (set CFLUX_SECRET)');
      return quoteString(options.secrets.open(user.password, user.name));
    };
    if (!localUser) {
      newUsers.push({ text: `CREATE USER ${quoteIdentifier(name)} WITH PASSWORD ${password()}${user.admin ? ' WITH ALL PRIVILEGES' : ''}`, sensitive: true, passwordFor: name });
    } else {
      if (applied.passwords[name] !== user.password) plan.push({ text: `SET PASSWORD FOR ${quoteIdentifier(name)} = ${password()}`, sensitive: true, passwordFor: name });
      if (localUser.admin !== user.admin && !kept(objectKey.admin(name))) add(user.admin ? `GRANT ALL PRIVILEGES TO ${quoteIdentifier(name)}` : `REVOKE ALL PRIVILEGES FROM ${quoteIdentifier(name)}`);
    }
    const localPrivileges = localUser ? localUser.privileges : {};
    if (localPrivileges) {
      for (const [database, privilege] of Object.entries(user.privileges)) {
        if (localPrivileges[database] !== privilege && !kept(objectKey.privilege(name, database))) add(`GRANT ${privilege} ON ${quoteIdentifier(database)} TO ${quoteIdentifier(name)}`);
      }
      for (const database of Object.keys(localPrivileges)) {
        if (!(database in user.privileges) && database in desired.databases && !kept(objectKey.privilege(name, database))) add(`REVOKE ALL PRIVILEGES ON ${quoteIdentifier(database)} FROM ${quoteIdentifier(name)}`);
      }
    }
  }

  for (const [name, db] of Object.entries(desired.databases)) {
    const localQueries = local.databases[name]?.continuousQueries ?? {};
    const record = applied.continuousQueries[name] ?? {};
    // A CQ is current when influxd holds it as we last created it from the same statement.
    // One that influxd holds but we never recorded (pushed from this node) is adopted as is.
    const isCurrent = (cqName: string, query: string) => {
      const localText = localQueries[cqName];
      const known = record[cqName];
      return localText !== undefined && (!known || (known.source === query && known.normalized === localText));
    };
    const keptQuery = (cqName: string) => kept(objectKey.continuousQuery(name, cqName));
    for (const cqName of Object.keys(localQueries)) {
      const wanted = db.continuousQueries[cqName];
      if (keptQuery(cqName)) continue;
      if (wanted ? !isCurrent(cqName, wanted.query) : mayDrop(name, { query: cqName })) add(`DROP CONTINUOUS QUERY ${quoteIdentifier(cqName)} ON ${quoteIdentifier(name)}`);
    }
    for (const [cqName, cq] of Object.entries(db.continuousQueries)) {
      if (!isCurrent(cqName, cq.query) && !keptQuery(cqName)) add(cq.query);
    }
  }

  for (const name of Object.keys(local.users)) {
    if (name in desired.users) continue;
    if (managed.has(name) || options.dropUnmanagedUsers) add(`DROP USER ${quoteIdentifier(name)}`);
  }
  for (const name of Object.keys(local.databases)) {
    if (!(name in desired.databases) && mayDrop(name)) add(`DROP DATABASE ${quoteIdentifier(name)}`);
  }
  newUsers.sort((a, b) => Number(b.text.endsWith('WITH ALL PRIVILEGES')) - Number(a.text.endsWith('WITH ALL PRIVILEGES')));
  return [...newUsers, ...plan];
}

/** CREATE DATABASE with its default policy; returns what influxd will then hold. */
function createDatabase(name: string, db: DatabaseMeta, add: (text: string) => void): LocalDatabase {
  const defaultPolicy = db.defaultRetentionPolicy === null ? undefined : db.retentionPolicies[db.defaultRetentionPolicy];
  if (defaultPolicy) {
    add(`CREATE DATABASE ${quoteIdentifier(name)} WITH ${retentionPolicyClause(defaultPolicy)} NAME ${quoteIdentifier(defaultPolicy.name)}`);
    return { retentionPolicies: { [defaultPolicy.name]: defaultPolicy }, defaultRetentionPolicy: defaultPolicy.name, continuousQueries: {} };
  }
  add(`CREATE DATABASE ${quoteIdentifier(name)}`);
  // influxd gives a database created without WITH an autogen policy; dropped below unless wanted.
  const autogen: RetentionPolicyMeta = { name: 'autogen', duration: 0, shardGroupDuration: 7 * 24 * 3600, replicaN: 1 };
  return { retentionPolicies: { autogen }, defaultRetentionPolicy: 'autogen', continuousQueries: {} };
}

function planRetentionPolicies(database: string, db: DatabaseMeta, localDb: LocalDatabase, add: (text: string) => void, mayDrop: (policy: string) => boolean, kept: (key: string) => boolean): void {
  const localPolicies = localDb.retentionPolicies;
  if (!localPolicies) return; // not read in this scope: unchanged since the last reconcile
  const on = `ON ${quoteIdentifier(database)}`;
  for (const [name, rp] of Object.entries(db.retentionPolicies)) {
    if (kept(objectKey.retentionPolicy(database, name))) continue; // changed directly on influxd
    const current = localPolicies[name];
    const makeDefault = db.defaultRetentionPolicy === name && localDb.defaultRetentionPolicy !== name && !kept(objectKey.defaultPolicy(database));
    if (!current) {
      add(`CREATE RETENTION POLICY ${quoteIdentifier(name)} ${on} ${retentionPolicyClause(rp)}${makeDefault ? ' DEFAULT' : ''}`);
    } else if (!sameRetentionPolicy(current, rp) || makeDefault) {
      add(`ALTER RETENTION POLICY ${quoteIdentifier(name)} ${on} ${retentionPolicyClause(rp)}${makeDefault ? ' DEFAULT' : ''}`);
    }
  }
  for (const name of Object.keys(localPolicies)) {
    if (!(name in db.retentionPolicies) && mayDrop(name)) add(`DROP RETENTION POLICY ${quoteIdentifier(name)} ${on}`);
  }
}
