// Push mode: a change made directly on influxd and not pushed yet is left by
// the reconcile plan for the drift check, unless the cluster changed the same
// object, refused the change, or influxd looks wiped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { localChangesToKeep } from '../../src/agent/metadata/local-changes.ts';
import type { LocalSnapshot } from '../../src/agent/metadata/local-snapshot.ts';
import { planReconcile, type AppliedRecord } from '../../src/agent/metadata/reconcile-plan.ts';
import { withRefused } from '../../src/agent/metadata/metadata-reconciler.ts';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import { SecretBox } from '../../src/cluster/secret-box.ts';

const box = new SecretBox('local-changes-test-secret-0123');
const D = 86_400;

function appliedDoc(): ClusterMetadata {
  const doc = emptyMetadata(2);
  doc.databases['telegraf'] = {
    retentionPolicies: { week: { name: 'week', duration: 7 * D, shardGroupDuration: D, replicaN: 2 } },
    defaultRetentionPolicy: 'week',
    continuousQueries: {},
  };
  doc.databases['logs'] = { retentionPolicies: { autogen: { name: 'autogen', duration: 0, shardGroupDuration: 7 * D, replicaN: 2 } }, defaultRetentionPolicy: 'autogen', continuousQueries: {} };
  doc.users['reader'] = { name: 'reader', admin: false, privileges: { telegraf: 'READ', logs: 'READ' }, password: box.seal('r', 'reader') };
  doc.users['ops'] = { name: 'ops', admin: false, privileges: {}, password: box.seal('o', 'ops') };
  return doc;
}
const record = (doc: ClusterMetadata): AppliedRecord => ({
  passwords: Object.fromEntries(Object.values(doc.users).map((user) => [user.name, user.password])),
  continuousQueries: {},
  managedUsers: Object.keys(doc.users),
});
/** What influxd holds when it is at `doc`. */
function localAt(doc: ClusterMetadata): LocalSnapshot {
  return {
    databases: Object.fromEntries(Object.entries(doc.databases).map(([name, db]) => [name, { retentionPolicies: structuredClone(db.retentionPolicies), defaultRetentionPolicy: db.defaultRetentionPolicy, continuousQueries: {} }])),
    users: Object.fromEntries(Object.values(doc.users).map((user) => [user.name, { admin: user.admin, privileges: { ...user.privileges } }])),
  };
}
/** The push-mode plan from `applied` to `desired` for `local`, as the reconciler makes it. */
function plan(applied: ClusterMetadata, desired: ClusterMetadata, local: LocalSnapshot, refused: MetadataOperation[] = []): string[] {
  const keep = localChangesToKeep(local, applied, record(applied), desired, refused);
  return planReconcile(desired, local, record(applied), { dropUnmanagedUsers: false, secrets: box, knownBefore: withRefused(applied, refused), keep }).map((s) => s.text);
}

test('a policy altered on influxd is left for the drift check while the cluster adds another in the same database', () => {
  const applied = appliedDoc();
  const desired = structuredClone(applied);
  desired.databases['telegraf']!.retentionPolicies['year'] = { name: 'year', duration: 365 * D, shardGroupDuration: 7 * D, replicaN: 2 };
  const local = localAt(applied);
  local.databases['telegraf']!.retentionPolicies!['week']!.duration = 14 * D; // ALTER RETENTION POLICY week ... DURATION 14d, on influxd
  assert.deepEqual(plan(applied, desired, local), ['CREATE RETENTION POLICY "year" ON "telegraf" DURATION 365d REPLICATION 2 SHARD DURATION 1w']);
});

test('where the cluster changed the same policy, the cluster wins', () => {
  const applied = appliedDoc();
  const desired = structuredClone(applied);
  desired.databases['telegraf']!.retentionPolicies['week']!.duration = 30 * D;
  const local = localAt(applied);
  local.databases['telegraf']!.retentionPolicies!['week']!.duration = 14 * D;
  assert.deepEqual(plan(applied, desired, local), ['ALTER RETENTION POLICY "week" ON "telegraf" DURATION 30d REPLICATION 2 SHARD DURATION 1d']);
});

