// Conformance: a broad set of InfluxQL statements and HTTP requests, sent to
// a 3-node RF 2 cluster (through a proxy that holds only some of the data)
// and to one stock influxd holding the same data; the answers must be the
// same (status, influxd's headers, body). Differences the cluster has by
// design are listed in docs/data-plane.md, and not asked here.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { assertSameAnswer, queryRequest, type ConformanceRequest } from '../helpers/conformance.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const BASE = 1_700_000_000;
const WEEK = 7 * 86_400;

/** Telegraf-shaped points: five measurements, several series each, every field type, two shard groups. */
function dataset(): string {
  const lines: string[] = [];
  for (let i = 0; i < 360; i++) {
    const t = BASE + i * 10;
    for (const host of ['a', 'b', 'c']) {
      const region = host === 'c' ? 'us' : 'eu';
      lines.push(`cpu,host=${host},region=${region} usage=${((i * 7 + host.charCodeAt(0)) % 100) / 4},idle=${(i * 3) % 50}i,state="${i % 3 === 0 ? 'busy' : 'ok'}",up=${i % 5 !== 0} ${t}`);
      if (i % 2 === 0) lines.push(`mem,host=${host} used=${1000 + ((i * 13) % 500)}i,free=${(i % 17) * 1.5} ${t}`);
    }
    if (i % 3 === 0) lines.push(`disk,host=a,path=/var used=${(i % 90) + 0.25} ${t}`, `disk,host=b,path=/ used=${(i % 70) + 0.5} ${t}`);
    lines.push(`net,iface=eth0 rx=${i * 100}i,tx=${i * 50}i ${t}`);
    if (i % 6 === 0) lines.push(`temp,sensor=s${i % 4} c=${20 + (i % 10) / 2} ${t}`);
  }
  for (let i = 0; i < 20; i++) lines.push(`cpu,host=a,region=eu usage=${i},idle=${i}i,state="old",up=true ${BASE - WEEK - i * 60}`);
  return lines.join('\n');
}

