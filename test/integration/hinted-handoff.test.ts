// Hinted handoff against real processes: a replica that misses writes (its
// influxd killed, its agent killed, its peer port blackholed) gets them from
// the queues once it is back, and nothing acknowledged is missing anywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliEnv } from '../helpers/manager-process.ts';
import { missingOnReplicas, shortReads, startChaosCluster, UniquePointWriter, waitForConvergence, waitForSameReplicas, type ChaosCluster } from '../helpers/chaos-cluster.ts';

/** Writes through agents 0 and 1 (agent 2 is the one that suffers). */
function writerFor(cluster: ChaosCluster, consistency = 'one'): UniquePointWriter {
  return new UniquePointWriter(() => [cluster.agents[0]!.proxyUrl, cluster.agents[1]!.proxyUrl], { consistency });
}

const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

interface QueueRow {
  node: string;
  target: string;
  records: number;
  replayedPoints: number;
}

/** `cflux hh status` against the cluster's manager: the parsed JSON rows, and the table. */
async function hhStatus(cluster: ChaosCluster): Promise<{ rows: QueueRow[]; table: string }> {
  const run = (extra: string[]) => promisify(execFile)(process.execPath, [CFLUX, 'hh', 'status', '--manager', cluster.manager.url, '--cluster', 'chaos', ...extra], { env: cliEnv(), timeout: 20_000 });
  const [json, table] = await Promise.all([run(['--json']), run([])]);
  return { rows: JSON.parse(json.stdout) as QueueRow[], table: table.stdout };
}

describe('hinted handoff: replicas converge after faults (3 nodes, RF 2)', () => {
  let cluster: ChaosCluster;
  before(async () => {
    cluster = await startChaosCluster();
  });
  after(() => cluster.stop());

  test('influxd of node 2 SIGKILLed for 3 s under writes: its batches are queued and replayed; no acked point missing, no short read', async () => {
    const writer = writerFor(cluster);
    writer.start();
    await sleep(500);
    await cluster.influxds[2]!.kill('SIGKILL');
    await sleep(2500);
    // The queues show in cflux hh status (from the heartbeats) and in the writing agents' /readyz.
    const during = await hhStatus(cluster);
    const queued = during.rows.filter((row) => row.target === 'node-2' && row.records > 0);
    assert.ok(queued.length > 0, `cflux hh status shows batches queued for node-2: ${JSON.stringify(during.rows)}`);
    assert.match(during.table, /NODE\s+QUEUED FOR\s+BATCHES\s+BYTES\s+OLDEST\s+REPLAYED POINTS\s+DROPPED BATCHES/);
    assert.match(during.table, /node-\d\s+node-2\s+[1-9]/);
    const readiness = (await (await fetch(`${cluster.agents[0]!.peerUrl}/readyz`)).json()) as { ready: boolean; hintedHandoff?: { queues: Array<{ target: string; records: number }> } };
    assert.equal(readiness.ready, true, 'hints kept for another node do not make this one unready');
    assert.ok(readiness.hintedHandoff?.queues.some((queue) => queue.target === 'node-2'), `/readyz lists the queue: ${JSON.stringify(readiness)}`);
    await sleep(500);
    await cluster.influxds[2]!.restart();
    await sleep(500);
    await writer.stop();
    assert.ok(writer.ackedPoints > 100, `the writer got acknowledgements (${writer.ackedPoints}, ${writer.errors} errors)`);
    const took = await waitForConvergence(cluster, writer, 30_000);
    for (let waited = 0; ; waited += 250) {
      const after = await hhStatus(cluster);
      const forNode2 = after.rows.filter((row) => row.target === 'node-2');
      if (forNode2.every((row) => row.records === 0) && forNode2.some((row) => row.replayedPoints > 0)) break;
      assert.ok(waited < 10_000, `queues for node-2 drained and replayed points counted: ${JSON.stringify(after.rows)}`);
      await sleep(250);
    }
    assert.deepEqual(await shortReads(cluster, writer), {});
    assert.ok(took < 30_000);
    await waitForSameReplicas(cluster, 30_000);
  });

  test('agent of node 2 SIGKILLed and restarted with its data dir: converged', async () => {
    const writer = writerFor(cluster);
    writer.start();
    await sleep(500);
    await cluster.agents[2]!.kill();
    await sleep(3000);
    await cluster.restartAgent(2);
    await sleep(1000);
    await writer.stop();
    await waitForConvergence(cluster, writer, 30_000);
    assert.deepEqual(await shortReads(cluster, writer), {});
  });

  test("node 2's peer port blackholed: consistency=one stays fast, the copies are queued, and replayed after the partition", async () => {
    const writer = writerFor(cluster);
    writer.start();
    await sleep(500);
    const before = writer.latenciesMs.length;
    cluster.peerProxy.setMode('blackhole');
    await sleep(4000);
    const during = writer.latenciesMs.slice(before);
    cluster.peerProxy.setMode('pass');
    await sleep(1000);
    await writer.stop();
    assert.ok(during.length > 20, `writes went on during the partition (${during.length})`);
    const sorted = [...during].sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    assert.ok(p99 < 1000, `write p99 during the partition ${p99.toFixed(0)} ms (a healthy owner stores at once)`);
    await waitForConvergence(cluster, writer, 30_000);
    assert.deepEqual(await shortReads(cluster, writer), {});
  });

  test('consistency=all refused while node 2 is down still converges: what one owner stored is queued for the other', async () => {
    await cluster.influxds[2]!.kill('SIGKILL');
    const writer = writerFor(cluster, 'all');
    writer.start();
    await sleep(1500);
    await writer.stop();
    // Some batches were refused (503): their points are not acknowledged, but any owner that stored them keeps them, and so must the other.
    await cluster.influxds[2]!.restart();
    await waitForConvergence(cluster, writer, 30_000);
    assert.deepEqual(await missingOnReplicas(cluster, writer), {});
    assert.ok(writer.errors > 0, 'some writes were refused for want of node 2');
    await waitForSameReplicas(cluster, 30_000);
  });
});
