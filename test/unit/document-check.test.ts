import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOperation } from '../../src/cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { checkClusterDocument, type ContinuousQueryCheck } from '../../src/cluster/document-check.ts';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import { SecretBox } from '../../src/cluster/secret-box.ts';

const H = 3600;
const D = 24 * H;
const MiB = 1024 * 1024;
const box = new SecretBox('a-test-secret-of-16+chars');
const CQ = 'CREATE CONTINUOUS QUERY cq1 ON db1 BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END';
const AUTOGEN = 'databases["db1"].retentionPolicies["autogen"]';
const WEEK = 'databases["db1"].retentionPolicies["week"]';
const CQ1 = 'databases["db1"].continuousQueries["cq1"]';
const BOB = 'users["bob"]';

/** A document as the manager writes it: every kind of entry, built by the real operations. */
function validDocument(): ClusterMetadata {
  const operations: MetadataOperation[] = [
    { op: 'addMember', name: 'node-0' },
    { op: 'addMember', name: 'node-1' },
    { op: 'addMember', name: 'node-2' },
    { op: 'createDatabase', name: 'db1' },
    { op: 'createRetentionPolicy', database: 'db1', name: 'week', duration: 7 * D, replicaN: 1, makeDefault: false },
    { op: 'createDatabase', name: 'db2', retentionPolicy: { name: 'short', duration: 2 * H, shardGroupDuration: H, replicaN: 3 } },
    { op: 'createDatabase', name: 'db3' },
    { op: 'dropRetentionPolicy', database: 'db3', name: 'autogen' },
    { op: 'createContinuousQuery', database: 'db1', name: 'cq1', query: CQ },
    { op: 'createUser', name: 'bob', password: 'secret', admin: false },
    { op: 'grant', user: 'bob', database: 'db1', privilege: 'READ' },
    { op: 'grant', user: 'bob', database: 'db2', privilege: 'ALL' },
    { op: 'createUser', name: 'root', password: '', admin: true },
    { op: 'pinMeasurement', database: 'db1', measurement: 'm_1h', sourceDatabase: 'db1', sourceMeasurement: 'm' },
  ];
  let doc = emptyMetadata(2);
  for (const operation of operations) {
    const result = applyOperation(doc, operation, box);
    if (!result.ok) throw new Error(`${operation.op}: ${result.error}`);
    doc = result.metadata;
  }
  return doc;
}

const VALID = validDocument();

// Tests reach into documents by paths the type does not allow, on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** Sets an own property as JSON.parse does, even for "__proto__". */
function put(map: object, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of the valid document with one change. */
function broken(change: (doc: Loose) => void): Loose {
  const doc: Loose = structuredClone(VALID);
  change(doc);
  return doc;
}

function assertProblem(value: unknown, field: string, error: RegExp, check?: ContinuousQueryCheck): void {
  const result = checkClusterDocument(value, check);
  assert.equal(result.ok, false, 'the document must be refused');
  if (result.ok) return;
  assert.equal(result.field, field);
  assert.match(result.error, error);
}

function assertValid(value: unknown): void {
  const result = checkClusterDocument(value);
  assert.deepEqual(result.ok ? 'ok' : result, 'ok');
}

test('a document built by the operations passes, and comes back as the same object', () => {
  assert.equal(VALID.databases['db3']!.defaultRetentionPolicy, null, 'the fixture covers a database without a default policy');
  assert.match(VALID.users['root']!.password, /^v2:[^:]+:[^:]+:[^:]+$/, 'passwords are sealed in the v2 format');
  const result = checkClusterDocument(VALID);
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.metadata, VALID);
  assertValid(emptyMetadata());
});