const WINDOW = `time >= ${BASE}s AND time < ${BASE + 3600}s`;
const STATEMENTS: Array<[string, string, { unordered?: boolean }?]> = [
  ['raw select', 'SELECT * FROM cpu WHERE host = \'a\' LIMIT 5'],
  ['raw select, two shard groups', `SELECT usage FROM cpu WHERE time < ${BASE + 60}s AND host = 'a'`],
  ['several measurements', 'SELECT * FROM cpu, mem, disk LIMIT 3'],
  ['regex source', 'SELECT * FROM /^(cpu|net|temp)$/ LIMIT 2'],
  ['regex source, aggregate', `SELECT count(*) FROM /.*/ WHERE ${WINDOW}`],
  ['selectors', `SELECT first(usage), last(usage), max(usage), min(usage) FROM cpu WHERE ${WINDOW}`],
  ['top and bottom', `SELECT top(usage, 3), bottom(usage, host, 2) FROM cpu WHERE ${WINDOW}`],
  ['percentile, median, mode, spread, stddev', `SELECT percentile(usage, 90), median(usage), mode(idle), spread(usage), stddev(usage) FROM cpu WHERE ${WINDOW}`],
  ['aggregates by time and tag', `SELECT mean(usage), sum(idle), count(state) FROM cpu WHERE ${WINDOW} GROUP BY time(10m), host`],
  ['group by *', `SELECT mean(used) FROM mem WHERE ${WINDOW} GROUP BY *`],
  ['distinct and integral', `SELECT distinct(state) FROM cpu WHERE ${WINDOW}`],
  ['math', `SELECT usage * 2 + 1, abs(usage - 20), idle / 3 FROM cpu WHERE host = 'b' AND ${WINDOW} LIMIT 4`],
  ['fill none/null/previous/linear/0', `SELECT mean(c) FROM temp WHERE ${WINDOW} GROUP BY time(5m) fill(linear)`],
  ['fill previous', `SELECT mean(c) FROM temp WHERE ${WINDOW} GROUP BY time(5m) fill(previous)`],
  ['fill 0', `SELECT max(c) FROM temp WHERE ${WINDOW} GROUP BY time(5m) fill(0)`],
  ['fill none', `SELECT max(c) FROM temp WHERE ${WINDOW} GROUP BY time(5m) fill(none)`],
  ['derivative family', `SELECT derivative(rx, 1s), non_negative_derivative(tx, 1m), difference(rx) FROM net WHERE ${WINDOW} LIMIT 5`],
  ['moving average, cumulative sum', `SELECT moving_average(rx, 3), cumulative_sum(tx) FROM net WHERE ${WINDOW} LIMIT 5`],
  ['subquery', `SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE ${WINDOW} GROUP BY time(10m), host) GROUP BY host`],
  ['LIMIT/OFFSET', 'SELECT usage FROM cpu WHERE host = \'c\' LIMIT 3 OFFSET 10'],
  ['SLIMIT/SOFFSET', `SELECT mean(usage) FROM cpu WHERE ${WINDOW} GROUP BY host SLIMIT 2 SOFFSET 1`],
  ['ORDER BY time DESC', 'SELECT used FROM disk WHERE host = \'a\' ORDER BY time DESC LIMIT 3'],
  ['regex tag condition', `SELECT count(usage) FROM cpu WHERE host =~ /^[ab]$/ AND ${WINDOW} GROUP BY host`],
  ['time zone', `SELECT mean(usage) FROM cpu WHERE ${WINDOW} GROUP BY time(30m) tz('Europe/Paris')`],
  ['group by time offset', `SELECT count(usage) FROM cpu WHERE ${WINDOW} GROUP BY time(20m, 5m)`],
  ['boolean and string fields', 'SELECT up, state FROM cpu WHERE host = \'a\' AND up = false LIMIT 3'],
  ['no such measurement', 'SELECT * FROM nothing'],
  ['no such field', 'SELECT nothing FROM cpu'],
  ['two statements', 'SELECT count(usage) FROM cpu; SELECT count(used) FROM mem'],
  ['a statement error stops the request', 'SELECT count(usage) FROM cpu; SELECT usage FROM cpu GROUP BY time(1m); SELECT 1'],
  ['SHOW MEASUREMENTS', 'SHOW MEASUREMENTS'],
  ['SHOW MEASUREMENTS LIMIT OFFSET', 'SHOW MEASUREMENTS LIMIT 2 OFFSET 1'],
  ['SHOW MEASUREMENTS WITH regex', 'SHOW MEASUREMENTS WITH MEASUREMENT =~ /^(c|m)/'],
  ['SHOW MEASUREMENTS WHERE', 'SHOW MEASUREMENTS WHERE host = \'a\''],
  ['SHOW TAG KEYS', 'SHOW TAG KEYS'],
  ['SHOW TAG KEYS FROM', 'SHOW TAG KEYS FROM cpu'],
  ['SHOW TAG VALUES', 'SHOW TAG VALUES WITH KEY = "host"'],
  ['SHOW TAG VALUES FROM regex', 'SHOW TAG VALUES FROM /^(cpu|disk)$/ WITH KEY IN ("host", "path")'],
  ['SHOW FIELD KEYS', 'SHOW FIELD KEYS'],
  ['SHOW FIELD KEYS FROM', 'SHOW FIELD KEYS FROM mem'],
  ['SHOW SERIES', 'SHOW SERIES'],
  ['SHOW SERIES WHERE LIMIT', 'SHOW SERIES WHERE host = \'b\' LIMIT 2'],
  ['SHOW SERIES EXACT CARDINALITY', 'SHOW SERIES EXACT CARDINALITY'],
  ['SHOW SERIES CARDINALITY WHERE', 'SHOW SERIES CARDINALITY WHERE host = \'a\''],
  ['SHOW SERIES EXACT CARDINALITY FROM GROUP BY', 'SHOW SERIES EXACT CARDINALITY FROM /^(cpu|mem)$/ GROUP BY host'],
  ['SHOW MEASUREMENT CARDINALITY', 'SHOW MEASUREMENT CARDINALITY'],
  ['SHOW MEASUREMENT EXACT CARDINALITY ON', 'SHOW MEASUREMENT EXACT CARDINALITY ON conf'],
  ['SHOW MEASUREMENT CARDINALITY WHERE', 'SHOW MEASUREMENT CARDINALITY WHERE host = \'a\''],
  ['SHOW MEASUREMENT CARDINALITY GROUP BY', 'SHOW MEASUREMENT CARDINALITY GROUP BY host'],
  ['SHOW TAG VALUES CARDINALITY', 'SHOW TAG VALUES CARDINALITY WITH KEY = "host"'],
  ['SHOW TAG VALUES EXACT CARDINALITY FROM', 'SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY IN ("host", "region")'],
  ['SHOW TAG KEY CARDINALITY', 'SHOW TAG KEY CARDINALITY'],
  ['SHOW FIELD KEY CARDINALITY', 'SHOW FIELD KEY EXACT CARDINALITY'],
  ['SHOW FIELD KEY CARDINALITY FROM', 'SHOW FIELD KEY CARDINALITY FROM /^(net|temp)$/'],
  ['SHOW DATABASES', 'SHOW DATABASES'],
  ['parse error at the end', 'SELECT * FROM'],
  ['parse error in the field list', 'SELECT FROM WHERE'],
  ['unterminated identifier', 'SELECT * FROM "cpu'],
  ['empty statement then a bad one', 'SELECT * FROM cpu LIMIT 1; ;SELECT'],
];

