import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { detectDrift } from '../../src/agent/metadata/drift-detection.ts';
import type { LocalSnapshot } from '../../src/agent/metadata/local-snapshot.ts';
import { planReconcile, type AppliedRecord } from '../../src/agent/metadata/reconcile-plan.ts';
import { withRefused } from '../../src/agent/metadata/metadata-reconciler.ts';
import { SecretBox } from '../../src/cluster/secret-box.ts';

const box = new SecretBox('plan-test-secret-0123456789');
const D = 86_400;
const noRecord = (): AppliedRecord => ({ passwords: {}, continuousQueries: {}, managedUsers: [] });
const texts = (plan: Array<{ text: string }>) => plan.map((s) => s.text);

function desiredDoc(): ClusterMetadata {
  const doc = emptyMetadata(2);
  doc.databases['telegraf'] = {
    retentionPolicies: {
      week: { name: 'week', duration: 7 * D, shardGroupDuration: D, replicaN: 2 },
      year: { name: 'year', duration: 365 * D, shardGroupDuration: 7 * D, replicaN: 2 },
    },
    defaultRetentionPolicy: 'week',
    continuousQueries: { down: { name: 'down', query: 'CREATE CONTINUOUS QUERY down ON telegraf BEGIN SELECT mean(v) INTO year.m FROM m GROUP BY time(1h) END' } },
  };
  doc.users['admin'] = { name: 'admin', admin: true, privileges: {}, password: box.seal('root-pw', 'admin') };
  doc.users['reader'] = { name: 'reader', admin: false, privileges: { telegraf: 'READ' }, password: box.seal('r', 'reader') };
  return doc;
}

test('an empty influxd gets everything in dependency order: users, database, policies, grants, CQs', () => {
  const plan = planReconcile(desiredDoc(), { databases: {}, users: {} }, noRecord(), { dropUnmanagedUsers: false, secrets: box });
  assert.deepEqual(texts(plan), [
    `CREATE USER "admin" WITH PASSWORD 'root-pw' WITH ALL PRIVILEGES`,
    `CREATE USER "reader" WITH PASSWORD 'r'`,
    'CREATE DATABASE "telegraf" WITH DURATION 1w REPLICATION 2 SHARD DURATION 1d NAME "week"',
    'CREATE RETENTION POLICY "year" ON "telegraf" DURATION 365d REPLICATION 2 SHARD DURATION 1w',
    'GRANT READ ON "telegraf" TO "reader"',
    'CREATE CONTINUOUS QUERY down ON telegraf BEGIN SELECT mean(v) INTO year.m FROM m GROUP BY time(1h) END',
  ]);
  assert.deepEqual(plan.map((s) => s.sensitive), [true, true, false, false, false, false]);
});

test('an influxd that matches needs nothing; differences become ALTER/DROP/GRANT/REVOKE', () => {
  const desired = desiredDoc();
  const record: AppliedRecord = {
    passwords: { admin: desired.users['admin']!.password, reader: desired.users['reader']!.password },
    continuousQueries: { telegraf: { down: { source: desired.databases['telegraf']!.continuousQueries['down']!.query, normalized: 'NORMALIZED' } } },
    managedUsers: ['admin', 'reader', 'gone'],
  };
  const matching: LocalSnapshot = {
    databases: { telegraf: { retentionPolicies: structuredClone(desired.databases['telegraf']!.retentionPolicies), defaultRetentionPolicy: 'week', continuousQueries: { down: 'NORMALIZED' } } },
    users: { admin: { admin: true, privileges: {} }, reader: { admin: false, privileges: { telegraf: 'READ' } } },
  };
  assert.deepEqual(planReconcile(desired, matching, record, { dropUnmanagedUsers: false, secrets: box }), []);

  const drifted = structuredClone(matching);
  drifted.databases['telegraf']!.retentionPolicies!['week']!.duration = 3 * D;
  drifted.databases['telegraf']!.retentionPolicies!['extra'] = { name: 'extra', duration: D * 2, shardGroupDuration: D, replicaN: 1 };
  drifted.databases['telegraf']!.defaultRetentionPolicy = 'extra';
  drifted.databases['telegraf']!.continuousQueries['down'] = 'RECREATED BY HAND';
  drifted.databases['old'] = { continuousQueries: {} };
  drifted.users['reader']!.privileges = { telegraf: 'ALL', old: 'READ' };
  drifted.users['gone'] = { admin: false, privileges: {} };
  drifted.users['stranger'] = { admin: false, privileges: {} };
  assert.deepEqual(texts(planReconcile(desired, drifted, record, { dropUnmanagedUsers: false, secrets: box })), [
    'ALTER RETENTION POLICY "week" ON "telegraf" DURATION 1w REPLICATION 2 SHARD DURATION 1d DEFAULT',
    'DROP RETENTION POLICY "extra" ON "telegraf"',
    'GRANT READ ON "telegraf" TO "reader"',
    'DROP CONTINUOUS QUERY "down" ON "telegraf"',
    desired.databases['telegraf']!.continuousQueries['down']!.query,
    'DROP USER "gone"',
    'DROP DATABASE "old"',
  ]);
  const revert = texts(planReconcile(desired, drifted, record, { dropUnmanagedUsers: true, secrets: box }));
  assert.ok(revert.includes('DROP USER "stranger"'), 'revert mode drops users the cluster never knew');
});

