// Two real influxd each hold some of the measurements m1..m6 (m3 on both with
// the same points, m5 on both with different series); a third one holds all
// of them. The answers of the two, merged, must equal the third's answer
// exactly: SHOWs asked from both nodes without LIMIT/OFFSET, SELECTs with
// their FROM list rewritten per node to the measurements it holds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  concatSeriesResults, mergeShowResults, selectOrdersDescending, showLimitOffset,
} from '../../src/agent/proxy/result-merge.ts';
import type { MergeableShowKind } from '../../src/agent/proxy/result-merge.ts';
import type { StatementResult } from '../../src/influxql/query-result.ts';
import { quoteIdentifier } from '../../src/influxql/influxql-quoting.ts';
import { statementSources } from '../../src/influxql/influxql-sources.ts';
import { startInfluxd } from '../helpers/servers.ts';
import type { InfluxdServer } from '../helpers/servers.ts';

const DATABASE = 'metrics';
const WEEK_NS = 7n * 86_400n * 1_000_000_000n;

const NODE_A_POINTS = [
  'm1,host=a,dc=x value=1.5,label="first" 1000000000',
  'm1,host=b value=2.5 2000000000',
  `m1,host=a,dc=x value=3.5 ${3n * WEEK_NS}`,
  'm3,region=eu value=7 1000000000',
  'm3,region=us value=8 2000000000',
  'm5,host=a value=1,only_a=1i 1000000000',
  'm6 value=6 1000000000',
];
const NODE_B_POINTS = [
  'm2,host=c value=2,extra=5i 1000000000',
  'm2,host=a\\ b value=3 2000000000',
  'm3,region=eu value=7 1000000000',
  'm3,region=us value=8 2000000000',
  'm4,host=a,rack=r1 value=4i 1000000000',
  `m4,host=d value=5i ${3n * WEEK_NS}`,
  'm5,host=b value=2 1000000000',
];

/** Which node answers SELECTs for each measurement (m3 is on both: node A; m5 is split, so not SELECTed). */
const SELECT_FROM: Record<string, 'a' | 'b'> = { m1: 'a', m2: 'b', m3: 'a', m4: 'b', m6: 'a' };

let nodeA: InfluxdServer;
let nodeB: InfluxdServer;
let reference: InfluxdServer;

async function query(server: InfluxdServer, statement: string): Promise<StatementResult> {
  const res = await fetch(`${server.url}/query?db=${DATABASE}`, { method: 'POST', body: new URLSearchParams({ q: statement }) });
  const body = (await res.json()) as { results?: StatementResult[]; error?: string };
  assert.equal(res.status, 200, `${statement}: ${JSON.stringify(body)}`);
  const [result] = body.results ?? [];
  assert.ok(result !== undefined, `${statement}: ${JSON.stringify(body)}`);
  return result;
}

async function write(server: InfluxdServer, points: string[]): Promise<void> {
  const res = await fetch(`${server.url}/write?db=${DATABASE}`, { method: 'POST', body: points.join('\n') });
  assert.equal(res.status, 204, await res.text());
}

before(async () => {
  [nodeA, nodeB, reference] = await Promise.all([startInfluxd(), startInfluxd(), startInfluxd()]);
  for (const server of [nodeA, nodeB, reference]) await query(server, `CREATE DATABASE ${DATABASE}`);
  await write(nodeA, NODE_A_POINTS);
  await write(nodeB, NODE_B_POINTS);
  await write(reference, [...NODE_A_POINTS, ...NODE_B_POINTS]);
});

after(async () => {
  await Promise.all([nodeA, nodeB, reference].map((server) => server?.destroy()));
});

const SHOWS: Array<[MergeableShowKind, string]> = [
  ['measurements', 'SHOW MEASUREMENTS'],
  ['measurements', 'SHOW MEASUREMENTS LIMIT 2 OFFSET 1'],
  ['measurements', 'SHOW MEASUREMENTS WITH MEASUREMENT =~ /m[2-5]/ LIMIT 2'],
  ['tag-keys', 'SHOW TAG KEYS'],
  ['tag-keys', 'SHOW TAG KEYS LIMIT 1 OFFSET 1'],
  ['tag-keys', 'SHOW TAG KEYS FROM /m[456]/'],
  ['tag-values', 'SHOW TAG VALUES WITH KEY = "host"'],
  ['tag-values', 'SHOW TAG VALUES WITH KEY =~ /.*/ LIMIT 1 OFFSET 1'],
  ['field-keys', 'SHOW FIELD KEYS'],
  ['field-keys', 'SHOW FIELD KEYS LIMIT 1 OFFSET 1'],
  ['series', 'SHOW SERIES'],
  ['series', 'SHOW SERIES LIMIT 3 OFFSET 2'],
  ['series', "SHOW SERIES FROM /m[1-3]/ WHERE host != 'zz'"],
];

for (const [kind, statement] of SHOWS) {
  test(`${statement}: the merged answer of two influxd is the reference answer`, async () => {
    const { stripped, ...page } = showLimitOffset(statement);
    const answers = await Promise.all([query(nodeA, stripped), query(nodeB, stripped)]);
    const expected = await query(reference, statement);
    assert.ok((expected.series?.length ?? 0) > 0, JSON.stringify(expected));
    assert.deepEqual(mergeShowResults(kind, answers, page), expected);
  });
}

/**
 * Ask each node for the measurements of the FROM list it holds (a regex
 * matched against the known measurements), the FROM list rewritten.
 */
async function splitSelect(statement: string): Promise<StatementResult> {
  const analysis = statementSources(statement, DATABASE);
  assert.ok(analysis.fromListSpan !== null);
  const perNode = new Map<'a' | 'b', string[]>();
  for (const span of analysis.sourceSpans) {
    const matcher = span.source?.measurement;
    assert.ok(matcher !== undefined, 'no subqueries here');
    const names = matcher.kind === 'name' ? [matcher.name] : Object.keys(SELECT_FROM).filter((name) => new RegExp(matcher.pattern).test(name));
    for (const name of names) {
      const node = SELECT_FROM[name];
      assert.ok(node !== undefined, name);
      perNode.set(node, [...(perNode.get(node) ?? []), name]);
    }
  }
  const { start, end } = analysis.fromListSpan;
  const answers = await Promise.all([...perNode].map(([node, names]) => {
    const rewritten = statement.slice(0, start) + names.map(quoteIdentifier).join(', ') + statement.slice(end);
    return query(node === 'a' ? nodeA : nodeB, rewritten);
  }));
  return concatSeriesResults(answers, { descending: selectOrdersDescending(statement) });
}

const SELECTS = [
  'SELECT count(value) FROM m1, m4',
  'SELECT * FROM /m[1-3]/',
  'SELECT count(value) FROM m4, m1 GROUP BY *',
  'SELECT * FROM /m[1-4]/ GROUP BY * ORDER BY time DESC',
  'SELECT count(*) FROM /m[1-4]|m6/ GROUP BY host',
  'SELECT mean(value) FROM m1, m2, m6 WHERE time >= 0 AND time < 10s GROUP BY time(1s), * fill(none)',
];

for (const statement of SELECTS) {
  test(`${statement}: split per measurement, concatenated, is the reference answer`, async () => {
    const expected = await query(reference, statement);
    assert.ok((expected.series?.length ?? 0) > 1, JSON.stringify(expected));
    assert.deepEqual(await splitSelect(statement), expected);
  });
}
