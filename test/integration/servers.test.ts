// Integration test of the test helpers themselves: real influxd and etcd
// processes, restarts with data kept, and the TCP fault proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { startEtcd, startEtcdCluster, startInfluxd } from '../helpers/servers.ts';
import { startTcpFaultProxy } from '../helpers/tcp-fault-proxy.ts';

const execFileP = promisify(execFile);

async function influxQuery(
  url: string,
  q: string,
  init: { db?: string; auth?: { username: string; password: string } } = {},
): Promise<{ status: number; json: unknown }> {
  const params = new URLSearchParams({ q });
  if (init.db) params.set('db', init.db);
  const headers: Record<string, string> = {};
  if (init.auth) {
    headers['authorization'] =
      'Basic ' + Buffer.from(`${init.auth.username}:${init.auth.password}`).toString('base64');
  }
  const res = await fetch(`${url}/query`, { method: 'POST', body: params, headers });
  return { status: res.status, json: await res.json() };
}

async function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP('etcdctl', [`--endpoints=${endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 10_000,
  });
  return stdout;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('influxd: write, query, restart keeps data', async (t) => {
  const influx = await startInfluxd();
  t.after(() => influx.destroy());
  t.diagnostic(`influxd ready in ${influx.readyMs} ms on ${influx.url} (pid ${influx.pid})`);
  assert.match(influx.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  let r = await influxQuery(influx.url, 'CREATE DATABASE t');
  assert.equal(r.status, 200);
  const w = await fetch(`${influx.url}/write?db=t&precision=s`, {
    method: 'POST',
    body: 'cpu,host=a value=42 1700000000',
  });
  assert.equal(w.status, 204, await w.text());

  const select = 'SELECT value FROM cpu';
  const expected = [{ results: [{ statement_id: 0, series: [{ name: 'cpu', columns: ['time', 'value'], values: [['2023-11-14T22:13:20Z', 42]] }] }] }];
  r = await influxQuery(influx.url, select, { db: 't' });
  assert.deepEqual([r.json], expected);

  const oldPid = influx.pid;
  await influx.restart();
  t.diagnostic(`influxd restarted in ${influx.readyMs} ms`);
  assert.notEqual(influx.pid, oldPid);
  assert.equal(influx.running, true);
  r = await influxQuery(influx.url, select, { db: 't' });
  assert.deepEqual([r.json], expected);

  // stop() is idempotent and keeps the directory.
  await influx.stop();
  await influx.stop();
  assert.equal(influx.running, false);
  await access(influx.dir);
  await assert.rejects(fetch(`${influx.url}/ping`));
});

test('influxd with auth creates the admin user', async (t) => {
  const influx = await startInfluxd({ auth: true, adminUser: 'root', adminPassword: "p'w" });
  t.after(() => influx.destroy());
  const anon = await influxQuery(influx.url, 'SHOW DATABASES');
  assert.equal(anon.status, 401);
  const authed = await influxQuery(influx.url, 'SHOW USERS', { auth: influx.admin! });
  assert.equal(authed.status, 200);
  assert.match(JSON.stringify(authed.json), /"root",true/);
});

test('etcd: put, get, restart keeps data', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.destroy());
  t.diagnostic(`etcd ready in ${etcd.readyMs} ms on ${etcd.endpoint} (pid ${etcd.pid})`);

  await etcdctl(etcd.endpoint, 'put', '/cflux/test', 'hello');
  assert.equal(await etcdctl(etcd.endpoint, 'get', '--print-value-only', '/cflux/test'), 'hello\n');

  // The v3 HTTP gateway works as well.
  const put = await fetch(`${etcd.endpoint}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/cflux/gw'), value: b64('via-gateway') }),
  });
  assert.equal(put.status, 200, await put.text());

  await etcd.restart();
  t.diagnostic(`etcd restarted in ${etcd.readyMs} ms`);
  assert.equal(await etcdctl(etcd.endpoint, 'get', '--print-value-only', '/cflux/test'), 'hello\n');
  const range = await fetch(`${etcd.endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/cflux/gw') }),
  });
  const body = (await range.json()) as { kvs?: Array<{ value: string }> };
  assert.equal(Buffer.from(body.kvs?.[0]?.value ?? '', 'base64').toString(), 'via-gateway');

  await etcd.kill();
  assert.equal(etcd.running, false);
  await etcd.stop(); // safe after kill
});

test('etcd cluster of 3: all members healthy, a member restarts', async (t) => {
  const t0 = performance.now();
  const cluster = await startEtcdCluster(3);
  t.after(() => cluster.destroy());
  t.diagnostic(`etcd cluster of 3 ready in ${Math.round(performance.now() - t0)} ms`);
  assert.equal(cluster.endpoints.length, 3);
  await etcdctl(cluster.endpoints.join(','), 'put', 'k', 'v');
  const m2 = cluster.members[1]!;
  await m2.stop();
  assert.equal(await etcdctl(cluster.endpoints[0]!, 'get', '--print-value-only', 'k'), 'v\n');
  await m2.restart();
  assert.equal(await etcdctl(m2.endpoint, 'get', '--print-value-only', 'k'), 'v\n');
  await cluster.stop();
  await cluster.stop();
});

test('tcp fault proxy in front of influxd: pass, refuse, blackhole', async (t) => {
  const influx = await startInfluxd();
  t.after(() => influx.destroy());
  const proxy = await startTcpFaultProxy({ host: '127.0.0.1', port: influx.port });
  t.after(() => proxy.close());

  const ping = (timeoutMs = 2000): Promise<Response> =>
    fetch(`${proxy.url}/ping`, { signal: AbortSignal.timeout(timeoutMs) });

  assert.equal((await ping()).status, 204);

  proxy.setMode('refuse');
  await assert.rejects(ping());

  proxy.setMode('pass');
  assert.equal((await ping()).status, 204);

  proxy.setMode('blackhole');
  await assert.rejects(ping(300), { name: 'TimeoutError' });

  proxy.setMode('pass');
  assert.equal((await ping()).status, 204);

  proxy.cutConnections();
  assert.equal(proxy.connections, 0);
  assert.equal((await ping()).status, 204);

  await proxy.close();
  await proxy.close();
  await assert.rejects(ping());
});

test('missing binary gives an actionable error', async () => {
  const saved = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    await assert.rejects(startInfluxd(), /ensure-servers\.sh/);
    await assert.rejects(startEtcd(), /etcd-server/);
  } finally {
    process.env['PATH'] = saved;
  }
});
