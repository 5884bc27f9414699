import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOperation, defaultShardGroupDuration } from '../../src/cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import { NO_SECRET_MESSAGE, SecretBox } from '../../src/cluster/secret-box.ts';

const H = 3600;
const D = 24 * H;
const box = new SecretBox('a-test-secret-of-enough-length');

/** Applies operations in order; returns the document and each statement's error (or undefined). */
function run(ops: MetadataOperation[], start: ClusterMetadata = emptyMetadata(2), secrets: SecretBox | null = box) {
  let doc = start;
  const errors: Array<string | undefined> = [];
  for (const op of ops) {
    const result = applyOperation(doc, op, secrets ?? undefined);
    if (result.ok) doc = result.metadata;
    errors.push(result.ok ? undefined : result.error);
  }
  return { doc, errors };
}

test('shard group duration defaults follow InfluxQL', () => {
  assert.equal(defaultShardGroupDuration(0), 7 * D);
  assert.equal(defaultShardGroupDuration(H), H);
  assert.equal(defaultShardGroupDuration(2 * D - 1), H);
  assert.equal(defaultShardGroupDuration(2 * D), D);
  assert.equal(defaultShardGroupDuration(180 * D - 1), D);
  assert.equal(defaultShardGroupDuration(180 * D), 7 * D);
});

test('CREATE DATABASE: autogen INF default RP with the cluster RF; WITH clause; idempotent; conflicts', () => {
  const { doc, errors } = run([
    { op: 'createDatabase', name: 'a' },
    { op: 'createDatabase', name: 'a' },
    { op: 'createDatabase', name: 'b', retentionPolicy: { name: 'rp1', duration: 3 * D, replicaN: 1, shardGroupDuration: 2 * H } },
    { op: 'createDatabase', name: 'b', retentionPolicy: { name: 'rp1', duration: 3 * D, replicaN: 1, shardGroupDuration: 2 * H } },
    { op: 'createDatabase', name: 'b', retentionPolicy: { duration: 5 * D } },
    { op: 'createDatabase', name: 'c', retentionPolicy: { duration: 30 * 60 } },
  ]);
  assert.deepEqual(errors, [undefined, undefined, undefined, undefined, 'retention policy conflicts with an existing policy', 'retention policy duration must be at least 1h0m0s']);
  assert.deepEqual(doc.databases['a'], { retentionPolicies: { autogen: { name: 'autogen', duration: 0, shardGroupDuration: 7 * D, replicaN: 2 } }, defaultRetentionPolicy: 'autogen', continuousQueries: {} });
  assert.deepEqual(doc.databases['b']!.retentionPolicies['rp1'], { name: 'rp1', duration: 3 * D, shardGroupDuration: 2 * H, replicaN: 1 });
  assert.equal(doc.databases['c'], undefined);
});

test('retention policies: create, identical create, conflicts, alter, default, drop', () => {
  const { doc, errors } = run([
    { op: 'createDatabase', name: 'd' },
    { op: 'createRetentionPolicy', database: 'd', name: 'r', duration: 2 * D, replicaN: 1, makeDefault: false },
    { op: 'createRetentionPolicy', database: 'd', name: 'r', duration: 2 * D, replicaN: 1, makeDefault: false },
    { op: 'createRetentionPolicy', database: 'd', name: 'r', duration: 2 * D, replicaN: 1, makeDefault: true },
    { op: 'createRetentionPolicy', database: 'd', name: 'r', duration: 3 * D, replicaN: 1, makeDefault: false },
    { op: 'createRetentionPolicy', database: 'd', name: 'short', duration: 2 * H, replicaN: 1, shardGroupDuration: 600, makeDefault: false },
    { op: 'createRetentionPolicy', database: 'd', name: 'bad', duration: 2 * H, replicaN: 1, shardGroupDuration: 3 * H, makeDefault: false },
    { op: 'createRetentionPolicy', database: 'nope', name: 'r', duration: 2 * D, replicaN: 1, makeDefault: false },
    { op: 'alterRetentionPolicy', database: 'd', name: 'autogen', duration: D, makeDefault: false },
    { op: 'alterRetentionPolicy', database: 'd', name: 'r', duration: 10 * D, replicaN: 3, makeDefault: true },
    { op: 'alterRetentionPolicy', database: 'd', name: 'r9', makeDefault: true },
    { op: 'dropRetentionPolicy', database: 'd', name: 'autogen' },
    { op: 'dropRetentionPolicy', database: 'd', name: 'missing' },
    { op: 'dropRetentionPolicy', database: 'nodb', name: 'r' },
  ]);
  assert.deepEqual(errors, [
    undefined,
    undefined,
    undefined,
    'retention policy conflicts with an existing policy',
    'retention policy already exists',
    undefined,
    'retention policy duration must be greater than the shard duration',
    'database not found: nope',
    'retention policy duration must be greater than the shard duration',
    undefined,
    'retention policy not found: r9',
    undefined,
    undefined,
    undefined,
  ]);
  const db = doc.databases['d']!;
  assert.equal(db.defaultRetentionPolicy, 'r');
  assert.deepEqual(Object.keys(db.retentionPolicies).sort(), ['r', 'short']);
  assert.deepEqual(db.retentionPolicies['r'], { name: 'r', duration: 10 * D, shardGroupDuration: D, replicaN: 3 });
  assert.equal(db.retentionPolicies['short']!.shardGroupDuration, H, 'a shard duration under 1h is raised to 1h');
});

