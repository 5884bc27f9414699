import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, startAuthClusterFixture, TEST_ADMIN } from '../helpers/cluster-fixture.ts';

describe('peer writes on auth-enabled influxd (2 nodes, RF 2)', () => {
  test("the client's own credentials reach the other node's influxd: stored on both with them, refused on both without", async () => {
    const cluster = await startAuthClusterFixture(2);
    try {
      const proxy = cluster.agents[0]!.proxyUrl;
      const asAdmin = TEST_ADMIN;
      await influxQuery(proxy, "CREATE DATABASE shared WITH REPLICATION 2; CREATE USER writer WITH PASSWORD 'wr1ter-pw'; GRANT WRITE ON shared TO writer; CREATE USER reader WITH PASSWORD 'r3ader-pw'; GRANT READ ON shared TO reader", asAdmin);
      for (const influxd of cluster.influxds) {
        for (let waited = 0; waited < 5000; waited += 50) {
          if (JSON.stringify(await influxQuery(influxd.url, 'SHOW GRANTS FOR reader', asAdmin)).includes('shared')) break;
          await sleep(50);
        }
      }
      const write = (query: string, body: string) => fetch(`${proxy}/write?db=shared&precision=s&consistency=all${query}`, { method: 'POST', body });
      const lines = Array.from({ length: 2000 }, (_, i) => `peered,host=h${i % 4} value=${i} ${1_700_000_000 + i}`).join('\n');
      assert.equal((await write('&u=writer&p=wr1ter-pw', lines)).status, 204);
      for (const influxd of cluster.influxds) {
        const stored = await influxQuery(influxd.url, 'SELECT count(value) FROM peered', { db: 'shared', ...asAdmin });
        assert.equal(stored.results[0].series[0].values[0][1], 2000, `all points on ${influxd.url}`);
      }
      const readOnly = await write('&u=reader&p=r3ader-pw', 'peered value=1 1800000000');
      assert.equal(readOnly.status, 403, await readOnly.text());
      const anonymous = await write('', 'peered value=1 1800000001');
      assert.equal(anonymous.status, 401);
      for (const influxd of cluster.influxds) {
        const late = await influxQuery(influxd.url, 'SELECT count(value) FROM peered WHERE time >= 1800000000s', { db: 'shared', ...asAdmin });
        assert.equal(late.results[0].series, undefined, `nothing refused was stored on ${influxd.url}`);
      }
    } finally {
      await cluster.stop();
    }
  });
});
