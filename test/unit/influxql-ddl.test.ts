import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import {
  classifyStatement,
  formatDuration,
  parseGoDuration,
  quoteIdentifier,
  quoteString,
} from '../../src/influxql/influxql-ddl.ts';
import type { StatementClass } from '../../src/influxql/influxql-ddl.ts';
import { locateStatements } from '../../src/influxql/influxql-splitter.ts';

function operation(statement: string): MetadataOperation {
  const result = classifyStatement(statement);
  assert.equal(result.kind, 'ddl', `${statement} => ${JSON.stringify(result)}`);
  return (result as Extract<StatementClass, { kind: 'ddl' }>).operation;
}

function parseError(statement: string): string {
  const result = classifyStatement(statement);
  assert.equal(result.kind, 'error', `${statement} => ${JSON.stringify(result)}`);
  return (result as Extract<StatementClass, { kind: 'error' }>).message;
}

const DAY = 86_400;

test('CREATE DATABASE, with and without WITH', () => {
  assert.deepEqual(operation('CREATE DATABASE db1'), { op: 'createDatabase', name: 'db1' });
  assert.deepEqual(operation('create Database "My DB";'), { op: 'createDatabase', name: 'My DB' });
  assert.deepEqual(operation('CREATE DATABASE "select"'), { op: 'createDatabase', name: 'select' });
  assert.deepEqual(operation('CREATE DATABASE _x9 WITH NAME "rp one"'), { op: 'createDatabase', name: '_x9', retentionPolicy: { name: 'rp one' } });
  assert.deepEqual(operation('CREATE DATABASE d WITH DURATION 30d REPLICATION 3 SHARD DURATION 1d NAME r'), {
    op: 'createDatabase', name: 'd', retentionPolicy: { duration: 30 * DAY, replicaN: 3, shardGroupDuration: DAY, name: 'r' },
  });
  assert.deepEqual(operation('CREATE DATABASE d WITH duration inf'), { op: 'createDatabase', name: 'd', retentionPolicy: { duration: 0 } });
  assert.deepEqual(operation('CREATE DATABASE d WITH SHARD DURATION INF'), { op: 'createDatabase', name: 'd', retentionPolicy: { shardGroupDuration: 0 } });
  assert.deepEqual(operation('CREATE DATABASE d WITH REPLICATION 1'), { op: 'createDatabase', name: 'd', retentionPolicy: { replicaN: 1 } });
});

test('DROP DATABASE / RETENTION POLICY / USER / CONTINUOUS QUERY', () => {
  assert.deepEqual(operation('DROP DATABASE "a b"'), { op: 'dropDatabase', name: 'a b' });
  assert.deepEqual(operation('drop retention policy "r" on D'), { op: 'dropRetentionPolicy', name: 'r', database: 'D' });
  assert.deepEqual(operation('DROP USER "it\'s \\"me\\""'), { op: 'dropUser', name: `it's "me"` });
  assert.deepEqual(operation('DROP CONTINUOUS QUERY cq1 ON "db"'), { op: 'dropContinuousQuery', name: 'cq1', database: 'db' });
});

test('CREATE and ALTER RETENTION POLICY', () => {
  assert.deepEqual(operation('CREATE RETENTION POLICY rp2 ON db1 DURATION 100d REPLICATION 2'), {
    op: 'createRetentionPolicy', database: 'db1', name: 'rp2', duration: 100 * DAY, replicaN: 2, makeDefault: false,
  });
  assert.deepEqual(operation('create retention policy "one week" on "my db" duration 1w replication 1 shard duration 1h30m default'), {
    op: 'createRetentionPolicy', database: 'my db', name: 'one week', duration: 7 * DAY, replicaN: 1, shardGroupDuration: 5400, makeDefault: true,
  });
  assert.deepEqual(operation('CREATE RETENTION POLICY r ON d DURATION 0s REPLICATION 1 SHARD DURATION 0s'), {
    op: 'createRetentionPolicy', database: 'd', name: 'r', duration: 0, replicaN: 1, shardGroupDuration: 0, makeDefault: false,
  });
  assert.deepEqual(operation('ALTER RETENTION POLICY r ON d DURATION INF'), { op: 'alterRetentionPolicy', database: 'd', name: 'r', duration: 0, makeDefault: false });
  assert.deepEqual(operation('ALTER RETENTION POLICY r ON d DEFAULT SHARD DURATION 2h REPLICATION 3 DURATION 90m'), {
    op: 'alterRetentionPolicy', database: 'd', name: 'r', duration: 5400, replicaN: 3, shardGroupDuration: 7200, makeDefault: true,
  });
  // ALTER (only) takes the keyword DEFAULT as the policy name "default".
  assert.deepEqual(operation('ALTER RETENTION POLICY default ON d DEFAULT'), { op: 'alterRetentionPolicy', database: 'd', name: 'default', makeDefault: true });
});

