// Hinted handoff against real processes: a replica that misses writes (its
// influxd killed, its agent killed, its peer port blackholed) gets them from
// the queues once it is back, and nothing acknowledged is missing anywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { missingOnReplicas, shortReads, startChaosCluster, UniquePointWriter, waitForConvergence, waitForSameReplicas, type ChaosCluster } from '../helpers/chaos-cluster.ts';

/** Writes through agents 0 and 1 (agent 2 is the one that suffers). */
function writerFor(cluster: ChaosCluster, consistency = 'one'): UniquePointWriter {
  return new UniquePointWriter(() => [cluster.agents[0]!.proxyUrl, cluster.agents[1]!.proxyUrl], { consistency });
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
    await sleep(3000);
    await cluster.influxds[2]!.restart();
    await sleep(500);
    await writer.stop();
    assert.ok(writer.ackedPoints > 100, `the writer got acknowledgements (${writer.ackedPoints}, ${writer.errors} errors)`);
    const took = await waitForConvergence(cluster, writer, 30_000);
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
