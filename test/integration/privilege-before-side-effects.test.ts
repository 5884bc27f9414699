// A client statement changes the cluster document (placement pins, DDL) only
// after influxd has established the client's privilege for it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, influxRequest, startAuthClusterFixture, TEST_ADMIN, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

describe('privilege before side effects (auth-enabled influxd, 2 nodes)', () => {
  let cluster: ClusterFixture;
  const pins = async () => ((await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { metadata: { settings: { pins: Record<string, string> } } }).metadata.settings.pins;
  before(async () => {
    cluster = await startAuthClusterFixture(2);
    const proxy = cluster.agents[0]!.proxyUrl;
    await influxQuery(proxy, "CREATE DATABASE src WITH REPLICATION 1; CREATE USER reader WITH PASSWORD 'r3ader-pw'; GRANT READ ON src TO reader", TEST_ADMIN);
    await sleep(500);
    const lines = Array.from({ length: 50 }, (_, i) => `m,host=h${i % 5} value=${i} ${1_700_000_000 + i}`).join('\n');
    assert.equal((await fetch(`${proxy}/write?db=src&precision=s&consistency=all&u=${TEST_ADMIN.u}&p=${TEST_ADMIN.p}`, { method: 'POST', body: lines })).status, 204);
  });
  after(() => cluster.stop());

  test('SELECT ... INTO by an anonymous client is answered as influxd answers it (401), and no pin is written', async () => {
    const before = await pins();
    const anonymous = await influxRequest(cluster.agents[1]!.proxyUrl, 'SELECT * INTO m_copy FROM m', { db: 'src' });
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await pins(), before);
  });

  test('SELECT ... INTO by a user who may only read is refused with influxd\'s own message, and no pin is written', async () => {
    const before = await pins();
    const refused = await influxRequest(cluster.agents[0]!.proxyUrl, 'SELECT * INTO m_copy FROM m', { db: 'src', u: 'reader', p: 'r3ader-pw' });
    assert.match(JSON.stringify(refused.body), /not authorized to execute statement 'SELECT \* INTO m_copy FROM m', requires WRITE on src/);
    assert.deepEqual(await pins(), before);
    const count = await influxQuery(cluster.agents[1]!.proxyUrl, 'SELECT count(value) FROM m', { db: 'src', u: 'reader', p: 'r3ader-pw' });
    assert.equal(count.results[0].series[0].values[0][1], 50, "the reader's answers did not move");
  });

  test('the admin runs it: the pin is written and the copy is read through every proxy', async () => {
    const copied = await influxQuery(cluster.agents[0]!.proxyUrl, 'SELECT * INTO m_copy FROM m GROUP BY *', { db: 'src', ...TEST_ADMIN });
    assert.equal(copied.results[0].error, undefined, JSON.stringify(copied));
    assert.deepEqual(await pins(), { 'src\u0000m_copy': 'src\u0000m' });
    await sleep(300);
    for (const agent of cluster.agents) {
      const count = await influxQuery(agent.proxyUrl, 'SELECT count(value) FROM m_copy', { db: 'src', ...TEST_ADMIN });
      assert.equal(count.results[0].series[0].values[0][1], 50);
    }
  });
});