test('durations: units, INF, sub-second parts rounded up', () => {
  const duration = (literal: string): unknown => {
    const op = operation(`CREATE RETENTION POLICY r ON d DURATION ${literal} REPLICATION 1`);
    return op.op === 'createRetentionPolicy' ? op.duration : undefined;
  };
  assert.equal(duration('INF'), 0);
  assert.equal(duration('0s'), 0);
  assert.equal(duration('1h'), 3600);
  assert.equal(duration('90m'), 5400);
  assert.equal(duration('1h30m'), 5400);
  assert.equal(duration('2w'), 14 * DAY);
  assert.equal(duration('3d12h'), 3.5 * DAY);
  assert.equal(duration('3601s'), 3601);
  assert.equal(duration('1500ms'), 2);
  assert.equal(duration('1ns'), 1);
  assert.equal(duration('3600000000u'), 3600);
  assert.equal(duration('3600000000µ'), 3600);
  assert.equal(duration('3600000000000ns'), 3600);
  assert.equal(duration('15250w'), 15250 * 7 * DAY);
  // influxd 1.6 knows u and µ but not us/µs (the s starts a new part without digits).
  assert.equal(parseError('CREATE RETENTION POLICY r ON d DURATION 10µs REPLICATION 1'), 'invalid duration at line 1, char 41');
  assert.equal(parseError('CREATE RETENTION POLICY r ON d DURATION 10us REPLICATION 1'), 'invalid duration at line 1, char 41');
});

test('users, passwords and privileges', () => {
  assert.deepEqual(operation("CREATE USER bob WITH PASSWORD 'pw'"), { op: 'createUser', name: 'bob', password: 'pw', admin: false });
  assert.deepEqual(operation("create user \"Ünï cødé\" with password 'it\\'s;\\\\\\n' with all privileges"), {
    op: 'createUser', name: 'Ünï cødé', password: "it's;\\\n", admin: true,
  });
  assert.deepEqual(operation("SET PASSWORD FOR bob = ''"), { op: 'setPassword', name: 'bob', password: '' });
  assert.deepEqual(operation('GRANT READ ON db TO bob'), { op: 'grant', user: 'bob', database: 'db', privilege: 'READ' });
  assert.deepEqual(operation('grant write on "db" to "bob"'), { op: 'grant', user: 'bob', database: 'db', privilege: 'WRITE' });
  assert.deepEqual(operation('GRANT ALL ON db TO bob'), { op: 'grant', user: 'bob', database: 'db', privilege: 'ALL' });
  assert.deepEqual(operation('GRANT ALL PRIVILEGES ON db TO bob'), { op: 'grant', user: 'bob', database: 'db', privilege: 'ALL' });
  assert.deepEqual(operation('GRANT ALL TO bob'), { op: 'grantAdmin', user: 'bob' });
  assert.deepEqual(operation('GRANT ALL PRIVILEGES TO "bob"'), { op: 'grantAdmin', user: 'bob' });
  assert.deepEqual(operation('REVOKE READ ON db FROM bob'), { op: 'revoke', user: 'bob', database: 'db', privilege: 'READ' });
  assert.deepEqual(operation('REVOKE ALL PRIVILEGES ON db FROM bob'), { op: 'revoke', user: 'bob', database: 'db', privilege: 'ALL' });
  assert.deepEqual(operation('revoke all from bob'), { op: 'revokeAdmin', user: 'bob' });
});

