// Statements built with quoteIdentifier / quoteString / formatDuration for
// awkward names are accepted by a real influxd 1.x, which shows the same
// names and durations back; our splitter and parser read them like influxd.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import { classifyStatement, formatDuration, parseGoDuration, quoteIdentifier, quoteString } from '../../src/influxql/influxql-ddl.ts';
import { locateStatements } from '../../src/influxql/influxql-splitter.ts';
import { startInfluxd } from '../helpers/servers.ts';

interface Series {
  name?: string;
  columns: string[];
  values?: unknown[][];
}
interface QueryAnswer {
  error?: string;
  results?: Array<{ statement_id: number; error?: string; series?: Series[] }>;
}

async function query(url: string, q: string): Promise<{ status: number; body: QueryAnswer }> {
  const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  return { status: res.status, body: (await res.json()) as QueryAnswer };
}

/** Run statements in one request; every one must succeed. */
async function run(url: string, statements: string[]): Promise<void> {
  const answer = await query(url, statements.join(';\n'));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const results = answer.body.results ?? [];
  assert.equal(results.length, statements.length, JSON.stringify(answer.body));
  for (const [index, result] of results.entries()) assert.equal(result.error, undefined, `${statements[index]}: ${result.error}`);
}

async function rows(url: string, q: string): Promise<unknown[][]> {
  const answer = await query(url, q);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const result = answer.body.results?.[0];
  assert.equal(result?.error, undefined, `${q}: ${result?.error}`);
  return result?.series?.flatMap((series) => series.values ?? []) ?? [];
}

function ddl(statement: string): MetadataOperation {
  const result = classifyStatement(statement);
  assert.equal(result.kind, 'ddl', `${statement} => ${JSON.stringify(result)}`);
  return (result as { operation: MetadataOperation }).operation;
}

// influxd refuses `\`, `/` and unprintable characters in database and retention policy names ("invalid name").
const DATABASES = ['my db', 'select', `it's "quoted"`, 'ünïcødé 😀', 'a;b -- not a comment', 'Default'];
const POLICIES: Array<{ name: string; duration: number; shard: number }> = [
  { name: 'three days', duration: 3 * 86_400, shard: 3_600 },
  { name: 'default', duration: 5_400, shard: 3_600 },
  { name: `o'rp "x"`, duration: 0, shard: 7 * 86_400 },
  { name: 'long 😀', duration: 100 * 86_400, shard: 86_400 },
];
const USERS = ['back\\slash', `o'brien "the" 😀`, 'select', 'semi;colon /* x */'];

test('awkward names and durations survive a round trip through influxd', async (t) => {
  const influx = await startInfluxd();
  t.after(() => influx.destroy());
  const url = influx.url;

  const creates = DATABASES.map((name) => `CREATE DATABASE ${quoteIdentifier(name)}`);
  for (const [index, name] of DATABASES.entries()) assert.deepEqual(ddl(creates[index]!), { op: 'createDatabase', name });
  await run(url, creates);
  const shownDatabases = (await rows(url, 'SHOW DATABASES')).map((row) => row[0]);
  for (const name of DATABASES) assert.ok(shownDatabases.includes(name), `${name} in ${JSON.stringify(shownDatabases)}`);

  const database = DATABASES[3]!;
  const policyStatements = POLICIES.map(({ name, duration, shard }) =>
    `CREATE RETENTION POLICY ${quoteIdentifier(name)} ON ${quoteIdentifier(database)} DURATION ${formatDuration(duration)} REPLICATION 1 SHARD DURATION ${formatDuration(shard)}`);
  for (const [index, { name, duration, shard }] of POLICIES.entries()) {
    assert.deepEqual(ddl(policyStatements[index]!), {
      op: 'createRetentionPolicy', database, name, duration, replicaN: 1, shardGroupDuration: shard, makeDefault: false,
    });
  }
  await run(url, policyStatements);
  const alter = `ALTER RETENTION POLICY ${quoteIdentifier(POLICIES[0]!.name)} ON ${quoteIdentifier(database)} DURATION ${formatDuration(4 * 86_400)} DEFAULT`;
  assert.deepEqual(ddl(alter), { op: 'alterRetentionPolicy', database, name: POLICIES[0]!.name, duration: 4 * 86_400, makeDefault: true });
  await run(url, [alter]);

  const shownPolicies = await rows(url, `SHOW RETENTION POLICIES ON ${quoteIdentifier(database)}`);
  const byName = new Map(shownPolicies.map((row) => [row[0], row]));
  for (const { name, duration, shard } of POLICIES) {
    const row = byName.get(name);
    assert.ok(row, `${name} in ${JSON.stringify(shownPolicies)}`);
    const expectedDuration = name === POLICIES[0]!.name ? 4 * 86_400 : duration;
    assert.equal(parseGoDuration(String(row[1])), expectedDuration, `duration of ${name}: ${String(row[1])}`);
    assert.equal(parseGoDuration(String(row[2])), shard, `shard duration of ${name}: ${String(row[2])}`);
    assert.equal(row[4], name === POLICIES[0]!.name);
  }

  const userStatements = USERS.flatMap((name, index) => [
    `CREATE USER ${quoteIdentifier(name)} WITH PASSWORD ${quoteString(`p'a\\ss;"${index}\n`)}${index === 0 ? ' WITH ALL PRIVILEGES' : ''}`,
    `GRANT WRITE ON ${quoteIdentifier(DATABASES[index]!)} TO ${quoteIdentifier(name)}`,
  ]);
  assert.deepEqual(ddl(userStatements[0]!), { op: 'createUser', name: USERS[0], password: `p'a\\ss;"0\n`, admin: true });
  await run(url, userStatements);
  const shownUsers = new Map((await rows(url, 'SHOW USERS')).map((row) => [row[0], row[1]]));
  for (const [index, name] of USERS.entries()) {
    assert.equal(shownUsers.get(name), index === 0, `${name} in ${JSON.stringify([...shownUsers])}`);
    assert.deepEqual(await rows(url, `SHOW GRANTS FOR ${quoteIdentifier(name)}`), [[DATABASES[index], 'WRITE']]);
  }

  const cqName = 'cq \\ "1" 😀';
  const cq = `CREATE CONTINUOUS QUERY ${quoteIdentifier(cqName)} ON ${quoteIdentifier(database)} BEGIN SELECT mean(${quoteIdentifier('v a l')}) INTO ${quoteIdentifier(database)}.${quoteIdentifier(POLICIES[3]!.name)}.${quoteIdentifier('m ;2')} FROM ${quoteIdentifier('m /1')} GROUP BY time(1h) END`;
  assert.deepEqual(ddl(cq), { op: 'createContinuousQuery', database, name: cqName, query: cq });
  await run(url, [cq]);
  const shownCqs = await rows(url, 'SHOW CONTINUOUS QUERIES');
  assert.ok(shownCqs.some((row) => row[0] === cqName), JSON.stringify(shownCqs));

  // All of it again as one request: influxd and locateStatements see the same statements.
  const everything = [...creates, ...policyStatements.map((s) => s.replace('CREATE', 'ALTER').replace(' REPLICATION 1', '')), alter, cq].join(' ; -- ; \n');
  const located = locateStatements(everything);
  const answer = await query(url, everything);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.results?.length, located.length);
  assert.ok(located.every((statement) => classifyStatement(statement).kind === 'ddl'));
});
