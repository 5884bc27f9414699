import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startAgentProcess, TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { cliEnv, startManagerProcess, type ManagerProcess, managerFetch } from '../helpers/manager-process.ts';
import { freePort, startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

async function nodes(manager: string, cluster: string): Promise<any[]> {
  return (await managerFetch(`${manager}/nodes/${encodeURIComponent(cluster)}`)).json() as Promise<any[]>;
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

let influxd: InfluxdServer;
before(async () => {
  influxd = await startInfluxd();
});
after(async () => {
  await influxd?.destroy();
});

describe('agent registration and liveness against a real manager and influxd', () => {
  let manager: ManagerProcess;
  before(async () => {
    manager = await startManagerProcess({ ttl: 3 });
  });
  after(async () => {
    await manager?.stop();
  });

  test('registers with hostname, IPs, bind address and influxd version; SIGTERM deregisters and exits 0', async () => {
    const agent = await startAgentProcess(['--manager', manager.url, '--cluster', 'reg', '--influxd-url', influxd.url, '--node-name', 'influx-a', '--advertise-address', 'influx-a.peers:8888', '--heartbeat-interval', '0.5']);
    const node = await waitUntil(async () => (await nodes(manager.url, 'reg')).find((n) => n.name === 'influx-a'), 10_000, 'registration');
    assert.equal(node.hostname, hostname());
    assert.equal(node['bind-address'], 'influx-a.peers:8888');
    assert.ok(node.ip.length > 0 && node.ip.every((ip: string) => ip !== '127.0.0.1'), `discovered IPs ${node.ip}`);
    assert.match(node.version, /^1\.6\.7/);
    assert.equal(typeof node.stats.memoryTotalBytes, 'number');
    assert.equal(await agent.stop(), 0);
    assert.deepEqual(await nodes(manager.url, 'reg'), []);
  });

  test('SIGKILL: the node turns alive=false within TTL + 1 s', async () => {
    const agent = await startAgentProcess(['--manager', manager.url, '--cluster', 'kill', '--influxd-url', influxd.url, '--node-name', 'doomed', '--heartbeat-interval', '0.5']);
    await waitUntil(async () => (await nodes(manager.url, 'kill')).find((n) => n.alive) ?? undefined, 10_000, 'registration');
    await sleep(1500); // heartbeats keep it alive past one TTL
    assert.equal((await nodes(manager.url, 'kill'))[0].alive, true, 'heartbeats keep the node alive');
    await agent.kill();
    const killedAt = Date.now();
    await waitUntil(async () => ((await nodes(manager.url, 'kill'))[0].alive === false ? true : undefined), 4000, 'alive=false');
    assert.ok(Date.now() - killedAt <= 4000, `took ${Date.now() - killedAt} ms`);
  });
});

test('a manager restarted with an empty memory store gets the agent back within one heartbeat + backoff', async () => {
  const port = await freePort();
  let manager = await startManagerProcess({ port });
  const agent = await startAgentProcess(['--manager', manager.url, '--cluster', 'restart', '--influxd-url', influxd.url, '--heartbeat-interval', '1']);
  try {
    await waitUntil(async () => (await nodes(manager.url, 'restart'))[0], 10_000, 'first registration');
    await manager.stop();
    manager = await startManagerProcess({ port });
    const restartedAt = Date.now();
    assert.deepEqual(await nodes(manager.url, 'restart'), [], 'the new manager starts empty');
    await waitUntil(async () => (await nodes(manager.url, 'restart'))[0], 5000, 're-registration');
    assert.ok(Date.now() - restartedAt < 5000);
    await agent.waitForLog((r) => r['msg'] === 'manager no longer knows this node; registering again' || (r['msg'] === 'registered' && r['previousId'] !== undefined));
  } finally {
    await agent.stop();
    await manager.stop();
  }
});

test('manager down at agent start: the agent waits and registers when it appears', async () => {
  const port = await freePort();
  const agent = await startAgentProcess(['--manager', `http://127.0.0.1:${port}`, '--cluster', 'late', '--influxd-url', influxd.url]);
  try {
    await agent.waitForLog((r) => r['msg'] === 'registration failed');
    const ready = await fetch(`${agent.peerUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(await ready.json()), /not registered with the manager/);
    const manager = await startManagerProcess({ port });
    try {
      await waitUntil(async () => (await nodes(manager.url, 'late'))[0], 15_000, 'registration after the manager appeared');
      await waitUntil(async () => ((await fetch(`${agent.peerUrl}/readyz`)).status === 200 ? true : undefined), 5000, 'ready');
    } finally {
      await agent.stop();
      await manager.stop();
    }
  } finally {
    await agent.stop();
  }
});

test('two managers in CFLUX_ENDPOINT, the first dead: the agent uses the second', async () => {
  const manager = await startManagerProcess();
  const dead = `http://127.0.0.1:${await freePort()}`;
  const agent = await startAgentProcess(['--cluster', 'failover', '--influxd-url', influxd.url], { env: { CFLUX_ENDPOINT: `${dead},${manager.url}` } });
  try {
    await waitUntil(async () => (await nodes(manager.url, 'failover'))[0], 10_000, 'registration through the second manager');
  } finally {
    await agent.stop();
    await manager.stop();
  }
});

describe('cflux agent --once', () => {
  test('prints the registration as JSON, deregisters, exits 0', async () => {
    const manager = await startManagerProcess();
    try {
      const { stdout } = await run(process.execPath, [CFLUX, 'agent', '--once', '--manager', manager.url, '--cluster', 'once', '--influxd-url', influxd.url, '--node-name', 'one-shot'], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN } });
      const registration = JSON.parse(stdout);
      assert.equal(registration.name, 'one-shot');
      assert.ok(registration.id > 0);
      assert.deepEqual(await nodes(manager.url, 'once'), [], 'deregistered before exit');
    } finally {
      await manager.stop();
    }
  });

  test('exits non-zero with the reason when the manager or influxd cannot be reached', async () => {
    const manager = await startManagerProcess();
    try {
      const noInfluxd = await run(process.execPath, [CFLUX, 'agent', '--once', '--manager', manager.url, '--influxd-url', 'http://127.0.0.1:1', '--log-level', 'silent'], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN } }).catch((err: { code: number; stderr: string }) => err);
      assert.equal((noInfluxd as { code: number }).code, 1);
      assert.match((noInfluxd as { stderr: string }).stderr, /influxd at http:\/\/127\.0\.0\.1:1 is not reachable/);
      const noManager = await run(process.execPath, [CFLUX, 'agent', '--once', '--manager', 'http://127.0.0.1:1', '--influxd-url', influxd.url, '--log-level', 'silent', '--manager-timeout', '0.5'], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN } }).catch((err: { code: number; stderr: string }) => err);
      assert.equal((noManager as { code: number }).code, 1);
      assert.match((noManager as { stderr: string }).stderr, /manager unreachable after 5 attempts/);
    } finally {
      await manager.stop();
    }
  });
});
