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
import { ownersOf } from '../../src/cluster/placement.ts';

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

test('--auto-join: a node registering in a cluster with data starts its own move and holds its share, whole', async () => {
  const cluster = await startClusterFixture({ size: 2, etcd: false });
  const influxd = await startInfluxd();
  let late: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE joined');
    const lines = Array.from({ length: 30 * 50 }, (_, i) => `unit_${i % 30},host=h${i % 3} value=${i} ${1_700_000_000 + i}`).join('\n');
    const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=joined&precision=s&consistency=all`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
    late = await startAgentProcess(
      ['--manager', cluster.manager.url, '--cluster', 'fixture', '--node-name', 'node-2', '--influxd-url', influxd.url, '--data-dir', `${influxd.dir}/agent`, '--heartbeat-interval', '0.5', '--drift-interval', '0.5', '--auto-join'],
      { env: { CFLUX_SECRET: TEST_SECRET } },
    );
    await late.waitForLog((r) => r['msg'] === 'joining the data members (--auto-join): its share of the data is moved to it', 10_000);
    let members: string[] = [];
    for (let waited = 0; !members.includes('node-2'); waited += 250) {
      assert.ok(waited < 60_000, `node-2 becomes a member: ${members.join(', ')}`);
      await sleep(250);
      members = JSON.parse((await run(process.execPath, [CFLUX, 'members', 'list', '--manager', cluster.manager.url, '--cluster', 'fixture', '--json'], { env: cliEnv() })).stdout) as string[];
    }
    assert.deepEqual(members, ['node-0', 'node-1', 'node-2']);
    const owned = Array.from({ length: 30 }, (_, i) => `unit_${i}`).filter((unit) => ownersOf('joined', unit, members, 2).includes('node-2'));
    assert.ok(owned.length > 5, `node-2 wins a share of the units (${owned.length})`);
    const held = await influxQuery(influxd.url, 'SELECT count(value) FROM /unit_/', { db: 'joined' });
    const counts = new Map((held.results[0].series ?? []).map((series: { name: string; values: number[][] }) => [series.name, series.values[0]![1]]));
    assert.deepEqual([...counts.keys()].sort(), [...owned].sort(), 'node-2 holds exactly the units it owns');
    for (const unit of owned) assert.equal(counts.get(unit), 50, `${unit} is whole on node-2`);
  } finally {
    await late?.stop();
    await influxd.destroy();
    await cluster.stop();
  }
});