test('values at every limit pass', () => {
  assertValid(broken((doc) => {
    delete doc.revision;
    doc.futureField = { anything: [1, 2] };
    doc.settings.futureSetting = 'x';
    doc.settings.influxdAuth = true;
    doc.settings.replicationFactor = 1000;
    doc.settings.dataMembers.push('n'.repeat(253), 'ünïcödé node');
    doc.databases['db1'].retentionPolicies['autogen'] = { name: 'autogen', duration: 0, shardGroupDuration: 100 * 365 * D, replicaN: 1000 };
    doc.databases['db1'].retentionPolicies['week'] = { name: 'week', duration: H, shardGroupDuration: H, replicaN: 1 };
    doc.databases['db1'].continuousQueries['cq1'].query = 'x'.repeat(MiB);
    doc.users['bob'].password = doc.users['bob'].password.replace(/^v1/, 'v2');
    for (const name of ['é'.repeat(127) + 'x', 'with space', 'a"b', 'Ünïcode ✓ 数据', '...', '__proto__']) {
      put(doc.databases, name, { retentionPolicies: {}, defaultRetentionPolicy: null, continuousQueries: {} });
      put(doc.users, name, { ...doc.users['root'], name });
    }
  }));
  assertValid(broken((doc) => {
    doc.revision = undefined;
    doc.settings.influxdAuth = false;
  }));
  assertValid({ ...emptyMetadata(), revision: Number.MAX_SAFE_INTEGER });
});

interface Case {
  rule: string;
  field: string;
  error: RegExp;
  change: (doc: Loose) => void;
}

/** Moves an entry of a map to another key, keeping its inner name in step. */
function rename(map: Loose, from: string, to: string): void {
  map[to] = { ...map[from], ...(map[from].name !== undefined ? { name: to } : {}) };
  delete map[from];
}

