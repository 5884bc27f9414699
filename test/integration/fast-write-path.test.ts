import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { influxQuery, startAuthClusterFixture, startClusterFixture, TEST_ADMIN, type ClusterFixture } from '../helpers/cluster-fixture.ts';

/** Raw HTTP/1.1 over one socket, so a test controls how the bytes are cut and pipelined. */
class RawConnection {
  readonly socket: Socket;
  #received = Buffer.alloc(0);
  #closed = false;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname, port: Number(port) });
    this.socket.on('data', (chunk: Buffer) => (this.#received = Buffer.concat([this.#received, chunk])));
    this.socket.on('close', () => (this.#closed = true));
    this.socket.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for `count` complete responses (Content-Length or no body) and returns them. */
  async responses(count: number, timeoutMs = 10_000): Promise<Array<{ status: number; headers: string; body: string }>> {
    for (let waited = 0; waited < timeoutMs; waited += 10) {
      const parsed = parseResponses(this.#received);
      if (parsed.length >= count) return parsed;
      await sleep(10);
    }
    throw new Error(`timed out; received ${JSON.stringify(this.#received.toString('latin1').slice(0, 500))}`);
  }
}

function parseResponses(bytes: Buffer): Array<{ status: number; headers: string; body: string }> {
  const out = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const headers = bytes.subarray(at, end).toString('latin1');
    const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    if (/transfer-encoding: chunked/i.test(headers)) {
      const last = bytes.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return out;
      const chunked = bytes.subarray(end + 4, last + 7).toString('utf8');
      out.push({ status: Number(headers.slice(9, 12)), headers, body: dechunk(chunked) });
      at = last + 7;
      continue;
    }
    if (bytes.length < end + 4 + length) return out;
    out.push({ status: Number(headers.slice(9, 12)), headers, body: bytes.subarray(end + 4, end + 4 + length).toString('utf8') });
    at = end + 4 + length;
  }
}

function dechunk(text: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!size) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

function writeRequest(body: string, options: { db?: string; extraHeaders?: string } = {}): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`POST /write?db=${options.db ?? 'fast'}&precision=s HTTP/1.1\r\nHost: proxy\r\nContent-Length: ${bytes.length}\r\n${options.extraHeaders ?? ''}\r\n`), bytes]);
}

