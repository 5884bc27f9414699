// Faults in the middle of a raw-relayed peer answer: a SELECT of a
// measurement node-0 does not own goes raw from node-0's agent to the owner's
// agent and influxd (peer-query-relay.ts). When the owner's agent, or its
// influxd, is SIGKILLed while the answer streams (the client reading slowly,
// so the answer is held back by TCP backpressure along the way), the client
// must see the answer cut (no final chunk, the connection closed), never an
// answer that ends cleanly with rows missing; node-0's agent stays up, and the
// next query gets the whole answer from the other owner.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownersOf } from '../../src/cluster/placement.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';

const MEMBERS = ['node-0', 'node-1', 'node-2'];
const CANDIDATES = ['fa', 'fb', 'fc', 'fd', 'fe', 'ff', 'fg', 'fh'];
/** Enough rows (~17 MB of answer) that socket buffers on three hops cannot hold it all. */
const POINTS = 600_000;
const BATCH = 100_000;

/** What a raw HTTP/1.1 client received for `path` while `fault` ran after the first bytes arrived. */
async function readThroughFault(url: string, path: string, fault: () => Promise<void>): Promise<{ bytes: number; text: string; closedMs: number }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  let bytes = 0;
  let faulted = false;
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the connection stayed open 20 s after the fault (${bytes} bytes read)`)), 40_000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(performance.now());
    });
    socket.on('error', () => {}); // a reset is one way for the cut to show
  });
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
    if (!faulted && bytes >= 256 * 1024) {
      faulted = true;
      // Stop reading: the rest of the answer waits in the relays and influxd, then the fault lands.
      socket.pause();
      void (async () => {
        await sleep(300);
        await fault();
        socket.resume();
      })();
    }
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  const started = performance.now();
  const closed = await done;
  const text = Buffer.concat(chunks).toString('latin1');
  return { bytes, text, closedMs: closed - started };
}

describe('faults in the middle of a raw-relayed peer answer (three nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  let measurement: string;
  let owner: number;
  let other: number;
  let path: string;
  let whole: string;
  const counter = async (agent: number, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${cluster.agents[agent]!.peerUrl}/metrics`)).text())?.[1]);

  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: false });
    assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE pf WITH REPLICATION 2')).results[0].error, undefined);
    measurement = CANDIDATES.find((m) => !ownersOf('pf', m, MEMBERS, 2).includes('node-0'))!;
    const owners = ownersOf('pf', measurement, MEMBERS, 2).map((name) => MEMBERS.indexOf(name));
    [owner, other] = [owners[0]!, owners[1]!];
    // Straight into both owners' influxd (where placement puts it), once the database reached them.
    for (let first = 0; first < POINTS; first += BATCH) {
      const lines = Array.from({ length: BATCH }, (_, i) => `${measurement},host=h${(first + i) % 4} value=${first + i}i ${1_700_000_000_000 + first + i}`).join('\n');
      for (const index of [owner, other]) {
        for (let attempt = 0; ; attempt++) {
          const written = await fetch(`${cluster.influxds[index]!.url}/write?db=pf&precision=ms`, { method: 'POST', body: lines });
          if (written.status === 204) break;
          assert.ok(attempt < 40, `write to node-${index}: ${written.status} ${await written.text()}`);
          await sleep(250);
        }
      }
    }
    path = `/query?db=pf&epoch=ns&chunked=true&chunk_size=10000&q=${encodeURIComponent(`SELECT value FROM ${measurement}`)}`;
    whole = await (await fetch(`${cluster.influxds[other]!.url}${path}`)).text();
    assert.ok(whole.length > 15_000_000, `the answer is ${whole.length} bytes`);
  });
  after(async () => {
    await cluster?.stop();
  });

  /** The answer through node-0 is whole: what the other owner's influxd gives. */
  const answeredWhole = async () => {
    const answer = await fetch(`${cluster.agents[0]!.proxyUrl}${path}`);
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.equal(text.length, whole.length, 'the whole answer');
    assert.equal(text, whole);
  };

  /** The client saw an answer cut in the middle: some rows, no final chunk, the connection closed. */
  const cutShort = (read: { bytes: number; text: string }) => {
    assert.match(read.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(read.text.toLowerCase().includes('transfer-encoding: chunked'), read.text.slice(0, 400));
    assert.ok(read.bytes < whole.length, `the fault landed mid-answer: ${read.bytes} bytes read of ${whole.length}`);
    assert.ok(!read.text.endsWith('\r\n0\r\n\r\n'), 'no final chunk: the client cannot take the answer for a whole one');
  };

  test('the owner\'s agent SIGKILLed mid-answer: the client\'s answer is cut, the next one is whole from the other owner', async () => {
    const sentBefore = await counter(0, 'cflux_agent_proxy_fast_peer_queries_total');
    const read = await readThroughFault(cluster.agents[0]!.proxyUrl, path, () => cluster.agents[owner]!.kill());
    assert.equal((await counter(0, 'cflux_agent_proxy_fast_peer_queries_total')) - sentBefore, 1, 'relayed raw to the owner');
    cutShort(read);
    assert.equal((await fetch(`${cluster.agents[0]!.peerUrl}/healthz`)).status, 200, 'node-0\'s agent is up');
    await answeredWhole();
    await cluster.restartAgent(owner);
  });

  test('the owner\'s influxd SIGKILLed mid-answer: the client\'s answer is cut, the next one is whole', async () => {
    // The restarted agent is used again once node-0 sees it answer (its directory refresh).
    for (let waited = 0; ; waited += 250) {
      const takenBefore = await counter(owner, 'cflux_agent_peer_fast_queries_total');
      await answeredWhole();
      if ((await counter(owner, 'cflux_agent_peer_fast_queries_total')) > takenBefore) break;
      assert.ok(waited < 20_000, 'node-0 relays to the restarted owner again');
      await sleep(250);
    }
    const read = await readThroughFault(cluster.agents[0]!.proxyUrl, path, () => cluster.influxds[owner]!.kill());
    cutShort(read);
    try {
      await answeredWhole();
    } finally {
      await cluster.influxds[owner]!.restart();
    }
  });
});
