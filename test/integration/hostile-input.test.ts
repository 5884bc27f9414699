// Hostile input: deeply nested JSON, a gzip bomb sent to the peer API, and
// clients that start expensive fan-out queries and leave.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { ownersOf } from '../../src/cluster/placement.ts';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

/** Resident and peak resident memory of a process, in MiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)![1]) / 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

async function gzipBomb(megabytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => parts.push(chunk));
  const done = new Promise((resolve) => gzip.on('end', resolve));
  const zeros = Buffer.alloc(1024 * 1024, 'a');
  for (let i = 0; i < megabytes; i++) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  gzip.end();
  await done;
  return Buffer.concat(parts);
}

describe('hostile input', () => {
  let cluster: ClusterFixture;
  /** One measurement per node (RF 1), each large enough that answering it takes influxd seconds. */
  let measurements: string[];
  before(async () => {
    cluster = await startClusterFixture({ size: 2, etcd: false });
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE heavy WITH REPLICATION 1');
    const candidates = Array.from({ length: 20 }, (_, i) => `wide_${i}`);
    measurements = ['node-0', 'node-1'].map((node) => candidates.find((name) => ownersOf('heavy', name, ['node-0', 'node-1'], 1)[0] === node)!);
    await sleep(300);
    for (const [index, measurement] of measurements.entries()) {
      for (let start = 0; start < 300_000; start += 50_000) {
        const lines = Array.from({ length: 50_000 }, (_, i) => `${measurement},host=h${(start + i) % 40} a=${start + i},b=${(start + i) * 2}i,c="text-${start + i}" ${1_600_000_000_000 + start + i}`).join('\n');
        const written = await fetch(`${cluster.influxds[index]!.url}/write?db=heavy&precision=ms`, { method: 'POST', body: lines });
        assert.equal(written.status, 204);
      }
    }
  });
  after(() => cluster.stop());

  test('the manager answers 400 to JSON nested deeper than its limit, and keeps serving', async () => {
    const nested = '['.repeat(200_000) + ']'.repeat(200_000);
    const answer = await managerFetch(`${cluster.manager.url}/nodes/fixture`, { method: 'POST', body: nested });
    assert.equal(answer.status, 400);
    assert.match(((await answer.json()) as { error: string }).error, /nested deeper than 64 levels/);
    assert.equal((await managerFetch(`${cluster.manager.url}/nodes/fixture`)).status, 200);
  });

  test('a gzip bomb sent to the peer API is refused with 413 without inflating it, and nothing is stored', async () => {
    const agent = cluster.agents[1]!;
    const bomb = await gzipBomb(200);
    const before = memoryOf(agent.pid);
    const answer = await fetch(`${agent.peerUrl}/peer/v1/write?db=heavy`, { method: 'POST', headers: { authorization: `Bearer ${TEST_PEER_TOKEN}`, 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(answer.status, 413);
    assert.match(((await answer.json()) as { error: string }).error, /peer API: request body too large: more than 25000000 bytes after gzip decoding/);
    assert.ok(memoryOf(agent.pid).peak - before.peak < 100, 'the agent did not inflate 200 MB');
    const small = await fetch(`${agent.peerUrl}/peer/v1/write?db=heavy`, { method: 'POST', headers: { authorization: `Bearer ${TEST_PEER_TOKEN}`, 'content-encoding': 'gzip' }, body: await new Promise<Buffer>((resolve) => {
      const gzip = createGzip();
      const parts: Buffer[] = [];
      gzip.on('data', (chunk: Buffer) => parts.push(chunk)).on('end', () => resolve(Buffer.concat(parts)));
      gzip.end('peer_gzip value=1 1\n');
    }) });
    assert.equal(small.status, 204, 'a reasonable gzip body is still written');
  });

  test('clients that start a query over both nodes and leave cancel it everywhere: influxd stops, agent memory stays bounded', async () => {
    const agent = cluster.agents[0]!;
    const baseline = memoryOf(agent.pid).rss;
    const statement = `SELECT * FROM ${measurements[0]}, ${measurements[1]}`;
    for (let round = 0; round < 3; round++) {
      const controllers = Array.from({ length: 8 }, () => new AbortController());
      const queries = controllers.map((controller) =>
        fetch(`${agent.proxyUrl}/query`, { method: 'POST', body: new URLSearchParams({ db: 'heavy', q: statement }), signal: controller.signal }).then((r) => r.text()).catch(() => undefined),
      );
      await sleep(300);
      for (const controller of controllers) controller.abort();
      await Promise.all(queries);
      // Both influxd stop working for the clients that left (influxd ends a query whose connection closed).
      for (const influxd of cluster.influxds) {
        let running: unknown[] = [];
        for (let waited = 0; waited < 3000; waited += 100) {
          const queriesNow = await influxQuery(influxd.url, 'SHOW QUERIES');
          running = (queriesNow.results[0].series?.[0]?.values ?? []).filter((row: unknown[]) => String(row[1]).startsWith('SELECT'));
          if (running.length === 0) break;
          await sleep(100);
        }
        assert.deepEqual(running, [], `queries still running on ${influxd.url} after their clients left`);
      }
    }
    await sleep(500);
    const after = memoryOf(agent.pid);
    assert.ok(after.peak - baseline < 300, `agent peak RSS ${after.peak.toFixed(0)} MiB vs ${baseline.toFixed(0)} MiB before the clients came`);
  });
});
