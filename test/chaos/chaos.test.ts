// Fault tests: 3 influxd + 3 agents, RF 2, unique-point writers through
// several proxies, one fault at a time. For each: acknowledged points, the
// replicas, and reads through every proxy after healing. `npm test` runs the
// short variant; `npm run chaos` runs it with real durations (scale 1) and
// prints the table (CFLUX_CHAOS_SCALE sets the scale).
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery } from '../helpers/cluster-fixture.ts';
import { shortReads, startChaosCluster, UniquePointWriter, waitForConvergence, waitForSameReplicas, type ChaosCluster } from '../helpers/chaos-cluster.ts';

const SCALE = Number(process.env['CFLUX_CHAOS_SCALE'] ?? 0.25);
const seconds = (full: number) => Math.max(1000, Math.round(full * 1000 * SCALE));

/** One row of the report. */
interface FaultReport {
  fault: string;
  acked: number;
  refused: number;
  convergedMs: number;
  shortReads: number;
  p99BeforeMs: number;
  p99DuringMs: number;
}
const reports: FaultReport[] = [];

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

/** Writes through `through` while `fault` runs (it injects and heals), then checks every replica and every proxy. */
async function underFault(t: TestContext, cluster: ChaosCluster, name: string, through: number[], fault: () => Promise<void>, options: { proxyRestarts?: boolean } = {}): Promise<void> {
  const writer = new UniquePointWriter(() => through.map((index) => cluster.agents[index]!.proxyUrl));
  writer.start();
  await sleep(800);
  const warm = writer.latenciesMs.length;
  await fault();
  await sleep(500);
  await writer.stop();
  const during = writer.latenciesMs.slice(warm);
  const convergedMs = await waitForConvergence(cluster, writer, 30_000);
  await waitForSameReplicas(cluster, 30_000);
  const short = await shortReads(cluster, writer);
  const report = { fault: name, acked: writer.ackedPoints, refused: writer.errors, convergedMs, shortReads: Object.keys(short).length, p99BeforeMs: p99(writer.latenciesMs.slice(0, warm)), p99DuringMs: p99(during) };
  reports.push(report);
  t.diagnostic(JSON.stringify({ ...report, errorSamples: writer.errorSamples }));
  assert.ok(writer.ackedPoints > 50, `writes were acknowledged (${writer.ackedPoints})`);
  // Every unit keeps a live owner under these faults: only a proxy that is itself restarted may fail writes.
  if (!options.proxyRestarts) assert.equal(writer.errors, 0, `no write refused: ${writer.errorSamples.join('; ')}`);
  assert.deepEqual(short, {}, 'no short read through any proxy after healing');
}

