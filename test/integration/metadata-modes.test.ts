import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, influxRequest, startClusterFixture, TEST_SECRET, waitForIdenticalViews } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

describe('auth-enabled influxd without users', () => {
  test('the first admin user is created through the proxy and reaches every influxd; DDL then needs it', async () => {
    const cluster = await startClusterFixture({
      size: 2,
      etcd: false,
      influxd: { auth: true, createAdmin: false },
      agentEnv: { CFLUX_SECRET: TEST_SECRET, INFLUX_USERNAME: 'admin', INFLUX_PASSWORD: 'adm1n-pw' },
    });
    try {
      const proxy = cluster.agents[0]!.proxyUrl;
      const first = await influxQuery(proxy, "CREATE USER admin WITH PASSWORD 'adm1n-pw' WITH ALL PRIVILEGES");
      assert.deepEqual(first, { results: [{ statement_id: 0 }] });
      const asAdmin = { u: 'admin', p: 'adm1n-pw' };
      for (const influxd of cluster.influxds) {
        let users: any;
        for (let i = 0; i < 100; i++) {
          users = await influxQuery(influxd.url, 'SHOW USERS', asAdmin);
          if (users.results) break;
          await sleep(50);
        }
        assert.deepEqual(users.results[0].series[0].values, [['admin', true]], `admin exists on ${influxd.url}`);
      }
      const anonymous = await influxRequest(proxy, 'CREATE DATABASE secured');
      assert.ok(anonymous.status === 401 || anonymous.status === 403, `anonymous DDL refused with ${anonymous.status}`);
      assert.match(JSON.stringify(anonymous.body), /error/);
      assert.deepEqual(await influxQuery(proxy, 'CREATE DATABASE secured', asAdmin), { results: [{ statement_id: 0 }] });
      for (const influxd of cluster.influxds) {
        let seen = false;
        for (let i = 0; i < 100 && !seen; i++) {
          seen = JSON.stringify(await influxQuery(influxd.url, 'SHOW DATABASES', asAdmin)).includes('secured');
          if (!seen) await sleep(50);
        }
        assert.ok(seen, `database on ${influxd.url}`);
      }
    } finally {
      await cluster.stop();
    }
  });
});

describe('--local-changes=revert', () => {
  test('DDL made directly on an influxd is undone and never reaches the others', async () => {
    const cluster = await startClusterFixture({ size: 3, etcd: false, agentArgs: ['--local-changes', 'revert'] });
    try {
      await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE kept; CREATE DATABASE also_kept');
      await waitForIdenticalViews(cluster.influxds, [], [], 2000, (view) => view.includes('also_kept'));
      const c = cluster.influxds[2]!.url;
      await influxQuery(c, 'CREATE DATABASE rogue');
      await influxQuery(c, 'DROP DATABASE kept');
      await influxQuery(c, "CREATE USER sneaky WITH PASSWORD 'x'");
      await waitForIdenticalViews(cluster.influxds, [], [], 10_000, (view) => view.includes('"kept"') && !view.includes('rogue') && !view.includes('sneaky'));
    } finally {
      await cluster.stop();
    }
  });
});

describe('without a cluster secret', () => {
  test('user statements get an error naming CFLUX_SECRET; other DDL works', async () => {
    const cluster = await startClusterFixture({ size: 1, etcd: false, agentEnv: {} });
    try {
      const proxy = cluster.agents[0]!.proxyUrl;
      const answer = await influxQuery(proxy, "CREATE DATABASE fine; CREATE USER u WITH PASSWORD 'p'");
      assert.equal(answer.results[0].error, undefined);
      assert.match(answer.results[1].error, /set CFLUX_SECRET .* or --secret-file/);
    } finally {
      await cluster.stop();
    }
  });
});

describe('a memory-store manager that restarted empty', () => {
  test('gets the metadata back from the agents, and DDL goes on from there', async () => {
    const cluster = await startClusterFixture({ size: 2, etcd: false });
    try {
      await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE survivor; CREATE DATABASE second');
      await waitForIdenticalViews(cluster.influxds, [], [], 3000, (view) => view.includes('second'));
      const { startManagerProcess } = await import('../helpers/manager-process.ts');
      await cluster.manager.stop();
      cluster.manager = await startManagerProcess({ port: cluster.manager.port });
      let document: any = { version: 0 };
      for (let i = 0; i < 100 && document.version === 0; i++) {
        await sleep(100);
        document = await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json();
      }
      assert.ok(document.version > 0, 'an agent pushed its document');
      assert.deepEqual(Object.keys(document.metadata.databases).sort(), ['second', 'survivor']);
      assert.deepEqual(await influxQuery(cluster.agents[1]!.proxyUrl, 'CREATE DATABASE third'), { results: [{ statement_id: 0 }] });
      await waitForIdenticalViews(cluster.influxds, [], [], 3000, (view) => view.includes('third') && view.includes('survivor'));
    } finally {
      await cluster.stop();
    }
  });
});
