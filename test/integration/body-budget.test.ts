// --max-buffered-bodies: the proxy reads a write's body whole before it goes
// to its owners, so the bodies held at once are bounded across connections.
// Two data members, RF 2 (every write is buffered), a 1 MiB budget: a client
// sending a 900 KB body slowly holds its room; a second 900 KB write waits,
// unread, until the first one ends; then both are stored whole.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';

let cluster: ClusterFixture;

before(async () => {
  cluster = await startClusterFixture({ size: 2, etcd: false, agentArgs: ['--max-buffered-bodies', String(1024 * 1024)] });
  assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE bb WITH REPLICATION 2')).results[0].error, undefined);
});
after(async () => {
  await cluster?.stop();
});

/** A body of about 900 KB: points of measurement `m`. */
function body(m: string): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 900_000; i++) {
    const line = `${m},host=h${i % 7} value=${i}i ${1_700_000_000_000 + i}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n'));
}

const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${cluster.agents[0]!.peerUrl}/metrics`)).text())?.[1]);

test('a write that does not fit in --max-buffered-bodies waits unread until room is released; both are stored whole', async () => {
  const slow = body('slow');
  const waiting = body('waiting');
  const { port } = new URL(cluster.agents[0]!.proxyUrl);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(`POST /write?db=bb&precision=ms&consistency=all HTTP/1.1\r\nHost: x\r\nContent-Length: ${slow.length}\r\nConnection: close\r\n\r\n`);
  socket.write(slow.subarray(0, 100_000));
  for (let waited = 0; (await metric('cflux_agent_proxy_buffered_body_bytes')) < slow.length; waited += 50) {
    assert.ok(waited < 5000, 'the slow body holds its room');
    await sleep(50);
  }

  let second: Response | undefined;
  const sent = fetch(`${cluster.agents[0]!.proxyUrl}/write?db=bb&precision=ms&consistency=all`, { method: 'POST', body: waiting }).then((response) => (second = response));
  for (let waited = 0; (await metric('cflux_agent_proxy_body_waiting_requests')) !== 1; waited += 50) {
    assert.ok(waited < 5000, 'the second write waits for room');
    await sleep(50);
  }
  // Requests without a body do not wait behind it.
  assert.equal((await fetch(`${cluster.agents[0]!.proxyUrl}/ping`)).status, 204);
  const databases = (await (await fetch(`${cluster.agents[0]!.proxyUrl}/query?q=SHOW%20DATABASES`)).json()) as { results: Array<{ series: Array<{ values: string[][] }> }> };
  assert.ok(databases.results[0]!.series[0]!.values.flat().includes('bb'), 'a GET query is answered');
  await sleep(500);
  assert.equal(second, undefined, 'not answered while the first body holds the room');
  assert.equal(await metric('cflux_agent_proxy_buffered_body_bytes'), slow.length, 'the waiting body is not read');

  socket.write(slow.subarray(100_000));
  await closed; // Connection: close: the agent closes once it answered
  assert.match(answer, /^HTTP\/1\.1 204 /);
  await sent;
  assert.equal(second!.status, 204, await second!.text());
  assert.equal(await metric('cflux_agent_proxy_buffered_body_bytes'), 0);
  assert.equal(await metric('cflux_agent_proxy_body_waiting_requests'), 0);
  // consistency=all: both answers came once both owners stored the body (the default, one, answers after the first).
  for (const [m, bytes] of [['slow', slow], ['waiting', waiting]] as const) {
    const lines = bytes.toString().split('\n').length;
    for (const influxd of cluster.influxds) {
      const count = (await influxQuery(influxd.url, `SELECT count(value) FROM ${m}`, { db: 'bb' })).results[0].series[0].values[0][1];
      assert.equal(count, lines, `${m} whole on ${influxd.url}`);
    }
  }
});

test('a client that resets its connection in the middle of a body gives its room back, and nothing of that body is stored', async () => {
  const cut = body('cut');
  const { port } = new URL(cluster.agents[0]!.proxyUrl);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`POST /write?db=bb&precision=ms&consistency=all HTTP/1.1\r\nHost: x\r\nContent-Length: ${cut.length}\r\n\r\n`);
  socket.write(cut.subarray(0, 300_000));
  for (let waited = 0; (await metric('cflux_agent_proxy_buffered_body_bytes')) < cut.length; waited += 50) {
    assert.ok(waited < 5000, 'the body holds its room');
    await sleep(50);
  }
  socket.resetAndDestroy();
  for (let waited = 0; (await metric('cflux_agent_proxy_buffered_body_bytes')) !== 0; waited += 50) {
    assert.ok(waited < 5000, 'the room is given back');
    await sleep(50);
  }
  // The next write gets the room at once and is stored whole; the cut one left nothing anywhere.
  const next = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=bb&precision=ms`, { method: 'POST', body: body('after') });
  assert.equal(next.status, 204, await next.text());
  for (const influxd of cluster.influxds) {
    const answer = await influxQuery(influxd.url, 'SELECT count(value) FROM cut', { db: 'bb' });
    assert.equal(answer.results[0].series, undefined, `nothing of the cut body on ${influxd.url}`);
  }
});
