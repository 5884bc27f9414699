import { connect } from 'node:net';
// One influxd authentication mode per cluster: a node whose influxd has auth
// off in a cluster that has it on is not ready, and neither its proxy nor its
// peer API serves, so it cannot be a door around everybody else's auth.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess, TEST_PEER_TOKEN, type AgentProcess } from '../helpers/agent-process.ts';
import { influxQuery, TEST_ADMIN, TEST_SECRET } from '../helpers/cluster-fixture.ts';
import { managerFetch, startManagerProcess, type ManagerProcess } from '../helpers/manager-process.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

describe('mixed influxd auth modes', () => {
  let manager: ManagerProcess;
  const influxds: InfluxdServer[] = [];
  const agents: AgentProcess[] = [];
  const agentArgs = (index: number) => ['--manager', manager.url, '--cluster', 'modes', '--node-name', `mode-${index}`, '--influxd-url', influxds[index]!.url, '--heartbeat-interval', '0.3', '--drift-interval', '0.5'];

  before(async () => {
    manager = await startManagerProcess();
    influxds.push(
      await startInfluxd({ auth: true, adminUser: TEST_ADMIN.u, adminPassword: TEST_ADMIN.p }),
      await startInfluxd({ auth: true, adminUser: TEST_ADMIN.u, adminPassword: TEST_ADMIN.p }),
      await startInfluxd(),
    );
    const withAuth = { CFLUX_SECRET: TEST_SECRET, INFLUX_USERNAME: TEST_ADMIN.u, INFLUX_PASSWORD: TEST_ADMIN.p };
    agents.push(await startAgentProcess(agentArgs(0), { env: withAuth }), await startAgentProcess(agentArgs(1), { env: withAuth }));
    for (let waited = 0; waited < 10_000; waited += 100) {
      const document = (await (await managerFetch(`${manager.url}/clusters/modes`)).json()) as { metadata: { settings: { influxdAuth?: boolean } } | null };
      if (document.metadata?.settings.influxdAuth === true) break;
      await sleep(100);
    }
    agents.push(await startAgentProcess(agentArgs(2), { env: { CFLUX_SECRET: TEST_SECRET } }));
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await manager.stop();
    await Promise.all(influxds.map((influxd) => influxd.destroy()));
  });

  test('the cluster records auth on; the auth-off node is not ready and says why', async () => {
    const document = (await (await managerFetch(`${manager.url}/clusters/modes`)).json()) as { metadata: { settings: { influxdAuth?: boolean } } };
    assert.equal(document.metadata.settings.influxdAuth, true);
    let readiness: { ready: boolean; reasons: string[] } = { ready: true, reasons: [] };
    for (let waited = 0; waited < 10_000 && !readiness.reasons.some((reason) => /authentication off/.test(reason)); waited += 100) {
      readiness = (await (await fetch(`${agents[2]!.peerUrl}/readyz`)).json()) as typeof readiness;
      await sleep(100);
    }
    assert.equal(readiness.ready, false);
    assert.ok(readiness.reasons.some((reason) => /this node's influxd has authentication off while the cluster's influxd have it on/.test(reason)), JSON.stringify(readiness));
    for (const agent of agents.slice(0, 2)) assert.equal((await fetch(`${agent.peerUrl}/readyz`)).status, 200, 'the auth-on nodes are ready');
  });

  test("an anonymous CREATE USER ... WITH ALL PRIVILEGES through the auth-off node's proxy is refused, and no admin appears anywhere", async () => {
    const answer = await fetch(`${agents[2]!.proxyUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: "CREATE USER intruder WITH PASSWORD 'x' WITH ALL PRIVILEGES" }) });
    assert.equal(answer.status, 503);
    assert.match(((await answer.json()) as { error: string }).error, /this node does not serve: .*authentication off/);
    const write = await fetch(`${agents[2]!.proxyUrl}/write?db=anything`, { method: 'POST', body: 'm value=1' });
    assert.equal(write.status, 503, 'the write fast path is closed too');
    await sleep(500);
    for (const influxd of influxds.slice(0, 2)) assert.doesNotMatch(JSON.stringify(await influxQuery(influxd.url, 'SHOW USERS', TEST_ADMIN)), /intruder/);
    assert.doesNotMatch(JSON.stringify(await influxQuery(influxds[2]!.url, 'SHOW USERS')), /intruder/);
  });

  test('a refusing node reads a write body before its 503: a client still sending is told why, not cut off', async () => {
    const { hostname, port } = new URL(agents[2]!.proxyUrl);
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const body = Buffer.alloc(2 * 1024 * 1024, 'm value=1\n');
    socket.write(`POST /write?db=anything HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    await sleep(300);
    assert.equal(received, '', 'no answer (and no closed connection) while the body has not been sent');
    socket.write(body);
    for (let waited = 0; waited < 5000 && !received.includes('\r\n\r\n'); waited += 50) await sleep(50);
    assert.match(received, /^HTTP\/1\.1 503 /);
    assert.doesNotMatch(received, /connection: close/i, 'the connection stays usable');
    socket.destroy();
  });

  test('its peer API refuses too: other agents cannot store there behind the cluster\'s auth', async () => {
    const answer = await fetch(`${agents[2]!.peerUrl}/peer/v1/write?db=anything`, { method: 'POST', headers: { authorization: `Bearer ${TEST_PEER_TOKEN}` }, body: 'm value=1' });
    assert.equal(answer.status, 503);
    assert.match(((await answer.json()) as { error: string }).error, /peer API: this node does not serve/);
  });

  test('the legitimate path still works on the auth-on nodes', async () => {
    const created = await influxQuery(agents[0]!.proxyUrl, 'CREATE DATABASE fine', TEST_ADMIN);
    assert.deepEqual(created, { results: [{ statement_id: 0 }] });
    const anonymous = await fetch(`${agents[1]!.proxyUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE nope' }) });
    assert.equal(anonymous.status, 401);
  });
});