test('CREATE CONTINUOUS QUERY keeps the whole statement text', () => {
  const cq = 'CREATE CONTINUOUS QUERY "cq 1" ON "my db" BEGIN SELECT mean(v) INTO "my db"."rp"."m;1" FROM m WHERE h =~ /a;b/ GROUP BY time(1h), h END';
  assert.deepEqual(operation(cq), { op: 'createContinuousQuery', database: 'my db', name: 'cq 1', query: cq });
  const resample = 'create continuous query cq on db resample every 1h for 2h begin select count(v) into m2 from /.*/ group by time(30m) fill(none) end';
  assert.deepEqual(operation(`  ${resample} ; `), { op: 'createContinuousQuery', database: 'db', name: 'cq', query: resample });
  const raw = 'CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v INTO db.autogen.:MEASUREMENT FROM db.autogen./.*/ END';
  assert.deepEqual(operation(raw), { op: 'createContinuousQuery', database: 'db', name: 'cq', query: raw });
  const located = locateStatements(`SHOW USERS;/* x */ ${raw} -- done`);
  assert.deepEqual(classifyStatement(located[1]!), { kind: 'ddl', operation: { op: 'createContinuousQuery', database: 'db', name: 'cq', query: raw } });
});

test('parse errors say what influxd says', () => {
  const cases: Array<[string, string]> = [
    ['CREATE DATABSE x', 'found DATABSE, expected CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION at line 1, char 8'],
    ['foo', 'found foo, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1'],
    ['', 'found EOF, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1'],
    ['DROP x', 'found x, expected CONTINUOUS, DATABASE, MEASUREMENT, RETENTION, SERIES, SHARD, SUBSCRIPTION, USER at line 1, char 6'],
    ['CREATE DATABASE', 'found EOF, expected identifier at line 1, char 17'],
    ['CREATE DATABASE -- c', 'found EOF, expected identifier at line 1, char 22'],
    ['CREATE DATABASE /* c */', 'found EOF, expected identifier at line 1, char 24'],
    ['CREATE DATABASE /* c', 'found ILLEGAL, expected identifier at line 1, char 17'],
    ['CREATE\r\nDATABASE', 'found EOF, expected identifier at line 2, char 10'],
    ['create database select', 'found SELECT, expected identifier at line 1, char 17'],
    ['CREATE DATABASE café', 'found é, expected ; at line 1, char 20'],
    ['CREATE DATABASE "a\\tb"', 'found \\t, expected identifier at line 1, char 20'],
    ['CREATE DATABASE "x', 'found x, expected identifier at line 1, char 16'],
    ['CREATE DATABASE 1x', 'found 1x, expected identifier at line 1, char 17'],
    ['CREATE DATABASE $x', 'found $x, expected identifier at line 1, char 17'],
    ['CREATE DATABASE db1 extra', 'found extra, expected ; at line 1, char 21'],
    ['CREATE DATABASE db1 WITH', 'found EOF, expected DURATION, NAME, REPLICATION, SHARD at line 1, char 26'],
    ['CREATE DATABASE db1 WITH NAME rp DURATION 1d', 'found DURATION, expected ; at line 1, char 34'],
    ['CREATE RETENTION POLICY policy1 ON testdb DURATION 1h', 'found EOF, expected REPLICATION at line 1, char 54'],
    ['CREATE RETENTION POLICY p ON d DURATION bad REPLICATION 1', 'found bad, expected duration at line 1, char 41'],
    ['CREATE RETENTION POLICY p ON d DURATION 1.5h REPLICATION 1', 'found 1.5, expected duration at line 1, char 41'],
    ['CREATE RETENTION POLICY p ON d DURATION 1hx REPLICATION 1', 'invalid duration at line 1, char 41'],
    ['CREATE RETENTION POLICY p ON d DURATION 15251w REPLICATION 1', 'overflowed duration 15251w: choose a smaller duration or INF at line 1, char 41'],
    ['CREATE RETENTION POLICY p ON d DURATION INF REPLICATION 0', 'invalid value 0: must be 1 <= n <= 2147483647 at line 1, char 57'],
    ['CREATE RETENTION POLICY p ON d DURATION 1h REPLICATION 1 SHARD DURATION INF', 'invalid duration INF for shard duration at line 1, char 73'],
    ['CREATE RETENTION POLICY default ON d DURATION 1h REPLICATION 1', 'found DEFAULT, expected identifier at line 1, char 25'],
    ['ALTER RETENTION POLICY rp1 ON db1', 'found EOF, expected DURATION, REPLICATION, SHARD, DEFAULT at line 1, char 35'],
    ['ALTER RETENTION POLICY rp1 ON db1 DURATION 2h DURATION 3h', 'found duplicate DURATION option at line 1, char 47'],
    ['ALTER RETENTION POLICY rp1 ON db1 SHARD 1h', 'found 1h, expected DURATION at line 1, char 41'],
    ['CREATE USER u1 WITH PASSWORD pw', 'found pw, expected string at line 1, char 30'],
    ["CREATE USER u1 WITH PASSWORD 'pw' WITH ALL", 'found EOF, expected PRIVILEGES at line 1, char 44'],
    ["CREATE USER u3 WITH PASSWORD 'a\\qb'", 'found \\q, expected string at line 1, char 33'],
    ["CREATE USER u3 WITH PASSWORD 'ab", 'found ab, expected string at line 1, char 29'],
    ["SET PASSWORD FOR u1 'x'", 'found x, expected = at line 1, char 20'],
    ['GRANT READ TO u1', 'found TO, expected ON at line 1, char 12'],
    ['GRANT ALL PRIVILEGES', 'found EOF, expected ON, TO at line 1, char 22'],
    ['REVOKE READ ON db1 TO u1', 'found TO, expected FROM at line 1, char 20'],
    ['REVOKE x', 'found x, expected READ, WRITE, ALL [PRIVILEGES] at line 1, char 8'],
    ['CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 5s BEGIN SELECT mean(value) INTO cpu_mean FROM cpu GROUP BY time(10s) END', 'FOR duration must be >= GROUP BY time duration: must be a minimum of 10s, got 5s'],
    ['CREATE CONTINUOUS QUERY cq3 ON db BEGIN SELECT mean(v) FROM m GROUP BY time(1h) END', 'found FROM, expected INTO at line 1, char 56'],
    ['CREATE CONTINUOUS QUERY cq3 ON db BEGIN SELECT mean(v) INTO m3 FROM m END', 'found m, expected GROUP BY time(...) at line 1, char 69'],
    ['CREATE CONTINUOUS QUERY cq4 ON db RESAMPLE BEGIN SELECT v INTO m3 FROM m END', 'found BEGIN, expected EVERY, FOR at line 1, char 44'],
    ['CREATE CONTINUOUS QUERY cq4 ON db BEGIN SELECT v INTO m3 FROM m', 'found EOF, expected END at line 1, char 65'],
    ['CREATE CONTINUOUS QUERY cq4 ON db SELECT v INTO m3 FROM m END', 'found SELECT, expected BEGIN at line 1, char 35'],
    ['SHOW x', 'found x, expected CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS at line 1, char 6'],
    ['SHOW TAG KEY x', 'found x, expected EXACT, CARDINALITY at line 1, char 14'],
    ['SHOW RETENTION POLICIES ON db x', 'found x, expected ; at line 1, char 31'],
    ['DROP SHARD x', 'found x, expected integer at line 1, char 12'],
    ['DELETE', 'found EOF, expected FROM, WHERE at line 1, char 8'],
  ];
  for (const [statement, message] of cases) assert.equal(parseError(statement), message, statement);
});

