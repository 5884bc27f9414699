// The manager killed in the middle of a paced metadata fan-out: the manager
// answers one long-poll a second (--poll-answer-rate 1), so right after a
// CREATE DATABASE most agents have not been told yet. It is SIGKILLed then,
// and a new one starts on the same port and etcd: every influxd still gets the
// database, none is left behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { influxQuery, startClusterFixture, waitForIdenticalViews, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { startManagerProcess } from '../helpers/manager-process.ts';

const PACED = { CFLUX_POLL_ANSWER_RATE: '1' };

describe('the manager killed in the middle of a paced metadata fan-out (3 nodes, etcd)', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: true, managerEnv: PACED });
  });
  after(() => cluster.stop());

  const has = async (index: number, database: string) => JSON.stringify(await influxQuery(cluster.influxds[index]!.url, 'SHOW DATABASES')).includes(`"${database}"`);

  test('every agent applies the change from the next manager', async () => {
    let behind = 0;
    for (let attempt = 0; attempt < 3 && behind === 0; attempt++) {
      const database = `fanned_${attempt}`;
      // Through node-2's agent: node-0 and node-1 learn of it only from their polls, one a second.
      assert.deepEqual(await influxQuery(cluster.agents[2]!.proxyUrl, `CREATE DATABASE ${database}`), { results: [{ statement_id: 0 }] });
      const port = cluster.manager.port;
      await cluster.manager.kill();
      // Which agents the fan-out had not reached when the manager died (their influxd lacks the database).
      behind = (await Promise.all([0, 1].map((index) => has(index, database)))).filter((applied) => !applied).length;
      cluster.manager = await startManagerProcess({ port, etcdEndpoints: [cluster.etcd!.endpoint], env: PACED });
      const took = await waitForIdenticalViews(cluster.influxds, [database], [], 20_000, (view) => view.includes(database));
      assert.ok(took < 20_000);
    }
    assert.ok(behind > 0, 'the manager was never killed before the fan-out had reached every agent');
  });
});