const cases: Case[] = [
  { rule: 'format is required', field: 'format', error: /is required: 1/, change: (doc) => delete doc.format },
  { rule: 'format is 1', field: 'format', error: /must be 1, not 2/, change: (doc) => (doc.format = 2) },
  { rule: 'format is the number 1', field: 'format', error: /must be 1, not "1"/, change: (doc) => (doc.format = '1') },
  { rule: 'revision is not negative', field: 'revision', error: /non-negative integer, not -1/, change: (doc) => (doc.revision = -1) },
  { rule: 'revision is whole', field: 'revision', error: /non-negative integer, not 1.5/, change: (doc) => (doc.revision = 1.5) },
  { rule: 'revision is a number', field: 'revision', error: /not "3"/, change: (doc) => (doc.revision = '3') },
  { rule: 'revision is a safe integer', field: 'revision', error: /non-negative integer/, change: (doc) => (doc.revision = 2 ** 53) },
  { rule: 'revision is not null', field: 'revision', error: /not null/, change: (doc) => (doc.revision = null) },

  { rule: 'databases is an object, not a string (bug report)', field: 'databases', error: /must be an object.*not "x"/, change: (doc) => (doc.databases = 'x') },
  { rule: 'databases is not an array', field: 'databases', error: /not an array/, change: (doc) => (doc.databases = []) },
  { rule: 'databases is not an array, even with its prototype swapped', field: 'databases', error: /not an array/, change: (doc) => (doc.databases = Object.setPrototypeOf([], Object.prototype)) },
  { rule: 'databases is required', field: 'databases', error: /is required/, change: (doc) => delete doc.databases },
  { rule: 'a database name has no slash', field: 'databases["a/b"]', error: /invalid database name: must not contain "\/"/, change: (doc) => rename(doc.databases, 'db1', 'a/b') },
  { rule: 'a database name has no backslash', field: 'databases["a\\\\b"]', error: /invalid database name/, change: (doc) => rename(doc.databases, 'db1', 'a\\b') },
  { rule: 'a database name is not "."', field: 'databases["."]', error: /must not be "\." or "\.\."/, change: (doc) => rename(doc.databases, 'db1', '.') },
  { rule: 'a database name is not ".."', field: 'databases[".."]', error: /must not be "\." or "\.\."/, change: (doc) => rename(doc.databases, 'db1', '..') },
  { rule: 'a database name is not empty', field: 'databases[""]', error: /must not be empty/, change: (doc) => rename(doc.databases, 'db1', '') },
  { rule: 'a database name has no control character', field: 'databases["a\\tb"]', error: /printable/, change: (doc) => rename(doc.databases, 'db1', 'a\tb') },
  { rule: 'a database name has no format character (Go: not printable)', field: 'databases["a\u200db"]', error: /printable/, change: (doc) => rename(doc.databases, 'db1', 'a\u200db') },
  { rule: 'a database name has no non-ASCII space', field: 'databases["a\u00a0b"]', error: /printable/, change: (doc) => rename(doc.databases, 'db1', 'a\u00a0b') },
  { rule: 'a database name has no lone surrogate', field: 'databases["a\\ud800"]', error: /printable/, change: (doc) => rename(doc.databases, 'db1', 'a\ud800') },
  { rule: 'a database name is at most 255 bytes of UTF-8', field: `databases["${'é'.repeat(128)}"]`, error: /at most 255 bytes/, change: (doc) => rename(doc.databases, 'db1', 'é'.repeat(128)) },
  { rule: 'a database is an object', field: 'databases["db1"]', error: /must be an object.*not "x"/, change: (doc) => (doc.databases['db1'] = 'x') },
  { rule: 'retention policies are required', field: 'databases["db1"].retentionPolicies', error: /is required/, change: (doc) => delete doc.databases['db1'].retentionPolicies },
  { rule: 'a retention policy name follows the name rule', field: 'databases["db1"].retentionPolicies["week/1"]', error: /invalid retention policy name/, change: (doc) => rename(doc.databases['db1'].retentionPolicies, 'week', 'week/1') },
  { rule: 'a retention policy is an object', field: AUTOGEN, error: /not null/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'] = null) },
  { rule: 'a retention policy name equals its key', field: `${AUTOGEN}.name`, error: /must be its key "autogen", not "other"/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].name = 'other') },
  { rule: 'a retention policy has a name', field: `${AUTOGEN}.name`, error: /is required/, change: (doc) => delete doc.databases['db1'].retentionPolicies['autogen'].name },
  { rule: 'duration is not negative', field: `${AUTOGEN}.duration`, error: /whole number of seconds, 0 for infinite, not -1/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].duration = -1) },
  { rule: 'duration is whole', field: `${WEEK}.duration`, error: /not 604800.5/, change: (doc) => (doc.databases['db1'].retentionPolicies['week'].duration = 7 * D + 0.5) },
  { rule: 'duration is a number', field: `${AUTOGEN}.duration`, error: /not "0"/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].duration = '0') },
  { rule: 'duration is at least 1h unless infinite', field: `${WEEK}.duration`, error: /at least 1h0m0s/, change: (doc) => Object.assign(doc.databases['db1'].retentionPolicies['week'], { duration: H - 1, shardGroupDuration: H }) },
  { rule: 'shard group duration is at least 1h', field: `${AUTOGEN}.shardGroupDuration`, error: /at least 3600/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].shardGroupDuration = H - 1) },
  { rule: 'shard group duration is required', field: `${AUTOGEN}.shardGroupDuration`, error: /is required/, change: (doc) => delete doc.databases['db1'].retentionPolicies['autogen'].shardGroupDuration },
  { rule: 'shard group duration does not exceed the duration', field: `${WEEK}.shardGroupDuration`, error: /must not exceed the retention policy duration/, change: (doc) => (doc.databases['db1'].retentionPolicies['week'].shardGroupDuration = 7 * D + 1) },
  { rule: 'replicaN is at least 1', field: `${AUTOGEN}.replicaN`, error: /from 1 to 1000, not 0/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].replicaN = 0) },
  { rule: 'replicaN is at most 1000', field: `${AUTOGEN}.replicaN`, error: /not 1001/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].replicaN = 1001) },
  { rule: 'replicaN is a whole number', field: `${AUTOGEN}.replicaN`, error: /not 1.5/, change: (doc) => (doc.databases['db1'].retentionPolicies['autogen'].replicaN = 1.5) },
  { rule: 'the default retention policy is one of the database\'s', field: 'databases["db1"].defaultRetentionPolicy', error: /"nope", which is not one of the database's retention policies/, change: (doc) => (doc.databases['db1'].defaultRetentionPolicy = 'nope') },
  { rule: 'the default retention policy is an own policy, not an inherited property', field: 'databases["db1"].defaultRetentionPolicy', error: /"toString", which is not one/, change: (doc) => (doc.databases['db1'].defaultRetentionPolicy = 'toString') },
  { rule: 'the default retention policy is required (null when none)', field: 'databases["db1"].defaultRetentionPolicy', error: /is required/, change: (doc) => delete doc.databases['db1'].defaultRetentionPolicy },
  { rule: 'the default retention policy is a string or null', field: 'databases["db1"].defaultRetentionPolicy', error: /not 7/, change: (doc) => (doc.databases['db1'].defaultRetentionPolicy = 7) },
  { rule: 'continuous queries are an object', field: 'databases["db1"].continuousQueries', error: /not null/, change: (doc) => (doc.databases['db1'].continuousQueries = null) },
  { rule: 'a continuous query name is not empty (influxd checks no more)', field: 'databases["db1"].continuousQueries[""]', error: /invalid continuous query name: must not be empty/, change: (doc) => rename(doc.databases['db1'].continuousQueries, 'cq1', '') },
  { rule: 'a continuous query is an object', field: CQ1, error: /not an array/, change: (doc) => (doc.databases['db1'].continuousQueries['cq1'] = [CQ]) },
  { rule: 'a continuous query name equals its key', field: `${CQ1}.name`, error: /must be its key "cq1", not "cq2"/, change: (doc) => (doc.databases['db1'].continuousQueries['cq1'].name = 'cq2') },
  { rule: 'a continuous query is a string', field: `${CQ1}.query`, error: /as a string, not 42/, change: (doc) => (doc.databases['db1'].continuousQueries['cq1'].query = 42) },
  { rule: 'a continuous query is at most 1 MiB', field: `${CQ1}.query`, error: /at most 1048576 bytes/, change: (doc) => (doc.databases['db1'].continuousQueries['cq1'].query = 'x'.repeat(MiB + 1)) },
  { rule: 'a continuous query\'s size counts UTF-8 bytes', field: `${CQ1}.query`, error: /at most 1048576 bytes/, change: (doc) => (doc.databases['db1'].continuousQueries['cq1'].query = 'é'.repeat(MiB / 2 + 1)) },

  { rule: 'users is an object, not null (bug report)', field: 'users', error: /must be an object.*not null/, change: (doc) => (doc.users = null) },
  { rule: 'users is not an array', field: 'users', error: /not an array/, change: (doc) => (doc.users = [VALID.users['bob']]) },
  { rule: 'a user name is not empty (influxd checks no more)', field: 'users[""]', error: /invalid user name: must not be empty/, change: (doc) => rename(doc.users, 'bob', '') },
  { rule: 'a user is an object', field: BOB, error: /not true/, change: (doc) => (doc.users['bob'] = true) },
  { rule: 'a user name equals its key', field: `${BOB}.name`, error: /must be its key "bob", not "alice"/, change: (doc) => (doc.users['bob'].name = 'alice') },
  { rule: 'admin is a boolean', field: `${BOB}.admin`, error: /true or false, not "yes"/, change: (doc) => (doc.users['bob'].admin = 'yes') },
  { rule: 'admin is required', field: `${BOB}.admin`, error: /is required/, change: (doc) => delete doc.users['bob'].admin },
  { rule: 'privileges are an object', field: `${BOB}.privileges`, error: /not null/, change: (doc) => (doc.users['bob'].privileges = null) },
  { rule: 'a privilege is on a database in the document', field: `${BOB}.privileges["nope"]`, error: /database "nope", which is not in the document/, change: (doc) => (doc.users['bob'].privileges['nope'] = 'READ') },
  { rule: 'a privilege on "toString" does not find Object.prototype', field: `${BOB}.privileges["toString"]`, error: /not in the document/, change: (doc) => (doc.users['bob'].privileges['toString'] = 'READ') },
  { rule: 'a privilege on "__proto__" does not find Object.prototype', field: `${BOB}.privileges["__proto__"]`, error: /not in the document/, change: (doc) => (doc.users['bob'].privileges = JSON.parse('{"__proto__":"READ"}')) },
  { rule: 'a privilege is READ, WRITE or ALL', field: `${BOB}.privileges["db1"]`, error: /"READ", "WRITE" or "ALL", not "READWRITE"/, change: (doc) => (doc.users['bob'].privileges['db1'] = 'READWRITE') },
  { rule: 'a privilege is upper case', field: `${BOB}.privileges["db2"]`, error: /not "all"/, change: (doc) => (doc.users['bob'].privileges['db2'] = 'all') },
  { rule: 'a password is never plaintext', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = 'hunter2') },
  { rule: 'a password is required', field: `${BOB}.password`, error: /sealed password/, change: (doc) => delete doc.users['bob'].password },
  { rule: 'a password format is v1 or v2', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = doc.users['bob'].password.replace(/^v2/, 'v3')) },
  { rule: 'a password has an IV', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = 'v1::AAAAAAAAAAAAAAAAAAAAAA==:AAAA') },
  { rule: 'a password has a tag', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = 'v1:AAAAAAAAAAAAAAAA::AAAA') },
  { rule: 'a password has exactly three parts', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password += ':AAAA') },
  { rule: 'a password\'s parts are base64', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = 'v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:not base64!') },
  { rule: 'a password is a string, not an array that prints as one', field: `${BOB}.password`, error: /sealed password/, change: (doc) => (doc.users['bob'].password = [doc.users['bob'].password]) },

  { rule: 'settings is required (bug report)', field: 'settings', error: /is required/, change: (doc) => delete doc.settings },
  { rule: 'settings is an object', field: 'settings', error: /not "x"/, change: (doc) => (doc.settings = 'x') },
  { rule: 'the replication factor is at least 1', field: 'settings.replicationFactor', error: /from 1 to 1000, not 0/, change: (doc) => (doc.settings.replicationFactor = 0) },
  { rule: 'the replication factor is at most 1000', field: 'settings.replicationFactor', error: /not 1001/, change: (doc) => (doc.settings.replicationFactor = 1001) },
  { rule: 'the replication factor is a number', field: 'settings.replicationFactor', error: /not "2"/, change: (doc) => (doc.settings.replicationFactor = '2') },
  { rule: 'data members are an array', field: 'settings.dataMembers', error: /array of node names, not "node-0"/, change: (doc) => (doc.settings.dataMembers = 'node-0') },
  { rule: 'data members are a real array, not an array-like object', field: 'settings.dataMembers', error: /array of node names, not an object/, change: (doc) => (doc.settings.dataMembers = { length: 0 }) },
  { rule: 'data members are required', field: 'settings.dataMembers', error: /is required/, change: (doc) => delete doc.settings.dataMembers },
  { rule: 'data members are distinct', field: 'settings.dataMembers[3]', error: /repeats the node name "node-1"/, change: (doc) => doc.settings.dataMembers.push('node-1') },
  { rule: 'a data member is not empty', field: 'settings.dataMembers[1]', error: /must not be empty/, change: (doc) => (doc.settings.dataMembers[1] = '') },
  { rule: 'a data member is at most 253 characters', field: 'settings.dataMembers[0]', error: /at most 253 characters/, change: (doc) => (doc.settings.dataMembers[0] = 'n'.repeat(254)) },
  { rule: 'a data member has no control character', field: 'settings.dataMembers[2]', error: /control characters/, change: (doc) => (doc.settings.dataMembers[2] = 'node\n2') },
  { rule: 'a data member is a string', field: 'settings.dataMembers[0]', error: /node name, not 7/, change: (doc) => (doc.settings.dataMembers[0] = 7) },
  { rule: 'data members have no holes', field: 'settings.dataMembers[1]', error: /is required/, change: (doc) => delete doc.settings.dataMembers[1] },
  { rule: 'pins are an object', field: 'settings.pins', error: /not null/, change: (doc) => (doc.settings.pins = null) },
  { rule: 'a pinned unit has a NUL between database and measurement', field: 'settings.pins["db1.m"]', error: /database\\u0000measurement/, change: (doc) => (doc.settings.pins['db1.m'] = 'db1\u0000m') },
  { rule: 'a pinned unit has a measurement', field: 'settings.pins["db1\\u0000"]', error: /both parts non-empty/, change: (doc) => (doc.settings.pins['db1\u0000'] = 'db1\u0000m') },
  { rule: 'a pinned unit has exactly two parts', field: 'settings.pins["db1\\u0000m\\u0000x"]', error: /both parts non-empty/, change: (doc) => (doc.settings.pins['db1\u0000m\u0000x'] = 'db1\u0000m') },
  { rule: 'a pin source is a string', field: 'settings.pins["db1\\u0000m_1h"]', error: /not 1/, change: (doc) => (doc.settings.pins['db1\u0000m_1h'] = 1) },
  { rule: 'a pin source has a database', field: 'settings.pins["db1\\u0000m_1h"]', error: /both parts non-empty, not "\\u0000m"/, change: (doc) => (doc.settings.pins['db1\u0000m_1h'] = '\u0000m') },
  { rule: 'influxdAuth is a boolean when present', field: 'settings.influxdAuth', error: /true or false when present, not "yes"/, change: (doc) => (doc.settings.influxdAuth = 'yes') },
  { rule: 'influxdAuth is not null', field: 'settings.influxdAuth', error: /not null/, change: (doc) => (doc.settings.influxdAuth = null) },
];