describe(`chaos (scale ${SCALE}): memory manager`, () => {
  let cluster: ChaosCluster;
  before(async () => {
    cluster = await startChaosCluster();
  });
  after(() => cluster.stop());

  test('SIGKILL the agent being written to, restart it with its data dir', async (t) => {
    await underFault(t, cluster, 'SIGKILL the agent written to', [0, 1], async () => {
      await cluster.agents[1]!.kill();
      await sleep(seconds(10));
      await cluster.restartAgent(1);
    }, { proxyRestarts: true });
  });

  test('SIGKILL the influxd of node 2 for 10 s', async (t) => {
    await underFault(t, cluster, 'SIGKILL influxd 10 s', [0, 1], async () => {
      await cluster.influxds[2]!.kill('SIGKILL');
      await sleep(seconds(10));
      await cluster.influxds[2]!.restart();
    });
  });

  test('SIGKILL the agent of node 2, restart it with the same data dir', async (t) => {
    await underFault(t, cluster, 'SIGKILL an agent, restart it', [0, 1], async () => {
      await cluster.agents[2]!.kill();
      await sleep(seconds(10));
      await cluster.restartAgent(2);
    });
  });

  test("node 2's peer port blackholes every connection for 15 s", async (t) => {
    await underFault(t, cluster, 'peer port blackholes connections', [0, 1], async () => {
      cluster.peerProxy.setMode('blackhole');
      await sleep(seconds(15));
      cluster.peerProxy.setMode('pass');
    });
  });

  test("node 2's peer port resets every connection", async (t) => {
    await underFault(t, cluster, 'peer port resets connections', [0, 1], async () => {
      cluster.peerProxy.setMode('refuse');
      await sleep(seconds(15));
      cluster.peerProxy.setMode('pass');
    });
  });

  test('the in-memory manager stopped, then back empty: agents re-register and push the document back', async (t) => {
    await underFault(t, cluster, 'manager stopped (memory)', [0, 1, 2], async () => {
      await cluster.stopManagerFor(seconds(20));
    });
    // The agents poll a manager that was away with a backoff of at most 3 s; the first to see it empty pushes its document.
    let document: { metadata: { databases: Record<string, unknown> } | null } = { metadata: null };
    for (let waited = 0; waited < 10_000 && !document.metadata; waited += 250) {
      document = (await (await fetch(`${cluster.manager.url}/clusters/chaos`, { headers: { authorization: 'Bearer test-manager-token-0123456789' } })).json()) as typeof document;
      if (!document.metadata) await sleep(250);
    }
    assert.ok(document.metadata && 'chaos' in document.metadata.databases, 'the agents gave the manager its document back');
  });

  test('an agent restarted while its queue holds hints replays them after the restart', async (t) => {
    await underFault(t, cluster, 'restart of an agent with a non-empty queue', [0, 1], async () => {
      await cluster.influxds[2]!.kill('SIGKILL');
      await sleep(seconds(6));
      await cluster.restartAgent(0);
      await cluster.influxds[2]!.restart();
    }, { proxyRestarts: true });
  });

  test('DDL while an influxd is down: metadata identical everywhere afterwards', async (t) => {
    await underFault(t, cluster, 'DDL while an influxd is down', [0, 1], async () => {
      await cluster.influxds[1]!.kill('SIGKILL');
      await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE RETENTION POLICY later ON chaos DURATION 30d REPLICATION 2; CREATE DATABASE chaos_extra');
      await sleep(seconds(6));
      await cluster.influxds[1]!.restart();
    });
    for (let waited = 0; ; waited += 200) {
      const views = await Promise.all(cluster.influxds.map(async (influxd) => JSON.stringify([await influxQuery(influxd.url, 'SHOW DATABASES'), await influxQuery(influxd.url, 'SHOW RETENTION POLICIES ON chaos')])));
      if (views.every((view) => view === views[0]) && views[0]!.includes('chaos_extra')) break;
      assert.ok(waited < 30_000, `metadata differs: ${views.join('\n')}`);
      await sleep(200);
    }
  });
});

describe(`chaos (scale ${SCALE}): a queue at its size bound`, () => {
  let cluster: ChaosCluster;
  before(async () => {
    cluster = await startChaosCluster({ agentArgs: ['--hh-max-size', '1048576'] });
  });
  after(() => cluster.stop());

  test('hints beyond the bound are dropped and repair restores them once the node is back', async (t) => {
    await underFault(t, cluster, 'a queue at its size bound', [0, 1], async () => {
      await cluster.influxds[2]!.kill('SIGKILL');
      // Big batches: the 1 MiB queues overflow quickly.
      const filler = new UniquePointWriter(() => [cluster.agents[0]!.proxyUrl], { pointsPerBatch: 900, pauseMs: 0 });
      filler.start();
      await sleep(seconds(8));
      await filler.stop();
      await cluster.influxds[2]!.restart();
    });
  });
});

describe(`chaos (scale ${SCALE}): manager on a 3-member etcd`, () => {
  let cluster: ChaosCluster;
  before(async () => {
    cluster = await startChaosCluster({ etcdMembers: 3 });
  });
  after(() => cluster.stop());

  test('an etcd member stopped', async (t) => {
    await underFault(t, cluster, 'an etcd member stopped', [0, 1, 2], async () => {
      await cluster.etcd!.members[1]!.stop();
      await sleep(seconds(10));
      await cluster.etcd!.members[1]!.restart();
    });
  });

  test('the manager stopped (etcd keeps the state)', async (t) => {
    await underFault(t, cluster, 'manager stopped (etcd)', [0, 1, 2], async () => {
      await cluster.stopManagerFor(seconds(20));
    });
  });
});

after(() => {
  if (reports.length === 0) return;
  const header = '| fault | acked points | refused writes | converged after | short reads after healing | write p99 before / during |';
  const rows = reports.map((r) => `| ${r.fault} | ${r.acked} | ${r.refused} | ${(r.convergedMs / 1000).toFixed(1)} s | ${r.shortReads} | ${r.p99BeforeMs.toFixed(0)} / ${r.p99DuringMs.toFixed(0)} ms |`);
  process.stdout.write(`\nchaos report (scale ${SCALE}):\n${header}\n| --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`);
});