/** DDL, valid and not: influxd's checks and texts, before anything reaches the cluster document. */
const DDL: string[] = [
  'CREATE DATABASE "."',
  'CREATE DATABASE ddl1 WITH NAME "."',
  'CREATE DATABASE "a/b"',
  'CREATE DATABASE ddl1 WITH DURATION 30m',
  'CREATE DATABASE ddl1 WITH DURATION 2h SHARD DURATION 3h NAME short',
  'CREATE DATABASE ddl1 WITH DURATION 2d REPLICATION 0',
  'CREATE DATABASE ddl1 WITH DURATION 2d SHARD DURATION 1d NAME two',
  'CREATE DATABASE ddl1',
  'CREATE RETENTION POLICY two ON ddl1 DURATION 3d REPLICATION 1',
  'CREATE RETENTION POLICY "" ON ddl1 DURATION 3d REPLICATION 1',
  'CREATE RETENTION POLICY rp ON nodb DURATION 3d REPLICATION 1',
  'ALTER RETENTION POLICY two ON ddl1 DURATION 1h',
  'ALTER RETENTION POLICY nope ON ddl1 DURATION 3d',
  'ALTER RETENTION POLICY two ON ddl1 SHARD DURATION 2h DEFAULT',
  'DROP RETENTION POLICY nope ON ddl1',
  'CREATE USER "" WITH PASSWORD \'x\'',
  'CREATE USER ddluser WITH PASSWORD \'secret\'',
  'CREATE USER ddluser WITH PASSWORD \'other\'',
  'GRANT READ ON nodb TO ddluser',
  'GRANT WRITE ON ddl1 TO ddluser',
  'GRANT ALL ON ddl1 TO nobody',
  'REVOKE ALL ON ddl1 FROM ddluser',
  'SET PASSWORD FOR nobody = \'x\'',
  'DROP USER nobody',
  'CREATE CONTINUOUS QUERY cq1 ON ddl1 BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END',
  'CREATE CONTINUOUS QUERY cq1 ON ddl1 BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END',
  'CREATE CONTINUOUS QUERY cq2 ON ddl1 BEGIN SELECT v INTO m_raw FROM m END',
  'CREATE CONTINUOUS QUERY cq3 ON nodb BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1h) END',
  'DROP CONTINUOUS QUERY nope ON ddl1',
  'DROP DATABASE nodb',
  'SHOW CONTINUOUS QUERIES',
  'SHOW GRANTS FOR ddluser',
  'SHOW USERS',
  'DROP DATABASE ddl1',
];

const WRITES: ConformanceRequest[] = [
  { name: 'write: unknown retention policy', method: 'POST', path: '/write?db=conf&rp=nope', body: 'cpu usage=1' },
  { name: 'write: unknown database', method: 'POST', path: '/write?db=nope', body: 'cpu usage=1' },
  { name: 'write: no database', method: 'POST', path: '/write', body: 'cpu usage=1' },
  { name: 'write: every line bad', method: 'POST', path: '/write?db=conf', body: 'cpu usage=\nmem used=' },
  { name: 'write: some lines bad, over several owners', method: 'POST', path: '/write?db=conf&precision=s', body: `cpu,host=z usage=1 ${BASE}\nmem used= ${BASE}\ndisk used=\nnet rx=1i ${BASE}\ntemp c="x" ${BASE}` },
  { name: 'write: a type conflict and a parse error', method: 'POST', path: '/write?db=conf&precision=s', body: `cpu,host=z usage="text" ${BASE}\nmem used=` },
  { name: 'write: gzip that is not gzip', method: 'POST', path: '/write?db=conf', body: 'this is not gzip at all', headers: { 'content-encoding': 'gzip' } },
  { name: 'write: truncated gzip', method: 'POST', path: '/write?db=conf', body: gzipSync(Buffer.from('cpu usage=1\n'.repeat(50))).subarray(0, 30), headers: { 'content-encoding': 'gzip' } },
  { name: 'write: split over owners, stored', method: 'POST', path: '/write?db=conf&precision=s', body: `cpu,host=y usage=1 ${BASE}\nmem,host=y used=1i ${BASE}\nnet,iface=y rx=1i ${BASE}` },
  { name: 'write: a NUL byte in a bad line', method: 'POST', path: '/write?db=conf&precision=s', body: `cpu,host=n usage=1 ${BASE}\nmem,host=n used=\u0000 ${BASE}\nnet,iface=n rx=2i ${BASE}` },
  { name: 'write: non-ASCII text in a bad line (the error header carries its UTF-8 bytes)', method: 'POST', path: '/write?db=conf&precision=s', body: `cpu,host=ü usage=1 ${BASE}\nmém,host=ü used=é ${BASE}\nnet,iface=日本 rx=3i ${BASE}` },
  { name: 'write: bad precision', method: 'POST', path: '/write?db=conf&precision=xs', body: 'cpu usage=1' },
];

