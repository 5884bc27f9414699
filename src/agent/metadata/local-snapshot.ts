import { parseGoDuration, quoteIdentifier } from '../../influxql/influxql-ddl.ts';
import { InfluxdRequestError, type InfluxdQueryClient } from '../influxd/influxd-query-client.ts';
import { rowsOf } from '../../influxql/query-result.ts';
import { NO_USERS_YET } from '../influxd/local-influxd.ts';
import type { Privilege, RetentionPolicyMeta } from '../../cluster/cluster-metadata.ts';

/** What a local influxd holds, as far as cluster metadata goes. */
export interface LocalSnapshot {
  databases: Record<string, LocalDatabase>;
  users: Record<string, LocalUser>;
}

export interface LocalDatabase {
  /** Undefined when this snapshot did not read them (see SnapshotScope). */
  retentionPolicies?: Record<string, RetentionPolicyMeta>;
  defaultRetentionPolicy?: string | null;
  /** name → the query text as influxd shows it (normalised by influxd). */
  continuousQueries: Record<string, string>;
}

export interface LocalUser {
  admin: boolean;
  /** Undefined when this snapshot did not read them. */
  privileges?: Record<string, Privilege>;
}

/** Which per-database and per-user details to read; `all` for a full read. */
export type SnapshotScope = 'all' | { databases: Set<string>; users: Set<string> };

/** Databases influxd manages for itself; never mirrored. */
const NODE_LOCAL_DATABASES = new Set(['_internal']);

/**
 * Reads the local influxd's metadata with SHOW statements: always the lists of
 * databases, users and continuous queries (3 requests), plus retention
 * policies and grants for what `scope` names (one request each).
 */
export async function readLocalSnapshot(client: InfluxdQueryClient, scope: SnapshotScope = 'all'): Promise<LocalSnapshot> {
  let databases, users, queries;
  try {
    [databases, users, queries] = await Promise.all([client.runOrThrow('SHOW DATABASES'), client.runOrThrow('SHOW USERS'), client.runOrThrow('SHOW CONTINUOUS QUERIES')]);
  } catch (err) {
    // Auth on and no user yet: nothing can be read, and the plan starts by creating the admin users.
    if (err instanceof InfluxdRequestError && JSON.stringify(err.body).includes(NO_USERS_YET)) return { databases: {}, users: {} };
    throw err;
  }
  const snapshot: LocalSnapshot = { databases: {}, users: {} };
  for (const row of rowsOf(databases)) {
    const name = String(row['name']);
    if (!NODE_LOCAL_DATABASES.has(name)) snapshot.databases[name] = { continuousQueries: {} };
  }
  for (const series of queries.series ?? []) {
    const db = series.name !== undefined ? snapshot.databases[series.name] : undefined;
    if (!db) continue;
    for (const row of series.values ?? []) db.continuousQueries[String(row[0])] = String(row[1]);
  }
  for (const row of rowsOf(users)) snapshot.users[String(row['user'])] = { admin: row['admin'] === true };

  const wantsDatabase = (name: string) => scope === 'all' || scope.databases.has(name);
  const wantsUser = (name: string) => scope === 'all' || scope.users.has(name);
  await Promise.all([
    ...Object.entries(snapshot.databases)
      .filter(([name]) => wantsDatabase(name))
      .map(async ([name, db]) => Object.assign(db, await readRetentionPolicies(client, name))),
    ...Object.entries(snapshot.users)
      .filter(([name]) => wantsUser(name))
      .map(async ([name, user]) => {
        user.privileges = await readGrants(client, name);
      }),
  ]);
  return snapshot;
}

async function readRetentionPolicies(client: InfluxdQueryClient, database: string): Promise<Pick<LocalDatabase, 'retentionPolicies' | 'defaultRetentionPolicy'>> {
  const result = await client.runOrThrow(`SHOW RETENTION POLICIES ON ${quoteIdentifier(database)}`);
  const retentionPolicies: Record<string, RetentionPolicyMeta> = {};
  let defaultRetentionPolicy: string | null = null;
  for (const row of rowsOf(result)) {
    const name = String(row['name']);
    retentionPolicies[name] = {
      name,
      duration: parseGoDuration(String(row['duration'])),
      shardGroupDuration: parseGoDuration(String(row['shardGroupDuration'])),
      replicaN: Number(row['replicaN']),
    };
    if (row['default'] === true) defaultRetentionPolicy = name;
  }
  return { retentionPolicies, defaultRetentionPolicy };
}

async function readGrants(client: InfluxdQueryClient, user: string): Promise<Record<string, Privilege>> {
  const result = await client.runOrThrow(`SHOW GRANTS FOR ${quoteIdentifier(user)}`);
  const privileges: Record<string, Privilege> = {};
  for (const row of rowsOf(result)) {
    const privilege = String(row['privilege']);
    // influxd lists a revoked grant as NO PRIVILEGES; the metadata leaves it out.
    if (privilege === 'READ' || privilege === 'WRITE' || privilege === 'ALL') privileges[String(row['database'])] = privilege;
    if (privilege === 'ALL PRIVILEGES') privileges[String(row['database'])] = 'ALL';
  }
  return privileges;
}
