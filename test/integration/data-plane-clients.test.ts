import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { InfluxDB } from 'influx';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const run = promisify(execFile);

describe('unchanged clients against the proxy (3 nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  let reference: InfluxdServer;
  before(async () => {
    [cluster, reference] = await Promise.all([startClusterFixture({ size: 3, etcd: false }), startInfluxd()]);
  });
  after(async () => {
    await cluster?.stop();
    await reference?.destroy();
  });

  test('the influx CLI: -import of a line-protocol file (DDL and DML sections) and -execute', async () => {
    const file = join(tmpdir(), `cflux-import-${process.pid}.txt`);
    const lines = Array.from({ length: 300 }, (_, i) => `imported_${i % 7},host=h${i % 3} value=${i} ${1_700_000_000 + i}`);
    writeFileSync(file, ['# DDL', 'CREATE DATABASE imported', '# DML', '# CONTEXT-DATABASE: imported', ...lines, ''].join('\n'));
    const { port } = new URL(cluster.agents[1]!.proxyUrl);
    const imported = await run('influx', ['-host', '127.0.0.1', '-port', port, '-import', '-path', file, '-precision', 's'], { timeout: 30_000 });
    assert.match(imported.stdout + imported.stderr, /Processed 300 inserts\n.*Failed 0 inserts/);
    const executed = await run('influx', ['-host', '127.0.0.1', '-port', port, '-database', 'imported', '-format', 'json', '-execute', 'SELECT count(value) FROM /imported_.*/'], { timeout: 20_000 });
    // The CLI asks for chunked answers and lists each chunk as a result: with one influxd too, each series comes alone.
    const series = JSON.parse(executed.stdout).results.flatMap((result: { series: unknown[] }) => result.series);
    assert.equal(series.length, 7);
    assert.equal(series.reduce((sum: number, s: any) => sum + s.values[0][1], 0), 300);
  });

  test('the npm influx client library: createDatabase, writePoints, query', async () => {
    const { hostname, port } = new URL(cluster.agents[2]!.proxyUrl);
    const client = new InfluxDB({ host: hostname, port: Number(port), database: 'library' });
    await client.createDatabase('library');
    await client.writePoints(
      Array.from({ length: 50 }, (_, i) => ({ measurement: `lib_${i % 5}`, tags: { host: `h${i % 2}` }, fields: { value: i }, timestamp: new Date(1_700_000_000_000 + i * 1000) })),
    );
    const rows = await client.query<{ count: number }>('SELECT count(value) FROM lib_0, lib_1, lib_2, lib_3, lib_4');
    assert.equal(rows.length, 5);
    assert.equal(rows.reduce((sum, row) => sum + row.count, 0), 50);
    assert.deepEqual((await client.getMeasurements()).sort(), ['lib_0', 'lib_1', 'lib_2', 'lib_3', 'lib_4']);
    assert.ok((await client.getDatabaseNames()).includes('library'));
  });

  test('a CQ downsampling into a second RP gives what one influxd computes', async () => {
    const setup = [
      'CREATE DATABASE cq_lab',
      'CREATE RETENTION POLICY long ON cq_lab DURATION 52w REPLICATION 2',
      'CREATE CONTINUOUS QUERY down ON cq_lab RESAMPLE EVERY 1s FOR 2m BEGIN SELECT mean(value) AS mean_value, count(value) AS n INTO cq_lab.long.cpu_10s FROM cq_lab.autogen.cpu GROUP BY time(10s), host END',
    ].join('; ');
    for (const url of [cluster.agents[0]!.proxyUrl, reference.url]) assert.equal(JSON.stringify(await influxQuery(url, setup)).includes('error'), false);
    const now = Math.floor(Date.now() / 1000);
    const body = Array.from({ length: 240 }, (_, i) => `cpu,host=h${i % 3} value=${i % 17} ${now - 60 + Math.floor(i / 4)}`).join('\n');
    for (const url of [cluster.agents[0]!.proxyUrl, reference.url]) {
      const response = await fetch(`${url}/write?db=cq_lab&precision=s`, { method: 'POST', body });
      assert.equal(response.status, 204);
    }
    const q = `SELECT * FROM cq_lab.long.cpu_10s WHERE time < ${(now - 20) * 1e9} GROUP BY host`;
    let viaProxy = '';
    let expected = '';
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      [viaProxy, expected] = await Promise.all([influxQuery(cluster.agents[1]!.proxyUrl, q).then(JSON.stringify), influxQuery(reference.url, q).then(JSON.stringify)]);
      if (viaProxy === expected && expected.includes('mean_value')) break;
    }
    assert.ok(expected.includes('mean_value'), `the reference CQ ran: ${expected}`);
    assert.equal(viaProxy, expected);
  });
});
