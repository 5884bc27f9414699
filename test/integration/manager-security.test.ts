import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { influxQuery, startClusterFixture, TEST_SECRET, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { cleanEnv, startManagerProcess, TEST_MANAGER_TOKEN, type ManagerProcess } from '../helpers/manager-process.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));
const AGENT_TOKEN = 'test-agent-token-abcdefghijklmnop';

async function call(manager: ManagerProcess, method: string, path: string, options: { token?: string; basic?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.basic !== undefined) headers['authorization'] = `Basic ${Buffer.from(options.basic).toString('base64')}`;
  const response = await fetch(manager.url + path, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text (metrics)
  }
  return { status: response.status, body, headers: response.headers };
}

const registration = (name: string, bindAddress: string) => ({ name, hostname: 'h', ip: ['127.0.0.1'], 'bind-address': bindAddress });

describe('manager authentication (operator token, agent token)', () => {
  let manager: ManagerProcess;
  before(async () => {
    manager = await startManagerProcess({ env: { CFLUX_AGENT_TOKEN: AGENT_TOKEN }, ttl: 2 });
  });
  after(() => manager.stop());

  test('every endpoint but /health answers 401 with a JSON error to no token and to a wrong token', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/nodes'],
      ['GET', '/nodes/sec'],
      ['POST', '/nodes/sec', registration('evil', '10.6.6.6:8888')],
      ['PUT', '/nodes/sec/1', { stats: {} }],
      ['DELETE', '/nodes/sec/1'],
      ['GET', '/clusters/sec'],
      ['GET', '/clusters/sec/versions/0?timeout=0'],
      ['POST', '/clusters/sec/versions/0', { format: 1, databases: {}, users: {}, settings: { replicationFactor: 2, dataMembers: [], pins: {} } }],
      ['GET', '/clusters/sec/history'],
      ['GET', '/metrics'],
    ];
    for (const [method, path, body] of calls) {
      for (const token of [undefined, 'wrong-token-wrong-token-wrong']) {
        const answer = await call(manager, method, path, { ...(token ? { token } : {}), ...(body ? { body } : {}) });
        assert.equal(answer.status, 401, `${method} ${path} with ${token ?? 'no token'}`);
        assert.match(answer.body.error, /missing or wrong token/);
        assert.match(answer.headers.get('www-authenticate') ?? '', /Basic realm="ClusterFlux manager"/);
      }
    }
    assert.equal((await call(manager, 'GET', '/clusters/sec', { token: TEST_MANAGER_TOKEN })).body.version, 0, 'nothing was written by the refused calls');
    assert.deepEqual((await call(manager, 'GET', '/nodes/sec', { token: TEST_MANAGER_TOKEN })).body, []);
    assert.equal((await call(manager, 'GET', '/health')).status, 200);
  });

  test('a browser signs in with HTTP Basic: any user name, the token as password', async () => {
    assert.equal((await call(manager, 'GET', '/nodes', { basic: `anyone:${TEST_MANAGER_TOKEN}` })).status, 200);
    assert.equal((await call(manager, 'GET', '/nodes', { basic: 'anyone:not-the-token' })).status, 401);
  });

  test('the agent token registers, heartbeats with its node key, reads and writes the document; it may not touch other nodes', async () => {
    const mine = await call(manager, 'POST', '/nodes/agents', { token: AGENT_TOKEN, body: registration('a-1', '127.0.0.1:18001') });
    assert.equal(mine.status, 201);
    const key = mine.body['node-key'];
    assert.equal(typeof key, 'string');
    const other = await call(manager, 'POST', '/nodes/agents', { token: AGENT_TOKEN, body: registration('a-2', '127.0.0.1:18002') });
    const listed = await call(manager, 'GET', '/nodes/agents', { token: AGENT_TOKEN });
    assert.ok(listed.body.every((node: Record<string, unknown>) => !('node-key' in node)), 'node keys are never listed');

    const beat = (id: number, nodeKey: string | undefined, name: string) =>
      call(manager, 'PUT', `/nodes/agents/${id}`, { token: AGENT_TOKEN, body: { name, stats: {} }, ...(nodeKey ? { headers: { 'x-cflux-node-key': nodeKey } } : {}) });
    assert.equal((await beat(mine.body.id, key, 'a-1')).status, 200);
    assert.equal((await beat(other.body.id, key, 'a-2')).status, 404, "another node's heartbeat with my key");
    assert.equal((await beat(other.body.id, undefined, 'a-2')).status, 404, 'a heartbeat without a node key');
    assert.equal((await call(manager, 'PUT', `/nodes/agents/${mine.body.id}`, { token: TEST_MANAGER_TOKEN, body: { name: 'a-2' } })).status, 404, 'a heartbeat naming another node than the id holds');

    const removeOther = await call(manager, 'DELETE', `/nodes/agents/${other.body.id}`, { token: AGENT_TOKEN });
    assert.equal(removeOther.status, 403);
    assert.match(removeOther.body.error, /needs the manager \(operator\) token/);
    assert.equal((await call(manager, 'DELETE', `/nodes/agents/${mine.body.id}`, { token: AGENT_TOKEN, headers: { 'x-cflux-node-key': key } })).status, 204, 'its own node, with its key');
    assert.equal((await call(manager, 'DELETE', `/nodes/agents/${other.body.id}`, { token: TEST_MANAGER_TOKEN })).status, 204, 'the operator removes any node');

    const document = { format: 1, revision: 1, databases: {}, users: {}, settings: { replicationFactor: 2, dataMembers: [], pins: {} } };
    assert.equal((await call(manager, 'POST', '/clusters/agents/versions/0', { token: AGENT_TOKEN, body: document })).status, 200);
    assert.equal((await call(manager, 'GET', '/clusters/agents', { token: AGENT_TOKEN })).body.version, 1);
  });

  test("a live node's name cannot be taken from another address with the agent token; the operator can; after its TTL anyone with a token can", async () => {
    const victim = await call(manager, 'POST', '/nodes/takeover', { token: AGENT_TOKEN, body: registration('db-1', '127.0.0.1:18101') });
    const stolen = await call(manager, 'POST', '/nodes/takeover', { token: AGENT_TOKEN, body: registration('db-1', '10.6.6.6:8888') });
    assert.equal(stolen.status, 403);
    assert.match(stolen.body.error, /node name "db-1" is held by a live node at 127\.0\.0\.1:18101/);
    const listed = await call(manager, 'GET', '/nodes/takeover', { token: TEST_MANAGER_TOKEN });
    assert.deepEqual(listed.body.map((node: Record<string, unknown>) => [node['id'], node['bind-address']]), [[victim.body.id, '127.0.0.1:18101']]);
    // The same node coming back from its own address (an agent restart) is fine.
    assert.equal((await call(manager, 'POST', '/nodes/takeover', { token: AGENT_TOKEN, body: registration('db-1', '127.0.0.1:18101') })).status, 201);
    assert.equal((await call(manager, 'POST', '/nodes/takeover', { token: TEST_MANAGER_TOKEN, body: registration('db-1', '127.0.0.1:18102') })).status, 201, 'the operator moves a node');
    await sleep(2500); // the manager's TTL here is 2 s
    assert.equal((await call(manager, 'POST', '/nodes/takeover', { token: AGENT_TOKEN, body: registration('db-1', '127.0.0.1:18103') })).status, 201, 'a dead name is free');
  });
});

