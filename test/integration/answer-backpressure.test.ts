// A client that reads a large answer slowly must slow the answer down, not
// make the agent hold it in memory. Each path that relays a query answer is
// served in-process here, so the test can read how many bytes wait in the
// agent's response buffer (res.writableLength) while the client reads nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientGoneSignal, parseInfluxRequest, readLimitedBody } from '../../src/agent/influxd/influx-request.ts';
import { InfluxdEndpoint } from '../../src/agent/influxd/influxd-endpoint.ts';
import { LocalPassthrough } from '../../src/agent/influxd/local-passthrough.ts';
import { PeerClient } from '../../src/agent/peer/peer-client.ts';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';

const POINTS = 400_000;
/** Far below the answer's size (tens of MB), far above a stream's high-water mark plus one chunk. */
const MAX_BUFFERED = 4 * 1024 * 1024;

let cluster: ClusterFixture;
before(async () => {
  cluster = await startClusterFixture({ size: 1, etcd: false });
  const influxd = cluster.influxds[0]!;
  // Through the proxy: a database made on influxd behind the agent's back is local drift, which the agent reverts (drops).
  await fetch(`${cluster.agents[0]!.proxyUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE big' }) });
  for (let start = 0; start < POINTS; start += 50_000) {
    const lines = Array.from({ length: 50_000 }, (_, i) => `wide,host=host-${(start + i) % 50},region=region-${(start + i) % 7} value=${(start + i) * 1.5},other=${start + i}i,label="label-${start + i}" ${1_600_000_000_000 + start + i}`).join('\n');
    const written = await fetch(`${influxd.url}/write?db=big&precision=ms`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
  }
});
after(() => cluster.stop());

/** Serves one route in-process with `handle`; returns the server's URL host:port and the last response object. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => {
    responses.push(res);
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, responses, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Sends a request on a raw socket and reads nothing until `read()` is called; then counts the
 * bytes, up to the end of the connection (or, kept alive, of the chunked answer).
 */
function slowClient(port: number, target: string, keepAlive = false): { socket: Socket; readAll(): Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`);
  socket.pause();
  return {
    socket,
    readAll: () =>
      new Promise<number>((resolve, reject) => {
        let bytes = 0;
        socket.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (keepAlive && chunk.subarray(-5).toString('latin1') === '0\r\n\r\n') {
            socket.destroy();
            resolve(bytes);
          }
        });
        socket.on('end', () => resolve(bytes));
        socket.on('error', reject);
        socket.resume();
      }),
  };
}

/** Waits until the response has started and its buffer stopped growing; returns the largest buffer seen. */
async function bufferedWhileStalled(responses: ServerResponse[]): Promise<number> {
  let largest = 0;
  for (let waited = 0; waited < 3000; waited += 100) {
    await sleep(100);
    const res = responses.at(-1);
    if (res) largest = Math.max(largest, res.writableLength);
  }
  return largest;
}

/** A client asks `target` and reads nothing for 3 s: the agent holds little; then it reads the whole answer. */
async function assertBoundedWhileStalled(server: { port: number; responses: ServerResponse[] }, target: string): Promise<void> {
  const client = slowClient(server.port, target);
  const buffered = await bufferedWhileStalled(server.responses);
  assert.ok(buffered < MAX_BUFFERED, `the agent held ${buffered} bytes of the answer for a client that reads nothing`);
  const received = await client.readAll();
  assert.ok(received > 6 * MAX_BUFFERED, `the whole answer arrived (${received} bytes)`);
}

describe('a slow client reading a large answer', () => {
  test('local passthrough: the agent buffers a bounded amount, and the whole answer arrives once the client reads', async () => {
    const endpoint = new InfluxdEndpoint({ url: cluster.influxds[0]!.url });
    const passthrough = new LocalPassthrough(endpoint);
    const server = await serve(async (req, res) => {
      const body = await readLimitedBody(req, 1 << 20);
      await passthrough.forward(parseInfluxRequest(req, body!, clientGoneSignal(res)), res);
    });
    try {
      await assertBoundedWhileStalled(server, `/query?${new URLSearchParams({ db: 'big', q: 'SELECT * FROM wide', chunked: 'true', chunk_size: '10000' })}`);
    } finally {
      await server.close();
      await endpoint.destroy();
    }
  });

  test('the raw query relay (one SELECT, relayed byte for byte): the agent process holds a bounded amount', async () => {
    const agent = cluster.agents[0]!;
    const rssMib = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1]) / 1024;
    const relayed = async () => Number(/^cflux_agent_proxy_fast_queries_total (\d+)/m.exec(await (await fetch(`${agent.peerUrl}/metrics`)).text())?.[1]);
    const before = await relayed();
    const baseline = rssMib();
    const client = slowClient(Number(new URL(agent.proxyUrl).port), `/query?${new URLSearchParams({ db: 'big', q: 'SELECT * FROM wide', chunked: 'true', chunk_size: '10000' })}`, true);
    let peak = baseline;
    for (let waited = 0; waited < 3000; waited += 100) {
      await sleep(100);
      peak = Math.max(peak, rssMib());
    }
    const received = await client.readAll();
    assert.equal((await relayed()) - before, 1, 'the query took the raw relay');
    assert.ok(received > 6 * MAX_BUFFERED, `the whole answer arrived (${received} bytes)`);
    // Without backpressure the agent reads all of influxd's answer (tens of MB) into the client's socket buffer.
    assert.ok(peak - baseline < 12, `the agent grew by ${(peak - baseline).toFixed(1)} MiB for a client that read nothing (answer ${(received / 1048576).toFixed(0)} MiB)`);
  });

  test('the raw query relay, influxd SIGKILLed mid-answer: the client sees the connection end before the answer does, never a shortened whole answer', async () => {
    const agent = cluster.agents[0]!;
    const socket = connect(Number(new URL(agent.proxyUrl).port), '127.0.0.1');
    socket.write(`GET /query?${new URLSearchParams({ db: 'big', q: 'SELECT * FROM wide', chunked: 'true', chunk_size: '10000' })} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    let received = Buffer.alloc(0);
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    let paused = false;
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (!paused && received.length > 1024 * 1024) {
          paused = true;
          socket.pause(); // read no more until influxd is gone
          resolve();
        }
      });
    });
    await cluster.influxds[0]!.kill('SIGKILL');
    try {
      socket.resume();
      await Promise.race([ended, sleep(10_000)]);
      assert.ok(socket.destroyed || socket.readableEnded, `the agent closed the client connection (${received.length} bytes, ends ${JSON.stringify(received.subarray(-40).toString('latin1'))})`);
      assert.notEqual(received.subarray(-5).toString('latin1'), '0\r\n\r\n', 'the answer did not end as if it were whole');
      assert.ok(received.length < 25 * 1024 * 1024, `${received.length} bytes arrived of an answer of ~30 MiB`);
    } finally {
      socket.destroy();
      await cluster.influxds[0]!.restart();
    }
  });

  test("peer query pipe: the relaying agent buffers a bounded amount of another agent's answer", async () => {
    const peers = new PeerClient({ token: TEST_PEER_TOKEN });
    const peerAddress = new URL(cluster.agents[0]!.peerUrl).host;
    const server = await serve(async (_req, res) => {
      await peers.pipeQuery(peerAddress, new URLSearchParams({ db: 'big', q: 'SELECT * FROM wide', chunked: 'true', chunk_size: '10000' }), undefined, res);
    });
    try {
      await assertBoundedWhileStalled(server, '/query');
    } finally {
      await server.close();
      await peers.destroy();
    }
  });
});
