// The InfluxDB 1.8 compatibility write API through the proxy, used by the
// npm v2 client (@influxdata/influxdb-client) against an auth-enabled 3-node
// cluster: what it writes reads back exactly like the same points written to
// one influxd with /write, credentials go as `Token user:password`, and the
// v2 calls influxd 1.6 cannot serve get a clear JSON error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { influxQuery, startAuthClusterFixture, TEST_ADMIN, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const BASE_MS = 1_700_000_000_000;

describe('the v2 write API (/api/v2/write) through the proxy (3 nodes, RF 2, auth on)', () => {
  let cluster: ClusterFixture;
  let reference: InfluxdServer;
  let proxy: string;
  const admin = new URLSearchParams(TEST_ADMIN);

  before(async () => {
    [cluster, reference] = await Promise.all([startAuthClusterFixture(3), startInfluxd()]);
    proxy = cluster.agents[2]!.proxyUrl;
    for (const url of [`${proxy}/query?${admin}`, `${reference.url}/query?`]) {
      await fetch(`${url}&q=${encodeURIComponent('CREATE DATABASE v2db; CREATE RETENTION POLICY other ON v2db DURATION INF REPLICATION 2')}`, { method: 'POST' });
    }
  });
  after(async () => {
    await cluster?.stop();
    await reference?.destroy();
  });

  test('the npm v2 client writes with Token user:password; the points read back like one influxd', async () => {
    const client = new InfluxDB({ url: proxy, token: `${TEST_ADMIN.u}:${TEST_ADMIN.p}` });
    const writer = client.getWriteApi('', 'v2db/other', 'ms', { batchSize: 1000, maxRetries: 0 });
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const point = new Point(`v2_${i % 6}`).tag('host', `h${i % 3}`).floatField('value', i + 0.5).intField('count', i).stringField('state', `s${i}`).booleanField('up', i % 2 === 0).timestamp(new Date(BASE_MS + i * 1000));
      writer.writePoint(point);
      lines.push(point.toLineProtocol(writer)!);
    }
    await writer.close();
    const stored = await fetch(`${reference.url}/write?db=v2db&rp=other&precision=ms`, { method: 'POST', body: lines.join('\n') });
    assert.equal(stored.status, 204);
    for (const q of ['SELECT * FROM other./^v2_/ GROUP BY *', 'SHOW SERIES', 'SHOW FIELD KEYS']) {
      assert.deepEqual(await influxQuery(proxy, q, { db: 'v2db', ...TEST_ADMIN }), await influxQuery(reference.url, q, { db: 'v2db' }), q);
    }
  });

  test('a wrong password is refused as influxd refuses it, and nothing is stored', async () => {
    const answer = await fetch(`${proxy}/api/v2/write?bucket=v2db&precision=s`, { method: 'POST', headers: { authorization: `Token ${TEST_ADMIN.u}:wrong` }, body: 'refused value=1 1700000000' });
    assert.equal(answer.status, 401);
    assert.match(((await answer.json()) as { error: string }).error, /authorization failed/);
    const held = await influxQuery(proxy, 'SHOW MEASUREMENTS WITH MEASUREMENT = "refused"', { db: 'v2db', ...TEST_ADMIN });
    assert.equal(held.results[0].series, undefined);
  });

  test('POST /query with a form body and u/p in the URL: influxd reads the credentials from the URL, so does the proxy', async () => {
    const body = new URLSearchParams({ q: 'SELECT count(value) FROM other./^v2_/', db: 'v2db' }).toString();
    const answer = await fetch(`${proxy}/query?${admin}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(answer.status, 200, await answer.clone().text());
    assert.equal(((await answer.json()) as { results: Array<{ series: unknown[] }> }).results[0]!.series.length, 6);
    // Credentials in the form body are not credentials for influxd: nor for the proxy.
    const inBody = await fetch(`${proxy}/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${body}&${admin}` });
    assert.equal(inBody.status, 401);
  });

  test('bucket and precision errors are 1.8\'s; Flux and other v2 calls get a JSON error', async () => {
    const token = { authorization: `Token ${TEST_ADMIN.u}:${TEST_ADMIN.p}` };
    const cases: Array<[string, number, string]> = [
      ['/api/v2/write?bucket=&precision=s', 404, 'bucket name "" is missing a slash; not in "database/retention-policy" format'],
      ['/api/v2/write?bucket=/rp', 404, 'bucket name "/rp" is in db/rp form but has an empty database'],
      ['/api/v2/write?bucket=v2db&precision=n', 400, 'invalid precision "n" (use ns, us, ms or s)'],
      ['/api/v2/write?bucket=nope', 404, 'database not found: "nope"'],
    ];
    for (const [path, status, error] of cases) {
      const answer = await fetch(proxy + path, { method: 'POST', headers: token, body: 'x value=1' });
      assert.equal(answer.status, status, path);
      assert.deepEqual(await answer.json(), { error }, path);
      assert.equal(answer.headers.get('x-influxdb-error'), error);
    }
    const flux = await fetch(`${proxy}/api/v2/query`, { method: 'POST', headers: { ...token, 'content-type': 'application/vnd.flux' }, body: 'from(bucket: "v2db") |> range(start: -1h)' });
    assert.equal(flux.status, 403);
    assert.match(((await flux.json()) as { error: string }).error, /^Flux queries are not supported/);
    const other = await fetch(`${proxy}/api/v2/buckets`, { headers: token });
    assert.equal(other.status, 404);
    assert.match(((await other.json()) as { error: string }).error, /only \/api\/v2\/write/);
    const health = await fetch(`${proxy}/health`);
    assert.equal(((await health.json()) as { status: string }).status, 'pass');
  });
});
