// Forged cluster documents: anonymous writes are refused by the manager; a
// document written into etcd behind the manager's back (or any malformed
// one) is refused by every agent, which keeps serving from the last good
// document until a valid version is written.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { EtcdStore } from '../../src/manager/store/etcd-store.ts';
import { influxQuery, influxRequest, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(100)) if (await check()) return;
  assert.fail(`timed out waiting for ${what}`);
}

describe('forged cluster documents', () => {
  let cluster: ClusterFixture;
  let store: EtcdStore;
  before(async () => {
    cluster = await startClusterFixture({ size: 2 });
    store = new EtcdStore({ endpoints: [cluster.etcd!.endpoint], prefix: '/clusterflux/', callTimeoutMs: 3000, logger: createLogger({ level: 'silent', format: 'json' }) });
    const proxy = cluster.agents[0]!.proxyUrl;
    await influxQuery(proxy, "CREATE DATABASE precious; CREATE USER reader WITH PASSWORD 'r3ader-pw'; GRANT READ ON precious TO reader");
    const written = await fetch(`${proxy}/write?db=precious`, { method: 'POST', body: 'kept value=1 1\nkept value=2 2' });
    assert.equal(written.status, 204);
    for (const influxd of cluster.influxds) await until(async () => JSON.stringify(await influxQuery(influxd.url, 'SHOW USERS')).includes('reader'), 'reader on every influxd');
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  const current = async () => (await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { version: number; metadata: any };

  test('anonymous writes of a forged document (CQ injection, admin promotion, a dropped database) get 401 and change nothing', async () => {
    const { version, metadata } = await current();
    const forged = structuredClone(metadata);
    forged.users.reader.admin = true;
    delete forged.databases.precious;
    const answer = await fetch(`${cluster.manager.url}/clusters/fixture/versions/${version}`, { method: 'POST', body: JSON.stringify(forged) });
    assert.equal(answer.status, 401);
    assert.equal((await current()).version, version);
  });

  test('a document written into etcd behind the manager: a CQ that is really CREATE USER ... WITH ALL PRIVILEGES is refused by every agent', async () => {
    const { version, metadata } = await current();
    const forged = structuredClone(metadata);
    forged.users.reader.admin = true;
    delete forged.databases.precious.continuousQueries;
    forged.databases.precious.continuousQueries = { evil: { name: 'evil', query: "CREATE USER intruder WITH PASSWORD 'x' WITH ALL PRIVILEGES" } };
    assert.equal((await store.writeMetadata('fixture', version, forged)).ok, true);
    for (const agent of cluster.agents) {
      const refused = await agent.waitForLog((r) => r['msg'] === 'cluster document refused: it fails the schema check; serving with the last good document', 10_000);
      assert.match(String(refused['field']), /continuousQueries\["evil"\]\.query/);
      const metrics = await (await fetch(`${agent.peerUrl}/metrics`)).text();
      assert.match(metrics, /cflux_agent_metadata_document_refused\{field="databases\[\\"precious\\"\]\.continuousQueries\[\\"evil\\"\]\.query"\} 1/);
    }
    await sleep(500);
    for (const influxd of cluster.influxds) {
      const users = JSON.stringify(await influxQuery(influxd.url, 'SHOW USERS'));
      assert.doesNotMatch(users, /intruder/, 'the injected statement never ran');
      assert.match(users, /\["reader",false\]/, 'reader was not promoted');
    }
  });

  test('while the newest document is refused, queries and writes go on and DDL answers 503 naming the field; a valid version heals it', async () => {
    const proxy = cluster.agents[1]!.proxyUrl;
    const count = await influxQuery(proxy, 'SELECT count(value) FROM kept', { db: 'precious' });
    assert.equal(count.results[0].series[0].values[0][1], 2);
    assert.equal((await fetch(`${proxy}/write?db=precious`, { method: 'POST', body: 'kept value=3 3' })).status, 204);
    const ddl = await influxRequest(proxy, 'CREATE DATABASE later');
    assert.equal(ddl.status, 503);
    assert.match(ddl.body.error, /the cluster document is invalid at databases\["precious"\]\.continuousQueries\["evil"\]\.query/);

    // Malformed beyond repair: still no crash, still serving.
    const { version } = await current();
    assert.equal((await store.writeMetadata('fixture', version, { format: 1, databases: 'x', users: null })).ok, true);
    await cluster.agents[0]!.waitForLog((r) => r['msg'] === 'cluster document refused: it fails the schema check; serving with the last good document' && r['field'] === 'databases', 10_000);
    assert.equal((await influxQuery(proxy, 'SELECT count(value) FROM kept', { db: 'precious' })).results[0].series[0].values[0][1], 3);

    // The operator writes a valid version (here: the last good one, taken from the history).
    const history = (await (await managerFetch(`${cluster.manager.url}/clusters/fixture/history`)).json()) as Array<{ version: number; metadata: any }>;
    const good = history.find((entry) => entry.metadata.databases?.precious?.continuousQueries && Object.keys(entry.metadata.databases.precious.continuousQueries).length === 0)!;
    const healed = await managerFetch(`${cluster.manager.url}/clusters/fixture/versions/${(await current()).version}`, { method: 'POST', body: JSON.stringify(good.metadata) });
    assert.equal(healed.status, 200, await healed.text());
    await until(async () => (await influxRequest(proxy, 'CREATE DATABASE later')).status === 200, 'DDL works again');
    for (const influxd of cluster.influxds) await until(async () => JSON.stringify(await influxQuery(influxd.url, 'SHOW DATABASES')).includes('later'), 'the new database everywhere');
    for (const agent of cluster.agents) assert.match(await (await fetch(`${agent.peerUrl}/metrics`)).text(), /cflux_agent_metadata_documents_refused_total [1-9]/);
  });
});
