import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startManagerProcess, type ManagerProcess, managerFetch, testDocument } from '../helpers/manager-process.ts';
import { startEtcd, type EtcdServer } from '../helpers/servers.ts';

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await managerFetch(base + path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const node = (name: string) => ({ name, hostname: name, ip: ['127.0.0.1'], 'bind-address': `127.0.0.1:${8000 + name.length}` });

/** The mod revisions of every key under `prefix`, from etcd's JSON gateway (one per transaction that wrote them). */
async function modRevisionsUnder(endpoint: string, prefix: string): Promise<Set<string>> {
  const end = Buffer.from(prefix);
  end[end.length - 1]!++;
  const response = await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64') }) });
  return new Set(((await response.json()) as { kvs?: Array<{ mod_revision: string }> }).kvs?.map((kv) => kv.mod_revision) ?? []);
}

describe('two manager replicas on one etcd', () => {
  let etcd: EtcdServer;
  let a: ManagerProcess;
  let b: ManagerProcess;
  before(async () => {
    etcd = await startEtcd();
    [a, b] = await Promise.all([
      startManagerProcess({ etcdEndpoints: [etcd.endpoint], ttl: 3 }),
      startManagerProcess({ etcdEndpoints: [etcd.endpoint], ttl: 3 }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await etcd?.destroy();
  });

  test('node ids are unique across replicas, and either replica sees every node', async () => {
    const registrations = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(i % 2 ? a.url : b.url, 'POST', '/nodes/ids', node(`n${i}`))),
    );
    assert.ok(registrations.every((r) => r.status === 201));
    assert.equal(new Set(registrations.map((r) => r.body.id)).size, 40);
    assert.equal((await call(a.url, 'GET', '/nodes/ids')).body.length, 40);
    assert.equal((await call(b.url, 'GET', '/nodes/ids')).body.length, 40);
  });

  test('registrations arriving together share etcd transactions; a name re-registered among them is replaced', async () => {
    const old = await call(a.url, 'POST', '/nodes/reg', node('r-old'));
    assert.equal(old.status, 201);
    const together = await Promise.all(Array.from({ length: 60 }, (_, i) => call(a.url, 'POST', '/nodes/reg', node(i === 30 ? 'r-old' : `r${i}`))));
    assert.ok(together.every((r) => r.status === 201), together.map((r) => r.status).join(','));
    const replaced = together[30]!.body;
    assert.notEqual(replaced.id, old.body.id);
    const listed = (await call(b.url, 'GET', '/nodes/reg')).body as Array<{ id: number; name: string }>;
    assert.equal(listed.length, 60);
    assert.deepEqual(listed.filter((n) => n.name === 'r-old').map((n) => n.id), [replaced.id]);
    assert.equal((await call(b.url, 'PUT', `/nodes/reg/${old.body.id}`)).status, 404, 'the replaced id is dead');
    // Each registration written in its own transaction would give 60 distinct revisions
    // (how many share one depends on how the lease grants come back: 32-42 transactions here).
    const transactions = (await modRevisionsUnder(etcd.endpoint, '/clusterflux/names/reg/')).size;
    assert.ok(transactions < 60, `60 registrations in ${transactions} etcd transactions`);
  });

  test('a node registered on A heartbeats through B; re-registering a name replaces it', async () => {
    const first = await call(a.url, 'POST', '/nodes/hb', node('x'));
    assert.equal((await call(b.url, 'PUT', `/nodes/hb/${first.body.id}`, { stats: { n: 1 } })).status, 200);
    const second = await call(b.url, 'POST', '/nodes/hb', node('x'));
    assert.notEqual(second.body.id, first.body.id);
    assert.equal((await call(a.url, 'PUT', `/nodes/hb/${first.body.id}`)).status, 404);
    assert.deepEqual((await call(a.url, 'GET', '/nodes/hb')).body.map((n: any) => n.id), [second.body.id]);
  });

  test('heartbeat records are rewritten many per etcd transaction, and answered without waiting for it', async () => {
    const ids = (await Promise.all(Array.from({ length: 60 }, (_, i) => call(a.url, 'POST', '/nodes/batch', node(`b${i}`))))).map((r) => r.body.id as number);
    // TTL 3 s: a record is due for a rewrite 1.5 s after it was written.
    await sleep(1600);
    const beats = await Promise.all(ids.map((id) => call(a.url, 'PUT', `/nodes/batch/${id}`, { stats: { beat: id } })));
    assert.ok(beats.every((r) => r.status === 200));
    let listed: any[] = [];
    for (let i = 0; i < 50 && (listed.length !== 60 || !listed.every((n) => n.stats?.beat === n.id)); i++) {
      await sleep(100);
      listed = (await call(b.url, 'GET', '/nodes/batch')).body;
    }
    assert.ok(listed.length === 60 && listed.every((n) => n.stats?.beat === n.id), `every record carries its heartbeat stats: ${JSON.stringify(listed.slice(0, 2))}`);
    // Records written in one transaction share its revision: 60 written one by one would have 60.
    const transactions = (await modRevisionsUnder(etcd.endpoint, '/clusterflux/nodes/batch/')).size;
    assert.ok(transactions <= 10, `60 record rewrites in ${transactions} etcd transactions`);
  });

  test('CAS conflict across replicas: the second writer on the same version gets 409', async () => {
    assert.deepEqual((await call(a.url, 'POST', '/clusters/cas/versions/0', testDocument({ from: 'a' }))).body, { version: 1 });
    const conflict = await call(b.url, 'POST', '/clusters/cas/versions/0', testDocument({ from: 'b' }));
    assert.equal(conflict.status, 409);
    assert.deepEqual(conflict.body, { version: 1, metadata: testDocument({ from: 'a' }) });
    const racing = await Promise.all([a, b, a, b].map((m, i) => call(m.url, 'POST', '/clusters/cas/versions/1', testDocument({ i }))));
    assert.deepEqual(racing.map((r) => r.status).sort(), [200, 409, 409, 409]);
  });

  test('a long-poll on A is woken by a write on B within 100 ms', async () => {
    await call(a.url, 'POST', '/clusters/wake/versions/0', testDocument({ n: 1 }));
    const delays: number[] = [];
    for (let version = 1; version <= 5; version++) {
      const waiting = call(a.url, 'GET', `/clusters/wake/versions/${version}?timeout=10`).then((reply) => ({ reply, at: Date.now() }));
      await sleep(150);
      const written = await call(b.url, 'POST', `/clusters/wake/versions/${version}`, testDocument({ n: version + 1 }));
      const wroteAt = Date.now();
      assert.equal(written.status, 200);
      const { reply, at } = await waiting;
      assert.deepEqual(reply.body, { version: version + 1, metadata: testDocument({ n: version + 1 }) });
      delays.push(at - wroteAt);
    }
    delays.sort((x, y) => x - y);
    assert.ok(delays[2]! <= 100, `median wake-up ${delays[2]} ms after the write (all: ${delays.join(', ')})`);
  });

  test('with a 3 s TTL a silent node is alive=false within TTL + 1 s, seen by both replicas', async () => {
    const silent = await call(a.url, 'POST', '/nodes/ttl', node('silent'));
    const registeredAt = Date.now();
    let aliveOnB = true;
    while (Date.now() - registeredAt < 4000) {
      const listed = await call(b.url, 'GET', '/nodes/ttl');
      aliveOnB = listed.body.find((n: any) => n.id === silent.body.id).alive;
      if (!aliveOnB) break;
      await sleep(100);
    }
    assert.equal(aliveOnB, false, 'still alive 4 s after registration');
    assert.ok(Date.now() - registeredAt >= 2500, 'expired before its TTL');
    assert.equal((await call(a.url, 'GET', '/nodes/ttl')).body[0].alive, false);
    assert.equal((await call(a.url, 'PUT', `/nodes/ttl/${silent.body.id}`)).status, 404, 'an expired node must register again');
  });

  test('both managers are listed under cflux; SIGTERM answers open polls with 204 and revokes the lease', async () => {
    assert.equal((await call(a.url, 'GET', '/nodes')).body.cflux.length, 2);
    await call(a.url, 'POST', '/clusters/stop/versions/0', testDocument());
    const open = call(b.url, 'GET', '/clusters/stop/versions/1?timeout=60');
    await sleep(100);
    const code = await b.stop();
    assert.equal(code, 0);
    assert.equal((await open).status, 204);
    const managers = (await call(a.url, 'GET', '/nodes')).body.cflux;
    assert.deepEqual(managers.map((m: any) => m.pid), [a.pid]);
  });
});

describe('etcd outage', () => {
  let etcd: EtcdServer;
  let manager: ManagerProcess;
  before(async () => {
    etcd = await startEtcd();
    manager = await startManagerProcess({ etcdEndpoints: [etcd.endpoint] });
  });
  after(async () => {
    await manager?.stop();
    await etcd?.destroy();
  });

  test('requests get 503 with a JSON error while etcd is down, and work again when it returns', async () => {
    const before = await call(manager.url, 'POST', '/nodes/outage', node('n1'));
    assert.equal(before.status, 201);
    const inFlight = call(manager.url, 'GET', '/clusters/outage/versions/0?timeout=30');
    await etcd.kill('SIGKILL');
    for (const [method, path, body] of [
      ['GET', '/nodes/outage', undefined],
      ['POST', '/nodes/outage', node('n2')],
      ['PUT', `/nodes/outage/${before.body.id}`, undefined],
      ['POST', '/clusters/outage/versions/0', testDocument()],
      ['GET', '/health', undefined],
    ] as const) {
      const started = Date.now();
      const reply = await call(manager.url, method, path, body);
      assert.equal(reply.status, 503, `${method} ${path}`);
      assert.match(reply.body.error, /etcd|unavailable/i);
      assert.ok(Date.now() - started < 15_000, `${method} ${path} took ${Date.now() - started} ms`);
    }
    await etcd.restart();
    let health = 0;
    for (let i = 0; i < 100 && health !== 200; i++) {
      await sleep(200);
      health = (await call(manager.url, 'GET', '/health')).status;
    }
    assert.equal(health, 200, 'manager did not recover after etcd came back');
    assert.equal((await call(manager.url, 'PUT', `/nodes/outage/${before.body.id}`)).status, 200, 'lease survived the short outage');
    assert.equal((await call(manager.url, 'POST', '/clusters/outage/versions/0', testDocument({ back: true }))).status, 200);
    const poll = await inFlight;
    assert.ok(poll.status === 200 || poll.status === 503, `in-flight poll answered ${poll.status}`);
  });
});