describe('manager settings', () => {
  test('the manager refuses to start without a token unless --insecure, which it logs loudly', async () => {
    const refused = await run(process.execPath, [CFLUX, 'manager', '--listen', '127.0.0.1:0'], { env: cleanEnv(), cwd: tmpdir() }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((refused as { code: number }).code, 2);
    assert.match((refused as { stderr: string }).stderr, /^cflux manager: missing setting CFLUX_MANAGER_TOKEN \(environment\) or --manager-token-file.*--insecure/);
    assert.equal((refused as { stderr: string }).stderr.trim().split('\n').length, 1);
    const short = await run(process.execPath, [CFLUX, 'manager'], { env: { ...cleanEnv(), CFLUX_MANAGER_TOKEN: 'short' }, cwd: tmpdir() }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((short as { code: number }).code, 2);
    assert.match((short as { stderr: string }).stderr, /CFLUX_MANAGER_TOKEN \(environment\): the manager token needs at least 16 characters/);

    const insecure = await startManagerProcess({ env: { CFLUX_MANAGER_TOKEN: '' }, extraArgs: ['--insecure'] });
    try {
      assert.ok(insecure.logLines.some((line) => /"level":40.*INSECURE: the manager runs without a token/.test(line)), insecure.logLines.join('\n'));
      assert.equal((await fetch(`${insecure.url}/nodes`)).status, 200, 'anyone may call an insecure manager');
    } finally {
      await insecure.stop();
    }
  });
});

describe('attacks through the manager against a running cluster (agents use the agent token)', () => {
  let cluster: ClusterFixture;
  let fakePeer: Server;
  const received: Buffer[] = [];
  before(async () => {
    fakePeer = createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
    await new Promise<void>((resolve) => fakePeer.listen(0, '127.0.0.1', resolve));
    cluster = await startClusterFixture({
      size: 2,
      etcd: false,
      managerEnv: { CFLUX_AGENT_TOKEN: AGENT_TOKEN },
      agentEnv: { CFLUX_SECRET: TEST_SECRET, CFLUX_AGENT_TOKEN: AGENT_TOKEN, CFLUX_MANAGER_TOKEN: '' },
    });
  });
  after(async () => {
    await cluster.stop();
    fakePeer.close();
  });

  test("re-registering a node's name at an attacker's address fails, and peer writes (with the peer token and the client's credentials) keep going to the real node", async () => {
    const fakeAddress = `127.0.0.1:${(fakePeer.address() as { port: number }).port}`;
    const attempt = (token?: string) =>
      fetch(`${cluster.manager.url}/nodes/fixture`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: JSON.stringify(registration('node-1', fakeAddress)) });
    assert.equal((await attempt()).status, 401, 'anonymous');
    assert.equal((await attempt(AGENT_TOKEN)).status, 403, 'with the agent token');

    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE stolen WITH REPLICATION 2');
    await sleep(300);
    const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=stolen&consistency=all&u=client&p=client-password`, { method: 'POST', body: Array.from({ length: 100 }, (_, i) => `m value=${i} ${i}`).join('\n') });
    assert.equal(written.status, 204, await written.text());
    await sleep(300);
    assert.equal(Buffer.concat(received).length, 0, 'the fake peer received nothing');
    const onNode1 = await influxQuery(cluster.influxds[1]!.url, 'SELECT count(value) FROM m', { db: 'stolen' });
    assert.equal(onNode1.results[0].series[0].values[0][1], 100, 'the real node-1 has the data');
  });
});