for (const { rule, field, error, change } of cases) {
  test(`rule: ${rule}`, () => assertProblem(broken(change), field, error));
}

test('a document that is not a plain object is refused at the root', () => {
  for (const value of [null, undefined, 'x', 1, [], [VALID], new Date(), new Map(), Object.create(VALID)]) {
    assertProblem(value, '', /an object \(the document\)/);
  }
});

test('the first problem is reported, in the order format, revision, databases, users, settings', () => {
  const doc = broken((d) => {
    d.format = 2;
    d.revision = -1;
    d.databases = 'x';
    d.users = null;
    delete d.settings;
  });
  for (const [field, repair] of [
    ['format', () => (doc.format = 1)],
    ['revision', () => (doc.revision = 0)],
    ['databases', () => (doc.databases = {})],
    ['users', () => (doc.users = {})],
    ['settings', () => (doc.settings = VALID.settings)],
  ] as const) {
    assertProblem(doc, field, /./);
    repair();
  }
  assertValid(doc);
});

test('field paths quote keys as JSON strings', () => {
  const doc = broken((d) => {
    rename(d.databases, 'db1', 'a"b');
    d.databases['a"b'].retentionPolicies['autogen'].replicaN = 0;
  });
  assertProblem(doc, 'databases["a\\"b"].retentionPolicies["autogen"].replicaN', /from 1 to 1000/);
});

