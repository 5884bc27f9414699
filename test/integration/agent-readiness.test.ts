import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { Agent } from '../../src/agent/agent.ts';
import { agentSettings } from '../../src/agent/agent-settings.ts';
import { resolveSettings } from '../../src/shared/config/setting.ts';
import { startAgentProcess } from '../helpers/agent-process.ts';
import { startManagerProcess, managerFetch, TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';
import { startInfluxd } from '../helpers/servers.ts';

async function readyz(peerUrl: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${peerUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function waitForStatus(peerUrl: string, status: number, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await readyz(peerUrl);
    if (reply.status === status) return reply.body;
    if (Date.now() > deadline) throw new Error(`readyz still ${reply.status}: ${JSON.stringify(reply.body)}`);
    await sleep(50);
  }
}

test('influxd down: /readyz is 503 and says why; influxd back: ready again; /healthz stays 200', async () => {
  const influxd = await startInfluxd();
  const manager = await startManagerProcess();
  const agent = await startAgentProcess(['--manager', manager.url, '--influxd-url', influxd.url, '--heartbeat-interval', '0.5']);
  try {
    const ready = await waitForStatus(agent.peerUrl, 200);
    assert.equal(ready.state, 'running');
    assert.match(ready.influxd.version, /^1\.6\.7/);
    await influxd.stop();
    const notReady = await waitForStatus(agent.peerUrl, 503);
    assert.equal(notReady.ready, false);
    assert.ok(notReady.reasons.some((reason: string) => /influxd not reachable: .*ECONNREFUSED/.test(reason)), JSON.stringify(notReady.reasons));
    assert.equal((await fetch(`${agent.peerUrl}/healthz`)).status, 200);
    await influxd.restart();
    await waitForStatus(agent.peerUrl, 200);
    let metrics = '';
    for (let i = 0; i < 100 && !/cflux_agent_heartbeats_total\{outcome="ok"\} [1-9]/.test(metrics); i++) {
      metrics = await (await fetch(`${agent.peerUrl}/metrics`)).text();
      await sleep(50);
    }
    assert.match(metrics, /cflux_agent_heartbeats_total\{outcome="ok"\} [1-9]/, 'heartbeats within 5 s at a 0.5 s interval');
    assert.match(metrics, /cflux_agent_state\{state="running"\} 1/);
    assert.match(metrics, /cflux_agent_manager_request_duration_seconds_count [1-9]/);
  } finally {
    await agent.stop();
    await manager.stop();
    await influxd.destroy();
  }
});

test('an in-process agent stops cleanly (twice) and leaves no timer or socket open', async () => {
  const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'];
  const openHandles = () => process.getActiveResourcesInfo().filter((kind) => kinds.includes(kind)).sort();
  const influxd = await startInfluxd();
  const manager = await startManagerProcess();
  try {
    const baseline = openHandles();
    const options = resolveSettings(agentSettings, { flags: { manager: manager.url, influxdUrl: influxd.url, peerListen: '127.0.0.1:0', heartbeatInterval: '0.2' }, env: {}, file: {} });
    const agent = new Agent(options, createLogger({ level: 'silent', format: 'json' }), { peerToken: 'readiness-test-peer-token', managerToken: TEST_MANAGER_TOKEN }, {});
    await agent.start();
    for (let i = 0; i < 200 && agent.state !== 'running'; i++) await sleep(25);
    assert.equal(agent.state, 'running');
    await sleep(500); // a few heartbeats
    assert.ok(openHandles().length > baseline.length, 'a running agent holds its port and timers');
    await Promise.all([agent.stop(), agent.stop()]);
    assert.equal(agent.state, 'stopped');
    for (let i = 0; i < 40 && openHandles().length > baseline.length; i++) await sleep(25);
    assert.deepEqual(openHandles(), baseline);
    assert.deepEqual(await (await managerFetch(`${manager.url}/nodes/default`)).json(), [], 'deregistered');
  } finally {
    await manager.stop();
    await influxd.destroy();
  }
});
