// Metadata that catches up, and read-your-DDL: DDL made while an influxd is
// down reaches it within seconds of its return; a write right after CREATE
// DATABASE, through any agent, is never answered 404.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, metadataView, startClusterFixture, waitForIdenticalViews, type ClusterFixture } from '../helpers/cluster-fixture.ts';

describe('metadata catch-up and read-your-DDL (3 nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: false });
  });
  after(() => cluster.stop());

  test('DDL made while an influxd is down is applied to it within seconds of its return', async () => {
    const down = cluster.influxds[2]!;
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE before_outage');
    await waitForIdenticalViews(cluster.influxds, ['before_outage'], [], 10_000);
    await down.kill('SIGKILL');
    const ddl = [
      'CREATE DATABASE during_outage',
      'CREATE RETENTION POLICY short ON during_outage DURATION 2d REPLICATION 2',
      "CREATE USER late_user WITH PASSWORD 'l4te-pw'",
      'GRANT READ ON during_outage TO late_user',
      'ALTER RETENTION POLICY autogen ON before_outage DURATION 30d',
    ];
    for (const statement of ddl) assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, statement)).results[0].error, undefined, statement);
    await sleep(3000); // the agent keeps failing against its dead influxd meanwhile
    await down.restart();
    const caughtUp = await waitForIdenticalViews(cluster.influxds, ['before_outage', 'during_outage'], ['late_user'], 15_000, (view) => view.includes('during_outage') && view.includes('late_user'));
    assert.ok(caughtUp < 15_000);
    const view = await metadataView(down.url, ['during_outage'], ['late_user']);
    assert.match(view, /"short","48h0m0s"/);
    assert.match(view, /"during_outage","READ"/);
  });

  test('a database dropped while an influxd is SIGKILLed is dropped there on its return; one made directly on it then is kept and pushed', async () => {
    const down = cluster.influxds[2]!;
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE doomed');
    await waitForIdenticalViews(cluster.influxds, [], [], 10_000, (view) => view.includes('"doomed"'));
    await down.kill('SIGKILL');
    assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, 'DROP DATABASE doomed')).results[0].error, undefined);
    await sleep(2000);
    await down.restart();
    await influxQuery(down.url, 'CREATE DATABASE direct_after_outage');
    await waitForIdenticalViews(cluster.influxds, [], [], 20_000, (view) => !view.includes('"doomed"') && view.includes('"direct_after_outage"'));
  });

  test('a write right after CREATE DATABASE is stored, through the agent that ran it and through another one', async () => {
    const lines = Array.from({ length: 12 }, (_, i) => `m${i},host=a value=${i} ${1_700_000_000 + i}`).join('\n');
    for (let round = 0; round < 15; round++) {
      const database = `quick_${round}`;
      const ddlAgent = cluster.agents[round % 3]!;
      const writeAgent = cluster.agents[(round + (round % 2)) % 3]!;
      assert.deepEqual(await influxQuery(ddlAgent.proxyUrl, `CREATE DATABASE ${database}`), { results: [{ statement_id: 0 }] });
      const written = await fetch(`${writeAgent.proxyUrl}/write?db=${database}&precision=s&consistency=all`, { method: 'POST', body: lines });
      assert.equal(written.status, 204, `round ${round}: ${await written.text()}`);
    }
    const count = await influxQuery(cluster.agents[1]!.proxyUrl, 'SELECT count(value) FROM /m.*/', { db: 'quick_14' });
    assert.equal(count.results[0].series.length, 12);
  });
});

describe('read-your-DDL with a manager that answers one long-poll a second (--poll-answer-rate 1)', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: false, managerEnv: { CFLUX_POLL_ANSWER_RATE: '1' } });
  });
  after(() => cluster.stop());

  test("a write right after CREATE DATABASE does not wait for the writing agent's poll to be answered", async () => {
    // The agents' polls are answered one a second, in a stable order: without applying the
    // document it fetches itself, an agent's write would wait 0, 1 or 2 s for its turn.
    // RF 3 and consistency one: the writing agent's own influxd answers (the other owners
    // wait for their polls for up to 1 s first, in the background).
    const waits: number[] = [];
    for (let round = 0; round < 6; round++) {
      const database = `paced_${round}`;
      assert.deepEqual(await influxQuery(cluster.agents[0]!.proxyUrl, `CREATE DATABASE ${database} WITH REPLICATION 3`), { results: [{ statement_id: 0 }] });
      const started = performance.now();
      const written = await fetch(`${cluster.agents[1 + (round % 2)]!.proxyUrl}/write?db=${database}&precision=s&consistency=one`, { method: 'POST', body: `m value=${round} ${1_700_000_000 + round}` });
      waits.push(performance.now() - started);
      assert.equal(written.status, 204, `round ${round}: ${await written.text()}`);
    }
    const total = waits.reduce((sum, wait) => sum + wait, 0);
    assert.ok(total < 2500, `6 writes took ${waits.map((wait) => wait.toFixed(0)).join(', ')} ms`);
    // Every owner stored every write (the others after their own catch-up).
    for (const influxd of cluster.influxds) {
      for (let round = 0; round < 6; round++) {
        let count = 0;
        for (let waited = 0; waited < 5000 && count !== 1; waited += 100) {
          count = (await influxQuery(influxd.url, 'SELECT count(value) FROM m', { db: `paced_${round}` })).results[0].series?.[0]?.values[0][1] ?? 0;
          if (count !== 1) await sleep(100);
        }
        assert.equal(count, 1, `paced_${round} on ${influxd.url}`);
      }
    }
  });
});