test('a changed password is set again; awkward names are quoted', () => {
  const desired = emptyMetadata();
  desired.users['we"ird\\name'] = { name: 'we"ird\\name', admin: false, privileges: {}, password: box.seal("it's", 'we"ird\\name') };
  const local: LocalSnapshot = { databases: {}, users: { 'we"ird\\name': { admin: false, privileges: {} } } };
  const plan = planReconcile(desired, local, { ...noRecord(), passwords: { 'we"ird\\name': 'older-seal' } }, { dropUnmanagedUsers: false, secrets: box });
  assert.deepEqual(texts(plan), [`SET PASSWORD FOR "we\\"ird\\\\name" = 'it\\'s'`]);
  assert.equal(plan[0]!.passwordFor, 'we"ird\\name');
});

test('drift: local additions, changes and deletions become operations; a wiped influxd deletes nothing', () => {
  const applied = desiredDoc();
  const record: AppliedRecord = { passwords: {}, continuousQueries: {}, managedUsers: ['admin', 'reader'] };
  const local: LocalSnapshot = {
    databases: {
      telegraf: { retentionPolicies: { week: { name: 'week', duration: 7 * D, shardGroupDuration: D, replicaN: 2 } }, defaultRetentionPolicy: 'week', continuousQueries: {} },
      direct: { retentionPolicies: { autogen: { name: 'autogen', duration: 0, shardGroupDuration: 7 * D, replicaN: 1 } }, defaultRetentionPolicy: 'autogen', continuousQueries: {} },
    },
    users: { admin: { admin: true, privileges: {} }, reader: { admin: true, privileges: {} }, handmade: { admin: false, privileges: {} } },
  };
  const drift = detectDrift(local, applied, record);
  assert.deepEqual(drift.operations, [
    { op: 'dropRetentionPolicy', database: 'telegraf', name: 'year' },
    { op: 'dropContinuousQuery', database: 'telegraf', name: 'down' },
    { op: 'createDatabase', name: 'direct', retentionPolicy: { name: 'autogen', duration: 0, shardGroupDuration: 7 * D, replicaN: 1 } },
    { op: 'grantAdmin', user: 'reader' },
    { op: 'revoke', user: 'reader', database: 'telegraf', privilege: 'READ' },
  ]);
  assert.deepEqual(drift.unmirrorableUsers, ['handmade']);
  assert.equal(drift.localLooksWiped, false);
  const wiped = detectDrift({ databases: {}, users: {} }, applied, record);
  assert.deepEqual(wiped, { operations: [], unmirrorableUsers: [], localLooksWiped: true });
});

test('push mode: what influxd holds beyond the new document is dropped only if the document applied before had it', () => {
  const before = desiredDoc();
  before.databases['gone'] = { retentionPolicies: {}, defaultRetentionPolicy: null, continuousQueries: {} };
  const desired = desiredDoc();
  const week = desired.databases['telegraf']!.retentionPolicies['week']!;
  const local: LocalSnapshot = {
    databases: {
      telegraf: { retentionPolicies: { week, year: desired.databases['telegraf']!.retentionPolicies['year']!, hand: { ...week, name: 'hand' } }, defaultRetentionPolicy: 'week', continuousQueries: { down: desired.databases['telegraf']!.continuousQueries['down']!.query, mine: 'CREATE CONTINUOUS QUERY mine ON telegraf BEGIN SELECT max(v) INTO m2 FROM m GROUP BY time(1h) END' } },
      gone: { continuousQueries: {} },
      direct: { continuousQueries: {} },
    },
    users: { admin: { admin: true, privileges: {} }, reader: { admin: false, privileges: { telegraf: 'READ' } } },
  };
  const record: AppliedRecord = { passwords: { admin: desired.users['admin']!.password, reader: desired.users['reader']!.password }, continuousQueries: {}, managedUsers: ['admin', 'reader'] };
  const push = planReconcile(desired, local, record, { dropUnmanagedUsers: false, secrets: box, knownBefore: before });
  assert.deepEqual(texts(push), ['DROP DATABASE "gone"'], 'the cluster deleted "gone"; "direct", "hand" and "mine" are left for the drift check');
  const revert = planReconcile(desired, local, record, { dropUnmanagedUsers: true, secrets: box, knownBefore: before });
  assert.deepEqual(texts(revert).sort(), ['DROP CONTINUOUS QUERY "mine" ON "telegraf"', 'DROP DATABASE "direct"', 'DROP DATABASE "gone"', 'DROP RETENTION POLICY "hand" ON "telegraf"']);
});

test('push mode: what the cluster refused of the pushed drift counts as known, so it is undone', () => {
  const desired = desiredDoc();
  const local: LocalSnapshot = { databases: { refusedDb: { continuousQueries: {} }, direct: { continuousQueries: {} } }, users: {} };
  const knownBefore = withRefused(desiredDoc(), [{ op: 'createDatabase', name: 'refusedDb' }]);
  const plan = planReconcile(desired, local, noRecord(), { dropUnmanagedUsers: false, secrets: box, knownBefore });
  assert.ok(texts(plan).includes('DROP DATABASE "refusedDb"'), texts(plan).join('\n'));
  assert.ok(!texts(plan).includes('DROP DATABASE "direct"'));
});