test('what is missing on influxd (a database, a user, a grant) is made again: a removal may be a restore that stopped half-way', () => {
  const applied = appliedDoc();
  const desired = structuredClone(applied);
  desired.users['new'] = { name: 'new', admin: false, privileges: { logs: 'WRITE' }, password: box.seal('n', 'new') };
  const local = localAt(applied);
  delete local.databases['logs']; // gone from influxd (influxd drops the grants on it too)
  delete local.users['reader']!.privileges!['logs'];
  delete local.users['ops'];
  assert.deepEqual(plan(applied, desired, local), [
    `CREATE USER "ops" WITH PASSWORD 'o'`,
    `CREATE USER "new" WITH PASSWORD 'n'`,
    'CREATE DATABASE "logs" WITH DURATION INF REPLICATION 2 SHARD DURATION 1w NAME "autogen"',
    'GRANT READ ON "logs" TO "reader"',
    'GRANT WRITE ON "logs" TO "new"',
  ]);
});

test('a grant and an admin flag changed on influxd are left; a default policy moved there too', () => {
  const applied = appliedDoc();
  const desired = structuredClone(applied);
  desired.databases['fresh'] = { retentionPolicies: {}, defaultRetentionPolicy: null, continuousQueries: {} };
  const local = localAt(applied);
  local.users['reader']!.privileges!['telegraf'] = 'ALL';
  local.users['ops']!.privileges!['logs'] = 'WRITE';
  local.users['reader']!.admin = true;
  local.databases['telegraf']!.retentionPolicies!['short'] = { name: 'short', duration: D, shardGroupDuration: 3600, replicaN: 1 };
  local.databases['telegraf']!.defaultRetentionPolicy = 'short';
  assert.deepEqual(plan(applied, desired, local), ['CREATE DATABASE "fresh"', 'DROP RETENTION POLICY "autogen" ON "fresh"']);
});

test('what the cluster refused of a pushed change is undone', () => {
  const applied = appliedDoc();
  const local = localAt(applied);
  local.databases['telegraf']!.retentionPolicies!['week']!.duration = 14 * D;
  const refused: MetadataOperation[] = [{ op: 'alterRetentionPolicy', database: 'telegraf', name: 'week', duration: 14 * D, makeDefault: false }];
  assert.deepEqual(plan(applied, structuredClone(applied), local, refused), ['ALTER RETENTION POLICY "week" ON "telegraf" DURATION 1w REPLICATION 2 SHARD DURATION 1d']);
});

test('an influxd that looks wiped is filled again, not read as deletions', () => {
  const applied = appliedDoc();
  const keep = localChangesToKeep({ databases: {}, users: {} }, applied, record(applied), structuredClone(applied), []);
  assert.equal(keep.size, 0);
  assert.equal(plan(applied, structuredClone(applied), { databases: {}, users: {} }).length, 6);
});

test('a continuous query rewritten on influxd is left too, unless the cluster changed it; one dropped there is made again', () => {
  const applied = appliedDoc();
  const query = (every: string) => `CREATE CONTINUOUS QUERY down ON telegraf BEGIN SELECT mean(v) INTO telegraf.week.m_${every} FROM m GROUP BY time(${every}) END`;
  applied.databases['telegraf']!.continuousQueries['down'] = { name: 'down', query: query('1h') };
  applied.databases['telegraf']!.continuousQueries['gone'] = { name: 'gone', query: query('1d').replace('down', 'gone') };
  const appliedRecord = record(applied);
  appliedRecord.continuousQueries = { telegraf: { down: { source: query('1h'), normalized: 'DOWN 1h' }, gone: { source: query('1d'), normalized: 'GONE 1d' } } };
  const local = localAt(applied);
  local.databases['telegraf']!.continuousQueries = { down: 'DOWN 5m' }; // down recreated by hand with another interval; gone dropped
  const desired = structuredClone(applied);
  desired.databases['telegraf']!.retentionPolicies['year'] = { name: 'year', duration: 365 * D, shardGroupDuration: 7 * D, replicaN: 2 };
  const planFor = (wanted: ClusterMetadata) => {
    const keep = localChangesToKeep(local, applied, appliedRecord, wanted, []);
    return planReconcile(wanted, local, appliedRecord, { dropUnmanagedUsers: false, secrets: box, knownBefore: applied, keep }).map((s) => s.text);
  };
  const gone = query('1d').replace('down', 'gone');
  assert.deepEqual(planFor(desired), ['CREATE RETENTION POLICY "year" ON "telegraf" DURATION 365d REPLICATION 2 SHARD DURATION 1w', gone]);
  const changedByCluster = structuredClone(desired);
  changedByCluster.databases['telegraf']!.continuousQueries['down']!.query = query('2h');
  assert.deepEqual(planFor(changedByCluster), [
    'CREATE RETENTION POLICY "year" ON "telegraf" DURATION 365d REPLICATION 2 SHARD DURATION 1w',
    'DROP CONTINUOUS QUERY "down" ON "telegraf"',
    query('2h'),
    gone,
  ]);
});
