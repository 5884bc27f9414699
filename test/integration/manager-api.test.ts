import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startManagerProcess, type ManagerProcess, managerFetch, TEST_MANAGER_TOKEN, testDocument } from '../helpers/manager-process.ts';

let manager: ManagerProcess;
before(async () => {
  manager = await startManagerProcess();
});
after(async () => {
  await manager?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await managerFetch(manager.url + path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const node = (name: string) => ({ name, hostname: `${name}-host`, ip: ['127.0.0.1', '::1'], 'bind-address': '127.0.0.1:8888', 'proxy-address': '127.0.0.1:8087', version: '1.6.7', stats: {} });

describe('manager API on the memory store', () => {
  test('register → 201 with id, ttl and the node; listed; heartbeat; deregister → 204', async () => {
    const created = await call('POST', '/nodes/api-a', node('n1'));
    assert.equal(created.status, 201);
    assert.ok(created.body.id > 0);
    assert.equal(created.body.cluster, 'api-a');
    assert.equal(created.body.ttl, 15);
    assert.equal(created.body['bind-address'], '127.0.0.1:8888');
    assert.deepEqual(created.body.ip, ['127.0.0.1', '::1']);
    const listed = await call('GET', '/nodes/api-a');
    assert.deepEqual(listed.body.map((n: any) => [n.id, n.name, n.hostname, n.alive]), [[created.body.id, 'n1', 'n1-host', true]]);
    const beat = await call('PUT', `/nodes/api-a/${created.body.id}`, { stats: { load1: 0.2 } });
    assert.equal(beat.status, 200);
    assert.deepEqual(beat.body.stats, { load1: 0.2 });
    assert.equal((await call('PUT', `/nodes/api-a/${created.body.id}`)).status, 200, 'a heartbeat body is optional');
    assert.equal((await call('DELETE', `/nodes/api-a/${created.body.id}`)).status, 204);
    assert.equal((await call('DELETE', `/nodes/api-a/${created.body.id}`)).status, 404);
    assert.deepEqual((await call('GET', '/nodes/api-a')).body, []);
  });

  test('GET /nodes lists managers under cflux and nodes of every cluster under influx', async () => {
    await call('POST', '/nodes/api-b1', node('x'));
    await call('POST', '/nodes/api-b2', node('y'));
    const all = await call('GET', '/nodes');
    assert.equal(all.body.cflux.length, 1);
    assert.equal(all.body.cflux[0].pid, manager.pid);
    const clusters = all.body.influx.map((n: any) => n.cluster);
    assert.ok(clusters.includes('api-b1') && clusters.includes('api-b2'));
  });

  test('cluster names with spaces, slashes and unicode round-trip through every call', async () => {
    const name = 'prod eu/west ☃ 100%';
    const path = encodeURIComponent(name);
    const created = await call('POST', `/nodes/${path}`, node('n'));
    assert.equal(created.body.cluster, name);
    assert.equal((await call('PUT', `/nodes/${path}/${created.body.id}`)).status, 200);
    assert.equal((await call('GET', `/nodes/${path}`)).body[0].cluster, name);
    assert.deepEqual((await call('POST', `/clusters/${path}/versions/0`, testDocument({ a: 1 }))).body, { version: 1 });
    assert.deepEqual((await call('GET', `/clusters/${path}/versions/0`)).body, { version: 1, metadata: testDocument({ a: 1 }) });
    assert.equal((await call('GET', `/clusters/${path}/history`)).body[0].version, 1);
    assert.equal((await call('GET', `/clusters/${encodeURIComponent('other/name')}/history`)).body.length, 0);
    assert.equal((await call('DELETE', `/nodes/${path}/${created.body.id}`)).status, 204);
    const tooLong = encodeURIComponent('x'.repeat(129));
    assert.equal((await call('GET', `/nodes/${tooLong}`)).status, 400);
    assert.equal((await call('GET', `/nodes/${encodeURIComponent('a\tb')}`)).status, 400);
  });

  test('bad input: 400 malformed JSON or fields, 404 unknown id or endpoint, 405, 413', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/nodes/api-c', '{"name": ', 400],
      ['POST', '/nodes/api-c', '[1,2]', 400],
      ['POST', '/nodes/api-c', { name: 'n' }, 400],
      ['PUT', '/nodes/api-c/abc', undefined, 400],
      ['PUT', '/nodes/api-c/424242', undefined, 404],
      ['DELETE', '/nodes/api-c/424242', undefined, 404],
      ['GET', '/clusters/api-c/versions/minus-one', undefined, 400],
      ['GET', '/clusters/api-c/versions/0?timeout=soon', undefined, 400],
      ['POST', '/clusters/api-c/versions/0', '"a string"', 400],
      ['POST', '/clusters/api-c/versions/0', 'not json', 400],
      ['GET', '/no/such/thing', undefined, 404],
      ['PATCH', '/nodes/api-c', undefined, 405],
      ['POST', '/nodes/api-c', { name: 'n', 'bind-address': 'a:1', stats: { big: 'x'.repeat(5 * 1024 * 1024) } }, 413],
    ];
    for (const [method, path, body, status] of cases) {
      const reply = await call(method, path, body);
      assert.equal(reply.status, status, `${method} ${path}`);
      assert.equal(typeof reply.body.error, 'string', `${method} ${path} answers a JSON error`);
    }
    assert.equal((await call('GET', '/health')).status, 200, 'still serving after bad input');
  });

  test('a body far over the limit announced by Content-Length is refused before it is read', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(manager.url + '/nodes/api-d', { method: 'POST', headers: { 'content-length': String(100 * 1024 * 1024), authorization: `Bearer ${TEST_MANAGER_TOKEN}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"name":');
    });
    assert.equal(status, 413);
  });

  test('garbage on the socket gets a 400 and the server keeps serving', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(manager.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.equal((await call('GET', '/health')).status, 200);
  });

  test('CAS: version 0 creates, a stale version gets 409 with the newest document', async () => {
    assert.deepEqual((await call('GET', '/clusters/api-e')).body, { version: 0, metadata: null });
    assert.deepEqual((await call('POST', '/clusters/api-e/versions/0', testDocument({ tag: 'a' }))).body, { version: 1 });
    const conflict = await call('POST', '/clusters/api-e/versions/0', testDocument({ tag: 'b' }));
    assert.equal(conflict.status, 409);
    assert.deepEqual(conflict.body, { version: 1, metadata: testDocument({ tag: 'a' }) });
    assert.deepEqual((await call('POST', '/clusters/api-e/versions/1', testDocument({ tag: 'c' }))).body, { version: 2 });
    const history = await call('GET', '/clusters/api-e/history');
    assert.deepEqual(history.body.map((h: any) => h.version), [2, 1]);
  });

  test('long-poll: answers at once on another version, 204 on timeout, wakes on a write', async () => {
    await call('POST', '/clusters/api-f/versions/0', testDocument({ n: 1 }));
    assert.deepEqual((await call('GET', '/clusters/api-f/versions/0')).body, { version: 1, metadata: testDocument({ n: 1 }) });
    assert.deepEqual((await call('GET', '/clusters/api-f/versions/7')).body, { version: 1, metadata: testDocument({ n: 1 }) }, 'an agent ahead of the manager is answered at once');
    const started = Date.now();
    assert.equal((await call('GET', '/clusters/api-f/versions/1?timeout=0.3')).status, 204);
    assert.ok(Date.now() - started >= 250);
    const waiting = call('GET', '/clusters/api-f/versions/1?timeout=10');
    await sleep(100);
    const wrote = Date.now();
    await call('POST', '/clusters/api-f/versions/1', testDocument({ n: 2 }));
    const woken = await waiting;
    assert.deepEqual(woken.body, { version: 2, metadata: testDocument({ n: 2 }) });
    assert.ok(Date.now() - wrote < 100, `woken ${Date.now() - wrote} ms after the write`);
  });

  test('abandoned long-polls free their waiters', async () => {
    const openPolls = async () => Number(/cflux_manager_open_long_polls (\d+)/.exec(await (await managerFetch(manager.url + '/metrics')).text())?.[1]);
    const controllers = Array.from({ length: 500 }, () => new AbortController());
    const polls = controllers.map((c) => managerFetch(manager.url + '/clusters/api-g/versions/0?timeout=60', { signal: c.signal }).catch(() => undefined));
    for (let i = 0; i < 50 && (await openPolls()) < 500; i++) await sleep(50);
    assert.equal(await openPolls(), 500);
    for (const c of controllers) c.abort();
    await Promise.all(polls);
    for (let i = 0; i < 50 && (await openPolls()) > 0; i++) await sleep(50);
    assert.equal(await openPolls(), 0);
  });

  test('metrics count requests by route and status', async () => {
    await call('PUT', '/nodes/api-h/999');
    const text = await (await managerFetch(manager.url + '/metrics')).text();
    assert.match(text, /cflux_manager_http_requests_total\{route="\/nodes\/:cluster\/:id",method="PUT",status="404"\} \d+/);
    assert.match(text, /cflux_manager_metadata_cas_conflicts_total \d+/);
    assert.match(text, /cflux_manager_nodes\{cluster="api-b1",alive="true"\} 1/);
  });
});

describe('the manager refuses malformed cluster documents', () => {
  test('400 naming the field; nothing is stored', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...testDocument(), databases: 'x' }, /at databases: /],
      [{ ...testDocument(), users: null }, /at users: /],
      [{ format: 1, databases: {}, users: {} }, /at settings: /],
      [testDocument({ databases: { db: { retentionPolicies: {}, defaultRetentionPolicy: null, continuousQueries: { cq: { name: 'cq', query: "CREATE USER x WITH PASSWORD 'pw' WITH ALL PRIVILEGES" } } } } }), /continuousQueries\["cq"\]\.query: .*CREATE CONTINUOUS QUERY/],
      [testDocument({ settings: { replicationFactor: 0, dataMembers: [], pins: {} } }), /settings\.replicationFactor/],
    ];
    for (const [document, field] of bad) {
      const answer = await call('POST', '/clusters/api-bad/versions/0', document);
      assert.equal(answer.status, 400, JSON.stringify(document));
      assert.match(answer.body.error, /^invalid cluster document at /);
      assert.match(answer.body.error, field);
    }
    assert.deepEqual((await call('GET', '/clusters/api-bad')).body, { version: 0, metadata: null });
  });
});
