/**
 * What hinted handoff and repair cost, against real processes: two influxd
 * with an agent each (RF 2), 1 M Telegraf-like points in 5,000-line batches.
 *
 *   handoff: node-1's agent is down while the points are written through
 *            node-0 (stored there, queued for node-1); node-1 comes back and
 *            the queue is replayed. Rate = points / time from node-1's agent
 *            listening again until node-0's queue is empty (every hint left
 *            it on influxd's 204; node-1's count is checked after), so the
 *            time to notice the node's return counts; node-0's agent RSS is
 *            sampled during the replay.
 *   repair:  node-1's data directory is wiped; `POST /peer/v1/repair` on
 *            node-0 copies everything back. Rate = points / repair time.
 *
 * Each is a ratio of a direct write of the same batches into node-1's
 * influxd (4 in flight), measured in the same round, rounds interleaved; the
 * min/median/max of the ratios and a PASS/FAIL line per target are printed.
 *
 *   node bench/replica-bench.ts handoff|repair [--points 1000000] [--rounds 3]
 *
 * `npm run bench:handoff` and `bench:repair` build first and run the agents
 * from dist/ (CFLUX_BIN), the form operators run: TypeScript stripping of
 * the source adds about 25 MiB of RSS to every agent.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { TEST_PEER_TOKEN } from '../test/helpers/agent-process.ts';
import { influxQuery, startClusterFixture } from '../test/helpers/cluster-fixture.ts';
import { readRssKib } from './bench-stats.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { points: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const mode = positionals[0];
if (mode !== 'handoff' && mode !== 'repair') {
  console.error('usage: node bench/replica-bench.ts handoff|repair [--points N] [--rounds R]');
  process.exit(2);
}
const POINTS = Number(values.points);
const ROUNDS = Number(values.rounds);
const BATCH = 5000;

function batches(round: number): Buffer[] {
  const out: Buffer[] = [];
  const base = 1_700_000_000 + round * 10_000_000;
  for (let start = 0; start < POINTS; start += BATCH) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(POINTS, start + BATCH); i++) lines.push(`bench_${i % 100},host=h${i % 10},region=r${i % 3} value=${i % 1000}.5,count=${i}i ${base + Math.floor(i / 100)}`);
    out.push(Buffer.from(lines.join('\n') + '\n'));
  }
  return out;
}

async function writeAll(url: string, database: string, bodies: Buffer[], consistency = 'one'): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const answer = await fetch(`${url}/write?db=${database}&precision=s&consistency=${consistency}`, { method: 'POST', body });
      if (answer.status !== 204) throw new Error(`write answered ${answer.status}: ${await answer.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return (performance.now() - started) / 1000;
}

async function count(url: string, database: string): Promise<number> {
  const answer = await influxQuery(url, 'SELECT count(value) FROM /bench_.*/', { db: database });
  return (answer.results?.[0]?.series ?? []).reduce((sum: number, series: { values: number[][] }) => sum + series.values[0]![1]!, 0);
}

/** Records in every hinted-handoff queue of the agent and points it replayed (its /metrics). */
async function handoffMetrics(peerUrl: string): Promise<{ queuedRecords: number; replayedPoints: number }> {
  const text = await (await fetch(`${peerUrl}/metrics`)).text();
  const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((total, match) => total + Number(match[1]), 0);
  return { queuedRecords: sum('cflux_agent_hh_queue_records'), replayedPoints: sum('cflux_agent_hh_replayed_points_total') };
}