test('located statements give positions in the whole query, and ; where influxd sees it', () => {
  const query = 'CREATE DATABASE x; CREATE DATABASE; CREATE DATABASE y';
  const classes = locateStatements(query).map((statement) => classifyStatement(statement));
  assert.deepEqual(classes[1], { kind: 'error', message: 'found ;, expected identifier at line 1, char 35' });
  const multiline = locateStatements('SHOW DATABASES;\nCREATE USER "😀é" WITH PASSWORD -- trailing');
  assert.deepEqual(classifyStatement(multiline[1]!), { kind: 'error', message: 'found EOF, expected string at line 2, char 44' });
});

test('other statements are classified for routing', () => {
  const expectations: Array<[string, StatementClass]> = [
    ['SELECT * FROM m', { kind: 'select', into: false }],
    ['select mean(v) INTO "m;2" from /a;b/ where x = \'INTO\'', { kind: 'select', into: true }],
    ['SELECT * FROM (SELECT v INTO x FROM m)', { kind: 'select', into: false }],
    ['SHOW DATABASES', { kind: 'show', show: 'databases', database: null, hasFrom: false, user: null }],
    ['show retention policies on "my db"', { kind: 'show', show: 'retention-policies', database: 'my db', hasFrom: false, user: null }],
    ['SHOW USERS', { kind: 'show', show: 'users', database: null, hasFrom: false, user: null }],
    ['SHOW GRANTS FOR "bob"', { kind: 'show', show: 'grants', database: null, hasFrom: false, user: 'bob' }],
    ['SHOW CONTINUOUS QUERIES', { kind: 'show', show: 'continuous-queries', database: null, hasFrom: false, user: null }],
    ['SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /cpu.*/ LIMIT 2', { kind: 'show', show: 'measurements', database: 'db', hasFrom: false, user: null }],
    ['SHOW TAG KEYS FROM cpu', { kind: 'show', show: 'tag-keys', database: null, hasFrom: true, user: null }],
    ['SHOW TAG VALUES ON db FROM cpu WITH KEY = host', { kind: 'show', show: 'tag-values', database: 'db', hasFrom: true, user: null }],
    ['SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host', { kind: 'show', show: 'tag-values-cardinality', database: null, hasFrom: false, user: null }],
    ['SHOW FIELD KEYS ON db', { kind: 'show', show: 'field-keys', database: 'db', hasFrom: false, user: null }],
    ['SHOW FIELD KEY CARDINALITY', { kind: 'show', show: 'field-key-cardinality', database: null, hasFrom: false, user: null }],
    ['SHOW SERIES FROM /a/ WHERE x = 1', { kind: 'show', show: 'series', database: null, hasFrom: true, user: null }],
    ['SHOW SERIES EXACT CARDINALITY ON db', { kind: 'show', show: 'series-cardinality', database: 'db', hasFrom: false, user: null }],
    ['SHOW MEASUREMENT EXACT CARDINALITY', { kind: 'show', show: 'measurement-cardinality', database: null, hasFrom: false, user: null }],
    ['SHOW QUERIES', { kind: 'show', show: 'queries', database: null, hasFrom: false, user: null }],
    ['SHOW SHARDS', { kind: 'show', show: 'shards', database: null, hasFrom: false, user: null }],
    ['SHOW SHARD GROUPS', { kind: 'show', show: 'shard-groups', database: null, hasFrom: false, user: null }],
    ["SHOW STATS FOR 'httpd'", { kind: 'show', show: 'stats', database: null, hasFrom: false, user: null }],
    ['SHOW DIAGNOSTICS', { kind: 'show', show: 'diagnostics', database: null, hasFrom: false, user: null }],
    ['SHOW SUBSCRIPTIONS', { kind: 'show', show: 'subscriptions', database: null, hasFrom: false, user: null }],
    ["DELETE FROM cpu WHERE time < '2000-01-01'", { kind: 'delete' }],
    ['DROP SERIES WHERE host = \'a\'', { kind: 'drop-series' }],
    ['DROP MEASUREMENT "c p u"', { kind: 'drop-measurement', measurement: 'c p u' }],
    ['DROP SHARD 18446744073709551615', { kind: 'drop-shard', shardId: '18446744073709551615' }],
    ['KILL QUERY 36 ON "host:8088"', { kind: 'kill-query', queryId: '36', host: 'host:8088' }],
    ['EXPLAIN ANALYZE SELECT * FROM m', { kind: 'explain', analyze: true }],
    ["CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ALL 'udp://h:1'", { kind: 'other', statement: 'CREATE SUBSCRIPTION' }],
    ['DROP SUBSCRIPTION s ON db.rp', { kind: 'other', statement: 'DROP SUBSCRIPTION' }],
  ];
  for (const [statement, expected] of expectations) assert.deepEqual(classifyStatement(statement), expected, statement);
});

