/**
 * The memory manager's restore window (manager/api/restore-window.ts): after
 * a restart the agents give it the cluster document back, and a change made
 * meanwhile waits until they have, so it is never written on an older
 * document and then replaced by a newer one. Real manager, agents and influxd.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterFixture, influxQuery, waitForIdenticalViews } from '../helpers/cluster-fixture.ts';
import { managerFetch, startManagerProcess, testDocument, TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';
import { startEtcd, startInfluxd } from '../helpers/servers.ts';
import { makeTempDir } from '../../src/local/exit-cleanup.ts';
import { createLogger } from '../../src/shared/logging.ts';
import { ManagerClient } from '../../src/shared/http/manager-client.ts';
import { SecretBox } from '../../src/cluster/secret-box.ts';
import { MetadataMirror } from '../../src/agent/metadata/metadata-mirror.ts';
import { ManagerMetadataApi } from '../../src/agent/metadata/metadata-api.ts';
import { AppliedStateStore } from '../../src/agent/metadata/applied-state-store.ts';
import { InfluxdQueryClient } from '../../src/agent/influxd/influxd-query-client.ts';
import { InfluxdEndpoint } from '../../src/agent/influxd/influxd-endpoint.ts';

const write = (url: string, cluster: string, base: number, document: Record<string, unknown>, restore = false) =>
  managerFetch(`${url}/clusters/${cluster}/versions/${base}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(restore ? { 'x-cflux-restore': '1' } : {}) },
    body: JSON.stringify(document),
  });

describe('the manager API', () => {
  test('memory store: a fresh cluster never waits; after a restore, changes get 423 with Retry-After until the window ends', async () => {
    const manager = await startManagerProcess({ extraArgs: ['--restore-window', '2'] });
    try {
      assert.equal((await write(manager.url, 'fresh', 0, testDocument({ revision: 1 }))).status, 200);
      assert.equal((await write(manager.url, 'fresh', 1, testDocument({ revision: 2 }))).status, 200);

      const opened = Date.now();
      assert.equal((await write(manager.url, 'back', 0, testDocument({ revision: 9 }), true)).status, 200);
      const refused = await write(manager.url, 'back', 1, testDocument({ revision: 10 }));
      assert.equal(refused.status, 423);
      assert.match(refused.headers.get('retry-after') ?? '', /^[12]$/);
      const body = (await refused.json()) as { error: string; 'retry-after-ms': number };
      assert.match(body.error, /the agents are restoring the cluster document, and changes are taken again in [12] s/);
      assert.ok(body['retry-after-ms'] > 0 && body['retry-after-ms'] <= 2000);
      assert.equal((await write(manager.url, 'back', 1, testDocument({ revision: 15 }), true)).status, 200, 'a newer restore is taken at once');
      await sleep(Math.max(0, opened + 2100 - Date.now()));
      assert.equal((await write(manager.url, 'back', 2, testDocument({ revision: 16 }))).status, 200, 'changes are taken after the window');
    } finally {
      await manager.stop();
    }
  });

  test('etcd store: no window (etcd keeps the document)', async () => {
    const etcd = await startEtcd();
    const manager = await startManagerProcess({ etcdEndpoints: [etcd.endpoint] });
    try {
      assert.equal((await write(manager.url, 'back', 0, testDocument({ revision: 9 }), true)).status, 200);
      assert.equal((await write(manager.url, 'back', 1, testDocument({ revision: 10 }))).status, 200);
    } finally {
      await manager.stop();
      await etcd.destroy();
    }
  });
});

test('a user created through a stale agent while the restarted manager holds its older document is not lost', async () => {
  const cluster = await startClusterFixture({ size: 3, etcd: false });
  const [fresh0, fresh1] = [cluster.agents[0]!, cluster.agents[1]!];
  let stale = cluster.agents[2]!;
  const documentOf = async () => (await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { version: number; metadata: { users: Record<string, unknown> } | null };
  const resume = (...agents: Array<{ pid: number }>) => agents.forEach((agent) => process.kill(agent.pid, 'SIGCONT'));
  try {
    await influxQuery(fresh0.proxyUrl, "CREATE USER u1 WITH PASSWORD 'pw-1'");
    await waitForIdenticalViews(cluster.influxds, [], [], 10_000, (view) => view.includes('u1'));
    // node-2's agent misses the next change: its applied document stays one revision behind.
    await stale.stop();
    await influxQuery(fresh0.proxyUrl, "CREATE USER u2 WITH PASSWORD 'pw-2'");
    await waitForIdenticalViews(cluster.influxds.slice(0, 2), [], [], 10_000, (view) => view.includes('u2'));
    // The manager restarts empty while node-0 and node-1 are paused: node-2's agent, started
    // again meanwhile with its older document, restores it first.
    const port = cluster.manager.port;
    await cluster.manager.stop();
    process.kill(fresh0.pid, 'SIGSTOP');
    process.kill(fresh1.pid, 'SIGSTOP');
    let creating: Promise<any>;
    try {
      stale = await cluster.restartAgent(2);
      cluster.manager = await startManagerProcess({ port, extraArgs: ['--restore-window', '10'] });
      let document = await documentOf();
      for (let i = 0; i < 150 && document.metadata === null; i++) {
        await sleep(100);
        document = await documentOf();
      }
      assert.ok(document.metadata, 'the stale agent restored its document');
      assert.deepEqual(Object.keys(document.metadata.users).sort(), ['u1'], 'the older document came first');
      // A change through the stale agent now; then the agents holding the newer document come back.
      creating = influxQuery(stale.proxyUrl, "CREATE USER u3 WITH PASSWORD 'pw-3'");
      await sleep(500);
    } finally {
      resume(fresh0, fresh1);
    }
    // Without the window, u3 went into the older document and node-0/node-1 applied it, dropping u2.
    assert.deepEqual(await creating, { results: [{ statement_id: 0 }] });
    await waitForIdenticalViews(cluster.influxds, [], [], 30_000, (view) => ['u1', 'u2', 'u3'].every((user) => view.includes(`"${user}"`)));
    assert.deepEqual(Object.keys((await documentOf()).metadata!.users).sort(), ['u1', 'u2', 'u3']);
  } finally {
    resume(fresh0, fresh1);
    await cluster.stop();
  }
});

test('a change made by the agent holding the newest document, before it restored the restarted manager, keeps what only that document held', async (t) => {
  // The agent's metadata mirror on its own (its poll loop not started, so the change surely comes
  // first), with a real influxd and the real manager; the stale agent's restore is sent by hand.
  const influxd = await startInfluxd();
  let manager = await startManagerProcess({ extraArgs: ['--restore-window', '0'] });
  const dataDir = await makeTempDir('cflux-restore-race-');
  t.after(async () => {
    await manager.stop();
    await influxd.destroy();
  });
  const mirrorOn = (url: string) =>
    new MetadataMirror({
      cluster: 'race',
      api: new ManagerMetadataApi(new ManagerClient({ endpoints: [url], attempts: 2, timeoutMs: 5000, backoffBaseMs: 50, backoffCapMs: 200, token: TEST_MANAGER_TOKEN })),
      influxd: new InfluxdQueryClient(new InfluxdEndpoint({ url: influxd.url }), undefined),
      store: new AppliedStateStore(dataDir),
      secrets: new SecretBox('restore-race-secret-0123456789'),
      logger: createLogger({ level: 'silent', format: 'json' }),
      localChanges: 'push',
      driftIntervalMs: 0,
      replicationFactor: 1,
    });
  const users = async () => Object.keys(((await (await managerFetch(`${manager.url}/clusters/race`)).json()) as { metadata: { users: object } }).metadata.users).sort();
  const before = mirrorOn(manager.url);
  await before.load();
  await before.applyOperations([{ op: 'createUser', name: 'u1', password: 'pw-1', admin: false }]);
  const older = (await (await managerFetch(`${manager.url}/clusters/race`)).json()) as { metadata: Record<string, unknown> };
  await before.applyOperations([{ op: 'createUser', name: 'u2', password: 'pw-2', admin: false }]);
  const port = manager.port;
  await manager.stop();
  manager = await startManagerProcess({ port, extraArgs: ['--restore-window', '0'] });
  // Another agent, one change behind, restores the restarted manager first.
  assert.equal((await write(manager.url, 'race', 0, older.metadata, true)).status, 200);
  assert.deepEqual(await users(), ['u1']);
  const mirror = mirrorOn(manager.url);
  await mirror.load();
  const outcomes = await mirror.applyOperations([{ op: 'createUser', name: 'u3', password: 'pw-3', admin: false }]);
  assert.deepEqual(outcomes, [{ ok: true }]);
  assert.deepEqual(await users(), ['u1', 'u2', 'u3'], 'the change carries the newer document along');
  const shown = JSON.stringify(await influxQuery(influxd.url, 'SHOW USERS'));
  for (const user of ['u1', 'u2', 'u3']) assert.ok(shown.includes(`"${user}"`), `influxd has ${user}: ${shown}`);
});