describe('conformance with one influxd (3 nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  let reference: InfluxdServer;
  let proxy: string;
  const clusterNodes = () => cluster.influxds.map((influxd) => influxd.url);

  before(async () => {
    [cluster, reference] = await Promise.all([startClusterFixture({ size: 3, etcd: false }), startInfluxd()]);
    proxy = cluster.agents[1]!.proxyUrl;
    const setup = 'CREATE DATABASE conf; CREATE RETENTION POLICY long ON conf DURATION INF REPLICATION 2 SHARD DURATION 2w';
    const body = dataset();
    for (const base of [proxy, reference.url]) {
      await fetch(`${base}/query?${new URLSearchParams({ q: setup })}`, { method: 'POST' });
      // consistency=all: every replica holds the data before the first read (one would answer after the first owner).
      const written = await fetch(`${base}/write?db=conf&precision=s&consistency=all`, { method: 'POST', body });
      if (written.status !== 204) throw new Error(`setup write: ${written.status} ${await written.text()}`);
      await fetch(`${base}/write?db=conf&rp=long&precision=s&consistency=all`, { method: 'POST', body: `cpu,host=a,region=eu usage=5,idle=5i,state="long",up=true ${BASE}` });
    }
  });
  after(async () => {
    await cluster?.stop();
    await reference?.destroy();
  });

  for (const [name, statement, options] of STATEMENTS) {
    test(`query: ${name}`, async () => {
      await assertSameAnswer(proxy, reference.url, queryRequest(name, statement, { ...(options?.unordered ? { unordered: true } : {}) }));
    });
  }

  test('query: chunked answers of statements merged from several nodes', async () => {
    await assertSameAnswer(proxy, reference.url, queryRequest('chunked', `SELECT usage FROM cpu, mem, net WHERE ${WINDOW} LIMIT 7`, { params: '&chunked=true&chunk_size=3' }));
    await assertSameAnswer(proxy, reference.url, queryRequest('chunked, several statements', 'SELECT count(usage) FROM cpu; SELECT * FROM net LIMIT 4', { params: '&chunked=true&chunk_size=2' }));
    await assertSameAnswer(proxy, reference.url, queryRequest('chunked, grouped series', `SELECT usage FROM cpu, mem WHERE ${WINDOW} GROUP BY host LIMIT 3`, { params: '&chunked=true&chunk_size=2' }));
    await assertSameAnswer(proxy, reference.url, queryRequest('chunked SHOW', 'SHOW TAG KEYS; SHOW SERIES', { params: '&chunked=true&chunk_size=2' }));
  });

  test('query: MessagePack answers (Accept: application/x-msgpack), merged, relayed and chunked, keep float and time types', async () => {
    const msgpack = { accept: 'application/x-msgpack' };
    const cases: Array<[string, string, string]> = [
      ['merged from several nodes', 'SELECT * FROM cpu, mem, disk, net, temp LIMIT 3', ''],
      ['whole floats stay floats', `SELECT usage FROM cpu WHERE usage = 25 AND ${WINDOW}`, ''],
      ['aggregates', `SELECT mean(usage), count(idle), max(used) FROM cpu, mem WHERE ${WINDOW} GROUP BY time(20m)`, ''],
      ['epoch', 'SELECT * FROM net, temp LIMIT 2', '&epoch=ms'],
      ['SHOW merged', 'SHOW TAG VALUES WITH KEY = "host"', ''],
      ['cardinality', 'SHOW SERIES EXACT CARDINALITY', ''],
      ['chunked', `SELECT usage FROM cpu, mem WHERE ${WINDOW} LIMIT 5`, '&chunked=true&chunk_size=2'],
      ['a statement error', 'SELECT count(usage) FROM cpu; SELECT usage FROM cpu GROUP BY time(1m)', ''],
      ['a parse error', 'SELECT * FROM', ''],
    ];
    for (const [name, q, params] of cases) {
      await assertSameAnswer(proxy, reference.url, { ...queryRequest(name, q, { params }), headers: msgpack });
    }
  });

  test('query: epoch, pretty and POST form bodies', async () => {
    await assertSameAnswer(proxy, reference.url, queryRequest('epoch=s', 'SELECT * FROM cpu, net LIMIT 2', { params: '&epoch=s' }));
    await assertSameAnswer(proxy, reference.url, queryRequest('pretty', 'SELECT * FROM temp, disk LIMIT 2', { params: '&pretty=true' }));
    await assertSameAnswer(proxy, reference.url, { name: 'form body', method: 'POST', path: '/query?db=conf', body: new URLSearchParams({ q: 'SELECT count(*) FROM cpu, mem' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  });

  test('write: points without a timestamp get one server time per request, the same on every replica and measurement', async () => {
    const body = ['stamp_a,host=x v=1', 'stamp_b,host=x v=2', 'stamp_c,host=x v=3', 'stamp_d v=4i', 'stamp_e w="five"'].join('\n');
    // consistency=all: every replica has stored it when the answer comes (then reads of any replica see it).
    for (const base of [proxy, reference.url]) assert.equal((await fetch(`${base}/write?db=conf&precision=ms&consistency=all`, { method: 'POST', body })).status, 204);
    // Times read as text: nanosecond epochs do not fit a JSON number.
    const timesOf = async (url: string) => {
      const text = await (await fetch(`${url}/query?db=conf&epoch=ns&q=${encodeURIComponent('SELECT * FROM /^stamp_/')}`)).text();
      return new Map([...text.matchAll(/"name":"(stamp_\w)","columns":\[[^\]]*\],"values":\[\[(\d+)/g)].map((match) => [match[1]!, [BigInt(match[2]!)]]));
    };
    const [cluster, expected] = [await timesOf(proxy), await timesOf(reference.url)];
    // One time for the whole request, in the request's precision (ms), as influxd stamps it.
    for (const times of [cluster, expected]) {
      assert.equal(times.size, 5);
      const all = [...times.values()].flat();
      assert.equal(new Set(all).size, 1, [...times].map(([name, values]) => `${name}=${values.join(",")}`).join(" "));
      assert.equal((all[0] as bigint) % 1_000_000n, 0n);
    }
    // Every replica holds the same time as the proxy answered.
    const stamp = [...cluster.values()][0]![0];
    for (const node of clusterNodes()) {
      for (const [, values] of await timesOf(node)) assert.deepEqual(values, [stamp]);
    }
  });

  // By design (docs/data-plane.md): influxd estimates, the cluster adds up exact per-measurement figures.
  test('query: SHOW SERIES CARDINALITY is the exact sum where influxd estimates', async () => {
    const exact = await (await fetch(`${reference.url}/query?db=conf&q=${encodeURIComponent('SHOW SERIES EXACT CARDINALITY')}`)).json() as { results: Array<{ series: Array<{ values: number[][] }> }> };
    const sum = exact.results[0]!.series.reduce((total, series) => total + series.values[0]![0]!, 0);
    const answer = await (await fetch(`${proxy}/query?db=conf&q=${encodeURIComponent('SHOW SERIES CARDINALITY')}`)).json();
    assert.deepEqual(answer, { results: [{ statement_id: 0, series: [{ columns: ['cardinality estimation'], values: [[sum]] }] }] });
  });

  test('DDL, valid and not, answered as influxd answers it', async () => {
    for (const statement of DDL) {
      // Not SHOW RETENTION POLICIES: a policy created without REPLICATION shows the cluster's replication factor (by design).
      await assertSameAnswer(proxy, reference.url, queryRequest(statement, statement, { method: 'POST', db: '' }));
    }
  });

  for (const request of WRITES) {
    test(request.name, async () => {
      await assertSameAnswer(proxy, reference.url, request);
    });
  }

  test('DELETE and DROP SERIES, then the same reads', async () => {
    for (const statement of [`DELETE FROM cpu WHERE host = 'c' AND time < ${BASE + 600}s`, `DROP SERIES FROM mem WHERE host = 'b'`, 'DROP MEASUREMENT temp']) {
      await assertSameAnswer(proxy, reference.url, queryRequest(statement, statement, { method: 'POST' }));
    }
    for (const statement of ['SELECT count(*) FROM cpu GROUP BY host', 'SHOW SERIES', 'SHOW MEASUREMENTS', 'SHOW SERIES EXACT CARDINALITY']) {
      await assertSameAnswer(proxy, reference.url, queryRequest(statement, statement));
    }
  });
});
