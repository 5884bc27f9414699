import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startAgentProcess, TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET } from '../helpers/cluster-fixture.ts';
import { cliEnv } from '../helpers/manager-process.ts';
import { startInfluxd } from '../helpers/servers.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

test('a node that joins after the first database is not a data member until `cflux members add`', async () => {
  const cluster = await startClusterFixture({ size: 2, etcd: false });
  // The fixture's two agents joined while the cluster was empty; this database closes the door.
  await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE placed');
  const influxd = await startInfluxd();
  const late = await startAgentProcess(
    ['--manager', cluster.manager.url, '--cluster', 'fixture', '--node-name', 'late-node', '--influxd-url', influxd.url, '--heartbeat-interval', '0.5', '--drift-interval', '0.5'],
    { env: { CFLUX_SECRET: TEST_SECRET } },
  ).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  try {
    const members = async () => (await run(process.execPath, [CFLUX, 'members', 'list', '--manager', cluster.manager.url, '--cluster', 'fixture', '--json'], { env: cliEnv() })).stdout;
    await late.waitForLog((r) => r['msg'] === 'registered, not a data member: run `cflux members add NAME` (or start the agent with --auto-join) to let it hold data', 10_000);
    assert.deepEqual(JSON.parse(await members()), ['node-0', 'node-1']);
    const ready = (await (await fetch(`${late.peerUrl}/readyz`)).json()) as { dataMember: boolean; note: string };
    assert.equal(ready.dataMember, false);
    assert.equal(ready.note, 'registered, not a data member');

    // The database holds no data yet: the move has nothing to copy. The plan comes from a live agent the manager lists.
    const env = { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN };
    const added = await run(process.execPath, [CFLUX, 'members', 'add', 'late-node', '--manager', cluster.manager.url, '--cluster', 'fixture'], { env });
    assert.match(added.stdout, /^moved 0 units \(0 points copied\) in [\d.]+ s; data members: late-node, node-0, node-1$/m);
    for (let i = 0; i < 50 && !((await (await fetch(`${late.peerUrl}/readyz`)).json()) as { dataMember: boolean }).dataMember; i++) await sleep(100);
    assert.equal(((await (await fetch(`${late.peerUrl}/readyz`)).json()) as { dataMember: boolean }).dataMember, true);
    // With three members and RF 2 some of 30 measurements land on the new node.
    const lines = Array.from({ length: 30 }, (_, i) => `unit_${i} value=${i}`).join('\n');
    await sleep(1000); // every agent applies the new member list
    const written = await fetch(`${late.proxyUrl}/write?db=placed&consistency=all`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
    const held = await influxQuery(influxd.url, 'SHOW MEASUREMENTS', { db: 'placed' });
    assert.ok((held.results[0].series?.[0]?.values ?? []).length > 0, 'the new member holds data');
    // Its units move to the two that stay before it stops owning them.
    const removed = await run(process.execPath, [CFLUX, 'members', 'remove', 'late-node', '--manager', cluster.manager.url, '--cluster', 'fixture'], { env });
    const moved = /^moved (\d+) units \((\d+) points copied\) in [\d.]+ s; data members: node-0, node-1$/m.exec(removed.stdout);
    assert.ok(moved, removed.stdout);
    assert.ok(Number(moved[1]) > 0 && Number(moved[2]) > 0, removed.stdout);
    for (const [index, node] of cluster.influxds.entries()) {
      const all = await influxQuery(node.url, 'SELECT count(value) FROM /unit_/', { db: 'placed' });
      assert.equal((all.results[0].series ?? []).length, 30, `node-${index} holds every unit (RF 2 of 2)`);
    }
  } finally {
    await late.stop();
    await influxd.destroy();
    await cluster.stop();
  }
});