describe('the write fast path (one node: the local influxd owns everything)', () => {
  let cluster: ClusterFixture;
  let proxyUrl: string;
  let influxdUrl: string;
  const fastWrites = async () => Number(/^cflux_agent_proxy_fast_writes_total (\d+)/m.exec(await (await fetch(`${cluster.agents[0]!.peerUrl}/metrics`)).text())?.[1]);
  const count = async (measurement: string) => (await influxQuery(influxdUrl, `SELECT count(value) FROM ${measurement}`, { db: 'fast' })).results[0].series?.[0]?.values[0][1] ?? 0;

  before(async () => {
    cluster = await startClusterFixture({ size: 1, etcd: false });
    proxyUrl = cluster.agents[0]!.proxyUrl;
    influxdUrl = cluster.influxds[0]!.url;
    await influxQuery(proxyUrl, 'CREATE DATABASE fast WITH REPLICATION 1');
    for (let waited = 0; waited < 5000; waited += 50) {
      if ((await influxQuery(influxdUrl, 'SHOW DATABASES')).results[0].series[0].values.flat().includes('fast')) break;
      await sleep(50);
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  test('keep-alive writes are relayed byte for byte with the ClusterFlux header; a later query on the connection still works', async () => {
    const before = await fastWrites();
    const pool = new Pool(proxyUrl, { connections: 1 });
    for (let i = 0; i < 20; i++) {
      const lines = Array.from({ length: 500 }, (_, j) => `keepalive,host=h${j % 5} value=${i * 500 + j} ${1_700_000_000 + i * 500 + j}`).join('\n');
      const response = await pool.request({ method: 'POST', path: '/write?db=fast&precision=s', body: lines });
      await response.body.text();
      assert.equal(response.statusCode, 204);
      assert.ok(response.headers['x-clusterflux-version'], 'the agent marks relayed answers');
      assert.ok(response.headers['x-influxdb-version'], "influxd's own headers come through");
    }
    assert.equal((await fastWrites()) - before, 20);
    const query = await pool.request({ method: 'GET', path: '/query?db=fast&q=SELECT%20count(value)%20FROM%20keepalive' });
    assert.equal(((await query.body.json()) as any).results[0].series[0].values[0][1], 10_000);
    await pool.close();
  });

  test('pipelined requests and heads cut into small pieces', async () => {
    const raw = new RawConnection(proxyUrl);
    const first = writeRequest('pipelined value=1 1700000001\n');
    const second = writeRequest('pipelined value=2 1700000002\n');
    raw.socket.write(Buffer.concat([first, second]));
    const third = writeRequest('pipelined value=3 1700000003\n');
    for (let at = 0; at < third.length; at += 7) {
      raw.socket.write(third.subarray(at, at + 7));
      await sleep(2);
    }
    const answers = await raw.responses(3);
    assert.deepEqual(answers.map((answer) => answer.status), [204, 204, 204]);
    assert.equal(await count('pipelined'), 3);
    raw.socket.destroy();
  });

  test("bad lines: influxd's partial write answer (also a long chunked one), valid lines stored, the connection reused", async () => {
    const raw = new RawConnection(proxyUrl);
    raw.socket.write(writeRequest('partial value=1 1700000001\nthis is not line protocol\n'));
    const [short] = await raw.responses(1);
    assert.equal(short!.status, 400);
    assert.match(JSON.parse(short!.body).error, /^partial write: unable to parse 'this is not line protocol'.* dropped=\d+$/);
    const bad = Array.from({ length: 200 }, (_, i) => `broken line number ${i} =`).join('\n');
    raw.socket.write(writeRequest(`partial value=2 1700000002\n${bad}\n`));
    const answers = await raw.responses(2);
    assert.equal(answers[1]!.status, 400);
    assert.match(answers[1]!.headers, /transfer-encoding: chunked/i, 'influxd chunks a long answer; the relay follows the chunks');
    assert.match(JSON.parse(answers[1]!.body).error, /unable to parse 'broken line number 199 ='/);
    raw.socket.write(writeRequest('partial value=3 1700000003\n'));
    assert.equal((await raw.responses(3))[2]!.status, 204);
    assert.equal(await count('partial'), 3);
    raw.socket.destroy();
  });

  test('a client that half-closes after its request gets the answer, then the connection ends', async () => {
    const raw = new RawConnection(proxyUrl);
    raw.socket.end(writeRequest('halfclosed value=1 1700000001\n'));
    assert.equal((await raw.responses(1))[0]!.status, 204);
    for (let waited = 0; waited < 2000 && !raw.closed; waited += 20) await sleep(20);
    assert.ok(raw.closed, 'closed well before the 5 s idle timeout');
    const cut = new RawConnection(proxyUrl);
    const request = writeRequest(Array.from({ length: 1000 }, (_, i) => `halfclosed value=${i} ${1_700_000_100 + i}`).join('\n'));
    cut.socket.end(request.subarray(0, request.length - 100));
    for (let waited = 0; waited < 2000 && !cut.closed; waited += 20) await sleep(20);
    assert.ok(cut.closed, 'a body cut short by a half-close ends the connection');
    await sleep(100);
    assert.equal(await count('halfclosed'), 1, 'nothing of the cut body is stored');
  });

  test('a client that goes away mid-body stores nothing and leaves the agent serving', async () => {
    const raw = new RawConnection(proxyUrl);
    const lines = Array.from({ length: 20_000 }, (_, i) => `aborted value=${i} ${1_700_000_000 + i}`).join('\n');
    const request = writeRequest(lines);
    raw.socket.write(request.subarray(0, request.length >> 1));
    await sleep(100);
    raw.socket.destroy();
    await sleep(200);
    assert.equal(await count('aborted'), 0);
    const response = await fetch(`${proxyUrl}/write?db=fast&precision=s`, { method: 'POST', body: 'aborted value=1 1700000000' });
    assert.equal(response.status, 204);
  });

  test('Expect: 100-continue and HTTP/1.0 go to the HTTP server and still work', async () => {
    const before = await fastWrites();
    const expect = new RawConnection(proxyUrl);
    const request = writeRequest('slowpath value=1 1700000001\n', { extraHeaders: 'Expect: 100-continue\r\n' });
    const headEnd = request.indexOf('\r\n\r\n') + 4;
    expect.socket.write(request.subarray(0, headEnd));
    await sleep(100);
    expect.socket.write(request.subarray(headEnd));
    const answers = await expect.responses(2); // 100 Continue, then 204
    assert.deepEqual(answers.map((answer) => answer.status), [100, 204]);
    expect.socket.destroy();

    const old = new RawConnection(proxyUrl);
    old.socket.write(writeRequest('slowpath value=2 1700000002\n').toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'));
    assert.equal((await old.responses(1))[0]!.status, 204);
    assert.equal(await count('slowpath'), 2);
    assert.equal((await fastWrites()) - before, 0, 'neither took the fast path');
  });

  test("queries on a write connection are lent to the HTTP server one at a time: like Telegraf's CREATE DATABASE, then fast writes", async () => {
    const before = await fastWrites();
    const pool = new Pool(proxyUrl, { connections: 1 });
    const query = async (method: 'GET' | 'POST', q: string, extra = '') => {
      const response = method === 'GET'
        ? await pool.request({ method, path: `/query?q=${encodeURIComponent(q)}${extra}` })
        : await pool.request({ method, path: '/query', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ q }).toString() + extra });
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    };
    const created = await query('POST', 'CREATE DATABASE lent WITH REPLICATION 1');
    assert.equal(created.status, 200);
    assert.deepEqual(JSON.parse(created.text), { results: [{ statement_id: 0 }] });
    for (let waited = 0; waited < 5000; waited += 50) {
      if ((await influxQuery(influxdUrl, 'SHOW DATABASES')).results[0].series[0].values.flat().includes('lent')) break;
      await sleep(50);
    }
    for (let i = 0; i < 5; i++) {
      const response = await pool.request({ method: 'POST', path: '/write?db=lent&precision=s', body: Array.from({ length: 200 }, (_, j) => `lentm,host=h${j % 3} value=${j} ${1_700_000_000 + i * 200 + j}`).join('\n') });
      await response.body.text();
      assert.equal(response.statusCode, 204);
      const counted = await query('GET', 'SELECT count(value) FROM lentm', '&db=lent');
      assert.equal(JSON.parse(counted.text).results[0].series[0].values[0][1], (i + 1) * 200);
    }
    const chunked = await query('GET', 'SELECT value FROM lentm', '&db=lent&chunked=true&chunk_size=100');
    const chunks = chunked.text.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(chunks.length, 10, 'influxd\'s chunks of 100 rows come through whole');
    assert.equal(chunks.reduce((sum, chunk) => sum + chunk.results[0].series[0].values.length, 0), 1000);
    const ping = await pool.request({ method: 'GET', path: '/ping' });
    await ping.body.text();
    assert.equal(ping.statusCode, 204);
    assert.ok(ping.headers['x-clusterflux-version']);
    await pool.close();
    assert.equal((await fastWrites()) - before, 5, 'every write took the fast path, between the queries');
  });

  test('one SELECT in a GET is relayed raw to influxd; DDL, two statements, INTO and POST queries go through the HTTP server, on the same connection', async () => {
    const fastQueries = async () => Number(/^cflux_agent_proxy_fast_queries_total (\d+)/m.exec(await (await fetch(`${cluster.agents[0]!.peerUrl}/metrics`)).text())?.[1]);
    const pool = new Pool(proxyUrl, { connections: 1 });
    const get = async (q: string) => {
      const response = await pool.request({ method: 'GET', path: `/query?db=fast&q=${encodeURIComponent(q)}` });
      return { status: response.statusCode, headers: response.headers, body: (await response.body.json()) as any };
    };
    const write = await pool.request({ method: 'POST', path: '/write?db=fast&precision=s', body: 'rawq value=1 1700000001\nrawq value=2 1700000002' });
    await write.body.text();
    const before = await fastQueries();
    const select = await get('SELECT sum(value) FROM rawq');
    assert.equal(select.status, 200);
    assert.equal(select.body.results[0].series[0].values[0][1], 3);
    assert.ok(select.headers['x-clusterflux-version'] && select.headers['x-influxdb-version'] && select.headers['request-id'], "influxd's answer, marked by the agent");
    assert.equal((await fastQueries()) - before, 1, 'the SELECT was relayed raw');
    // Each of these needs the agent: counted nowhere on the raw path, answered all the same.
    assert.deepEqual((await get('CREATE DATABASE rawq_ddl')).body.results[0].error, undefined);
    assert.equal((await get('SELECT sum(value) FROM rawq; SELECT count(value) FROM rawq')).body.results.length, 2);
    assert.equal((await get('SELECT sum(value) INTO rawq_sum FROM rawq')).body.results[0].series[0].values[0][1], 1);
    const post = await pool.request({ method: 'POST', path: '/query?db=fast', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=SELECT%20sum(value)%20FROM%20rawq' });
    assert.equal(((await post.body.json()) as any).results[0].series[0].values[0][1], 3);
    const parseError = await get('SELECT FROM WHERE');
    assert.equal(parseError.status, 400);
    assert.match(parseError.body.error, /^error parsing query: /);
    assert.equal((await fastQueries()) - before, 1);
    assert.equal((await get('SELECT count(value) FROM rawq')).body.results[0].series[0].values[0][1], 2, 'raw again after the others');
    assert.equal((await fastQueries()) - before, 2);
    await pool.close();
  });

  test('an unknown database and a write to split are not relayed raw', async () => {
    const before = await fastWrites();
    const response = await fetch(`${proxyUrl}/write?db=nosuchdb`, { method: 'POST', body: 'm value=1' });
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { error: string }).error, /database not found/);
    assert.equal((await fastWrites()) - before, 0);
  });

  test('influxd down: a 502 with a JSON error, and writes flow again once it is back', async () => {
    const influxd = cluster.influxds[0]!;
    await influxd.stop();
    try {
      const raw = new RawConnection(proxyUrl);
      raw.socket.write(writeRequest('outage value=1 1700000001\n'));
      const [answer] = await raw.responses(1);
      assert.equal(answer!.status, 502);
      assert.match(JSON.parse(answer!.body).error, /^proxy: /);
      assert.match(answer!.headers, /x-clusterflux-version/i);
    } finally {
      await influxd.restart();
    }
    const response = await fetch(`${proxyUrl}/write?db=fast&precision=s`, { method: 'POST', body: 'outage value=2 1700000002' });
    assert.equal(response.status, 204);
  });
});

describe('the write fast path on an auth-enabled influxd', () => {
  test("influxd judges the client's own credentials: u/p and Basic auth pass, a wrong password is influxd's 401, a big refused body closes the connection cleanly", async () => {
    const cluster = await startAuthClusterFixture(1);
    try {
      const proxy = cluster.agents[0]!.proxyUrl;
      const asAdmin = TEST_ADMIN;
      await influxQuery(proxy, 'CREATE DATABASE secured WITH REPLICATION 1', asAdmin);
      await influxQuery(proxy, "CREATE USER writer WITH PASSWORD 'wr1ter-pw'; GRANT WRITE ON secured TO writer", asAdmin);
      for (let waited = 0; waited < 5000; waited += 50) {
        const users = await influxQuery(cluster.influxds[0]!.url, 'SHOW USERS', asAdmin);
        if (JSON.stringify(users).includes('writer')) break;
        await sleep(50);
      }
      const metric = async () => Number(/^cflux_agent_proxy_fast_writes_total (\d+)/m.exec(await (await fetch(`${cluster.agents[0]!.peerUrl}/metrics`)).text())?.[1]);
      const before = await metric();

      // A connection of its own: one that began with a query (fetch's shared pool) stays on the HTTP path.
      const writes = new Pool(proxy, { connections: 1 });
      const write = async (query: string, headers: Record<string, string> = {}, value = 1) => {
        const response = await writes.request({ method: 'POST', path: `/write?db=secured&precision=s${query}`, headers, body: `authed value=${value} ${1_700_000_000 + value}` });
        return { status: response.statusCode, body: await response.body.text() };
      };
      assert.equal((await write('&u=writer&p=wr1ter-pw', {}, 1)).status, 204);
      assert.equal((await write('', { authorization: `Basic ${Buffer.from('writer:wr1ter-pw').toString('base64')}` }, 2)).status, 204);
      const wrong = await write('&u=writer&p=nope', {}, 3);
      assert.equal(wrong.status, 401);
      assert.match(JSON.parse(wrong.body).error, /authorization failed/);
      assert.equal((await write('', {}, 4)).status, 401);
      await writes.close();
      assert.equal((await metric()) - before, 4, 'all four went through the fast path');

      // influxd refuses before reading a 4 MB body: the client still gets the 401.
      const raw = new RawConnection(proxy);
      const big = Array.from({ length: 80_000 }, (_, i) => `authed value=${i} ${1_700_000_000 + i}`).join('\n');
      raw.socket.write(writeRequest(big, { db: 'secured&u=writer&p=nope' }));
      const [refused] = await raw.responses(1);
      assert.equal(refused!.status, 401);
      raw.socket.destroy();

      const stored = await influxQuery(cluster.influxds[0]!.url, 'SELECT count(value) FROM authed', { db: 'secured', ...asAdmin });
      assert.equal(stored.results[0].series[0].values[0][1], 2);
      const after = await fetch(`${proxy}/write?db=secured&precision=s&u=writer&p=wr1ter-pw`, { method: 'POST', body: 'authed value=5 1700000005' });
      assert.equal(after.status, 204, 'the agent keeps serving');
    } finally {
      await cluster.stop();
    }
  });
});