test('a huge key is cut short in the path and never echoed whole', () => {
  const key = 'x'.repeat(1e6);
  const result = checkClusterDocument(broken((d) => (d.databases[key] = {})));
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.field, `databases["${'x'.repeat(256)}…"]`);
  assert.match(result.error, /at most 255 bytes/);
});

test('getters are refused, never called', () => {
  let calls = 0;
  const doc = broken((d) => {
    delete d.format;
    Object.defineProperty(d, 'format', { enumerable: true, get: () => (calls++, 1) });
  });
  assertProblem(doc, 'format', /not an accessor/);
  const user = broken((d) => Object.defineProperty(d.users['bob'], 'admin', { enumerable: true, get: () => { throw new Error('boom'); } }));
  assertProblem(user, `${BOB}.admin`, /not an accessor/);
  assert.equal(calls, 0);
});

test('inherited properties are ignored, even on a polluted Object.prototype', () => {
  const doc = broken((d) => delete d.settings);
  Object.defineProperty(Object.prototype, 'settings', { value: VALID.settings, configurable: true, writable: true });
  try {
    assertProblem(doc, 'settings', /is required/);
  } finally {
    delete (Object.prototype as Loose).settings;
  }
});

test('objects with a null prototype pass', () => {
  const nullPrototype = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(nullPrototype);
    if (typeof value !== 'object' || value === null) return value;
    return Object.assign(Object.create(null), Object.fromEntries(Object.entries(value).map(([k, v]) => [k, nullPrototype(v)])));
  };
  const doc = nullPrototype(VALID);
  const result = checkClusterDocument(doc);
  assert.equal(result.ok && result.metadata, doc);
});