test('users: passwords sealed, idempotent create, privileges as bit sets, drop database clears grants', () => {
  const { doc, errors } = run([
    { op: 'createDatabase', name: 'd' },
    { op: 'createUser', name: 'u', password: 'pw', admin: false },
    { op: 'createUser', name: 'u', password: 'pw', admin: false },
    { op: 'createUser', name: 'u', password: 'other', admin: false },
    { op: 'grant', user: 'u', database: 'nope', privilege: 'READ' },
    { op: 'grant', user: 'u', database: 'd', privilege: 'ALL' },
    { op: 'revoke', user: 'u', database: 'd', privilege: 'READ' },
    { op: 'grantAdmin', user: 'u' },
    { op: 'setPassword', name: 'u', password: 'new' },
    { op: 'setPassword', name: 'ghost', password: 'x' },
    { op: 'dropUser', name: 'ghost' },
    { op: 'grantAdmin', user: 'ghost' },
  ]);
  assert.deepEqual(errors, [undefined, undefined, undefined, 'user already exists', 'database not found: nope', undefined, undefined, undefined, undefined, 'user not found', 'user not found', 'user not found']);
  const user = doc.users['u']!;
  assert.equal(user.admin, true);
  assert.deepEqual(user.privileges, { d: 'WRITE' });
  // Quoted: a sealed value is random base64, which may contain the letters "pw" by chance (it did once in CI).
  assert.ok(!JSON.stringify(doc).includes('"new"') && !JSON.stringify(doc).includes('"pw"') && !JSON.stringify(doc).includes('"other"'), 'no plaintext password in the document');
  assert.equal(box.open(user.password, user.name), 'new');
  const revokedAll = run([{ op: 'revoke', user: 'u', database: 'd', privilege: 'ALL' }], doc).doc;
  assert.deepEqual(revokedAll.users['u']!.privileges, {});
  const dropped = run([{ op: 'dropDatabase', name: 'd' }, { op: 'createDatabase', name: 'd' }], doc).doc;
  assert.deepEqual(dropped.users['u']!.privileges, {});
});

test('user statements without a secret are refused with a message naming the setting', () => {
  const { errors } = run([{ op: 'createUser', name: 'u', password: 'p', admin: true }], emptyMetadata(), null);
  assert.deepEqual(errors, [NO_SECRET_MESSAGE]);
  assert.match(NO_SECRET_MESSAGE, /CFLUX_SECRET/);
});

test('continuous queries: create, identical create, conflict, drop of missing is fine', () => {
  const cq = 'CREATE CONTINUOUS QUERY c ON d BEGIN SELECT count(v) INTO m2 FROM m GROUP BY time(1h) END';
  const { doc, errors } = run([
    { op: 'createContinuousQuery', database: 'd', name: 'c', query: cq },
    { op: 'createDatabase', name: 'd' },
    { op: 'createContinuousQuery', database: 'd', name: 'c', query: cq },
    { op: 'createContinuousQuery', database: 'd', name: 'c', query: cq },
    { op: 'createContinuousQuery', database: 'd', name: 'c', query: cq.replace('m2', 'm3') },
    { op: 'dropContinuousQuery', database: 'd', name: 'missing' },
    { op: 'dropContinuousQuery', database: 'nodb', name: 'c' },
  ]);
  assert.deepEqual(errors, ['database not found: d', undefined, undefined, undefined, 'continuous query already exists', undefined, undefined]);
  assert.deepEqual(doc.databases['d']!.continuousQueries, { c: { name: 'c', query: cq } });
});

test('operations never mutate their input and report whether anything changed', () => {
  const start = emptyMetadata();
  const frozen = JSON.stringify(start);
  const created = applyOperation(start, { op: 'createDatabase', name: 'x' }, box);
  assert.equal(JSON.stringify(start), frozen);
  assert.ok(created.ok && created.changed);
  const again = applyOperation(created.metadata, { op: 'createDatabase', name: 'x' }, box);
  assert.ok(again.ok && !again.changed);
});

test('a different secret cannot open a sealed password, and says why', () => {
  const sealed = box.seal('pw', 'alice');
  assert.notEqual(box.seal('pw', 'alice'), sealed, 'a fresh IV each time');
  assert.equal(box.open(sealed, 'alice'), 'pw');
  assert.throws(() => new SecretBox('another-secret-entirely').open(sealed, 'alice'), /different CFLUX_SECRET/);
  assert.throws(() => box.open(sealed, 'mallory'), /sealed for another user/, "a sealed password moved to another user's record does not open");
  const lengths = new Set(['', 'a', 'correct horse battery staple', 'x'.repeat(126)].map((password) => box.seal(password, 'alice').length));
  assert.equal(lengths.size, 1, 'passwords up to 126 bytes seal to the same length');
  assert.equal(box.open(box.seal('x'.repeat(300), 'alice'), 'alice'), 'x'.repeat(300));
  assert.equal(box.open(box.seal('pässwörd ☃', 'bob'), 'bob'), 'pässwörd ☃');
  assert.throws(() => new SecretBox('short'), /at least 16/);
});