console.log(`agents run ${process.env['CFLUX_BIN'] ?? 'bin/cflux.ts (TypeScript source; set CFLUX_BIN=dist/bin/cflux.js for the build operators run)'}`);
const cluster = await startClusterFixture({ size: 2, etcd: false, agentArgs: ['--repair-interval', '0', '--log-level', 'info'] });
const proxy = cluster.agents[0]!.proxyUrl;
const ratios: number[] = [];
const rssPeaks: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const bodies = batches(round);
    const database = `bench_${mode}_${round}`;
    await influxQuery(proxy, `CREATE DATABASE ${database} WITH REPLICATION 2; CREATE DATABASE direct_${round}`);
    await sleep(500);
    const direct = await writeAll(cluster.influxds[1]!.url, `direct_${round}`, bodies);
    let seconds: number;
    if (mode === 'handoff') {
      await cluster.agents[1]!.stop();
      await writeAll(proxy, database, bodies);
      const sender = cluster.agents[0]!;
      const rssBefore = (readRssKib(sender.pid) ?? 0) / 1024;
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, readRssKib(sender.pid) ?? 0)), 50);
      const replayedBefore = (await handoffMetrics(sender.peerUrl)).replayedPoints;
      await cluster.restartAgent(1);
      const back = performance.now();
      // The replay: from node-1's return (its agent listening) until node-0's queue for it is empty;
      // every hint is acknowledged by influxd (204) before it leaves the queue. Checked by a count after.
      let firstReplay: number | undefined;
      for (;;) {
        const handoff = await handoffMetrics(sender.peerUrl);
        if (handoff.replayedPoints > replayedBefore) firstReplay ??= performance.now();
        if (handoff.queuedRecords === 0) break;
        await sleep(50);
      }
      seconds = (performance.now() - back) / 1000;
      console.log(`replay started ${(((firstReplay ?? back) - back) / 1000).toFixed(2)} s after node-1 was back (first batch stored), queue empty ${seconds.toFixed(2)} s after; agent RSS before the replay ${rssBefore.toFixed(0)} MiB`);
      clearInterval(sampler);
      rssPeaks.push(peak / 1024);
      const held = await count(cluster.influxds[1]!.url, database);
      if (held < POINTS) throw new Error(`after the replay node-1 holds ${held} of ${POINTS} points`);
    } else {
      await writeAll(proxy, database, bodies, 'all');
      const influxd = cluster.influxds[1]!;
      await influxd.stop();
      for (const part of ['data', 'wal']) await rm(join(influxd.dir, part), { recursive: true, force: true });
      await influxd.restart();
      await sleep(1000);
      const started = performance.now();
      const answer = await fetch(`${cluster.agents[0]!.peerUrl}/peer/v1/repair?database=${database}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_PEER_TOKEN}` } });
      const text = await answer.text();
      seconds = (performance.now() - started) / 1000;
      if (!text.includes('"done"')) throw new Error(`repair did not finish: ${text.slice(-300)}`);
      const held = await count(influxd.url, database);
      if (held < POINTS) throw new Error(`after repair node-1 holds ${held} of ${POINTS} points`);
    }
    const ratio = direct / seconds;
    ratios.push(ratio);
    console.log(`round ${round + 1}: direct write ${(POINTS / direct).toFixed(0)} points/s, ${mode} ${(POINTS / seconds).toFixed(0)} points/s: ratio ${ratio.toFixed(2)}x${mode === 'handoff' ? `, agent RSS peak during replay ${rssPeaks.at(-1)!.toFixed(0)} MiB` : ''}`);
  }
} finally {
  await cluster.stop();
}
const sorted = [...ratios].sort((a, b) => a - b);
const target = mode === 'handoff' ? 0.5 : 0.3;
console.log(`${mode} rate as a ratio of a direct write: min ${sorted[0]!.toFixed(2)}x, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x, max ${sorted.at(-1)!.toFixed(2)}x`);
console.log(`${sorted[Math.floor(sorted.length / 2)]! >= target ? 'PASS' : 'FAIL'}: ${mode} rate >= ${target}x a direct write (median)`);
if (mode === 'handoff') {
  const worst = Math.max(...rssPeaks);
  // The issue's target is 150 MB; RSS is read in KiB, so both units are printed and MB (10^6 bytes) decides.
  const worstMb = (worst * 1024 * 1024) / 1e6;
  console.log(`${worstMb <= 150 ? 'PASS' : 'FAIL'}: agent RSS during replay <= 150 MB (worst round ${worst.toFixed(0)} MiB = ${worstMb.toFixed(0)} MB)`);
}