test('checkContinuousQuery gets (query, database, name) and its answer is the error', () => {
  const calls: string[][] = [];
  const refuse: ContinuousQueryCheck = (query, database, name) => {
    calls.push([query, database, name]);
    return 'the statement names another database';
  };
  assertProblem(VALID, `${CQ1}.query`, /^the statement names another database$/, refuse);
  assert.deepEqual(calls, [[CQ, 'db1', 'cq1']]);
  assert.equal(checkClusterDocument(VALID, () => undefined).ok, true);
  assertProblem(VALID, `${CQ1}.query`, /cannot be checked: parser exploded/, () => {
    throw new Error('parser exploded');
  });
});

/** Values no document should hold; each also stands in for every part of a valid document. */
function garbage(): unknown[] {
  let deep: Loose = {};
  for (let i = 0; i < 100_000; i++) deep = { databases: deep, a: [deep] };
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const trap = () => {
    throw new Error('trap');
  };
  const hostile = new Proxy({}, { get: trap, getOwnPropertyDescriptor: trap, ownKeys: trap, getPrototypeOf: trap, has: trap });
  return [
    null, undefined, 0, -1, 1.5, NaN, Infinity, -0, 10n, 10n ** 400n, true, Symbol('s'), () => 1,
    '', 'x', 'x'.repeat(16 * MiB), ':'.repeat(MiB), '\u0000'.repeat(MiB), 'v1:' + 'A'.repeat(MiB),
    [], [null], new Array(2 ** 32 - 1), {}, Object.create(null), new Date(), new Map([['a', 1]]), /re/,
    deep, JSON.parse('{"__proto__":{"format":1},"constructor":null,"format":1}'),
    revoked.proxy, hostile,
  ];
}

/** Every path into the valid document, containers included. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((key) => [[...prefix, key], ...pathsOf((value as Loose)[key], [...prefix, key])]);
}

test('garbage never throws, at the root or in place of any part of a document', () => {
  const junk = garbage();
  const paths = pathsOf(VALID);
  assert.ok(paths.length > 50, `${paths.length} paths`);
  let checked = 0;
  const verdict = (value: unknown, where: string): void => {
    let result;
    assert.doesNotThrow(() => (result = checkClusterDocument(value, () => undefined)), where);
    const r = result as unknown as Loose;
    assert.ok(r.ok === true || (typeof r.field === 'string' && typeof r.error === 'string' && r.error.length > 0 && r.error.length < 400), where);
    checked++;
  };
  for (const [i, value] of junk.entries()) {
    verdict(value, `root #${i}`);
    for (const path of paths) {
      const doc: Loose = structuredClone(VALID);
      let parent = doc;
      for (const key of path.slice(0, -1)) parent = parent[key];
      parent[path.at(-1)!] = value;
      verdict(doc, `#${i} at ${path.join('.')}`);
    }
    verdict(broken((d) => (d.databases[String(i)] = value)), `#${i} as a database`);
  }
  assert.equal(checked, junk.length * (2 + paths.length));
});