const AWKWARD_NAMES = ['', 'plain', 'with space', 'select', 'SELECT', `it's`, 'say "hi"', 'back\\slash', '\\', '\\"', 'line\nbreak', 'ünïcødé 😀', 'a;b', '--x', '/*', '1x', '$x'];

test('quoteIdentifier and quoteString round-trip through the parser', () => {
  for (const name of AWKWARD_NAMES) {
    assert.deepEqual(operation(`DROP DATABASE ${quoteIdentifier(name)}`), { op: 'dropDatabase', name });
    assert.deepEqual(operation(`GRANT READ ON ${quoteIdentifier(name)} TO ${quoteIdentifier(name + '!')}`), { op: 'grant', user: name + '!', database: name, privilege: 'READ' });
    assert.deepEqual(operation(`CREATE USER ${quoteIdentifier(name)} WITH PASSWORD ${quoteString(name)}`), { op: 'createUser', name, password: name, admin: false });
  }
  assert.equal(quoteIdentifier('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quoteString("it's\n"), "'it\\'s\\n'");
  assert.throws(() => quoteIdentifier('a\rb'), RangeError);
  assert.throws(() => quoteString('a\0b'), RangeError);

  // Random names from a nasty alphabet.
  const alphabet = ['a', 'Z', '_', '0', ' ', '"', "'", '\\', '\n', ';', '/', '*', '-', 'é', '😀', '\t', 'n'];
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
  for (let i = 0; i < 500; i++) {
    let name = '';
    for (let length = random(12); length > 0; length--) name += alphabet[random(alphabet.length)];
    assert.deepEqual(operation(`SET PASSWORD FOR ${quoteIdentifier(name)} = ${quoteString(name)}`), { op: 'setPassword', name, password: name });
  }
});

test('formatDuration and parseGoDuration', () => {
  const formats: Array<[number, string]> = [[0, 'INF'], [1, '1s'], [59, '59s'], [60, '1m'], [5400, '90m'], [3600, '1h'], [3601, '3601s'],
    [DAY, '1d'], [3 * DAY, '3d'], [7 * DAY, '1w'], [36 * 3600, '36h'], [100 * DAY, '100d'], [14 * DAY, '2w']];
  for (const [seconds, literal] of formats) assert.equal(formatDuration(seconds), literal);
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10_000_000_000]) assert.throws(() => formatDuration(bad), RangeError);
  // What influxd prints, and the round trip through a statement.
  const shown: Array<[string, number]> = [['0s', 0], ['72h0m0s', 3 * DAY], ['1h30m0s', 5400], ['168h0m0s', 7 * DAY], ['1h0m1s', 3601],
    ['2400h0m0s', 100 * DAY], ['500ms', 0.5], ['1.5s', 1.5], ['-1h0m0s', -3600], ['1µs', 0.000001], ['0', 0]];
  for (const [text, seconds] of shown) assert.equal(parseGoDuration(text), seconds, text);
  for (const bad of ['', 'h', '1', '1x', '1..5s', '1h 2m', 'INF']) assert.throws(() => parseGoDuration(bad), RangeError, bad);
  for (const seconds of [1, 59, 3600, 3601, 5400, DAY, 7 * DAY + 1, 123_456_789]) {
    const op = operation(`ALTER RETENTION POLICY r ON d DURATION ${formatDuration(seconds)}`);
    assert.equal(op.op === 'alterRetentionPolicy' ? op.duration : undefined, seconds);
  }
});
