// npm run bench:write [-- --points 1000000 --batch 5000 --concurrency 4]
// The same generated line protocol, the same client (undici pool, N batches in
// flight), one run each: straight into influxd; through the proxy with RF=1
// (the owner is the local influxd); through the proxy with RF=2 on 2 nodes
// (every batch goes to the local influxd and to the other node's agent).
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startClusterFixture, influxQuery, type ClusterFixture } from '../test/helpers/cluster-fixture.ts';
import { startInfluxd } from '../test/helpers/servers.ts';
import { percentile, readRssKib } from './bench-stats.ts';

const { values } = parseArgs({ options: { points: { type: 'string', default: '1000000' }, batch: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '4' } } });
const totalPoints = Number(values.points);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);

/** 100 measurements, 10 hosts, 2 fields; one timestamp per point (seconds). */
function generateBatches(): Buffer[] {
  const batches: Buffer[] = [];
  const base = 1_700_000_000;
  for (let start = 0; start < totalPoints; start += batchSize) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(totalPoints, start + batchSize); i++) {
      lines.push(`bench_${i % 100},host=h${i % 10},region=r${i % 3} value=${i % 1000}.5,count=${i}i ${base + Math.floor(i / 100)}`);
    }
    batches.push(Buffer.from(lines.join('\n') + '\n'));
  }
  return batches;
}

interface RunResult {
  label: string;
  pointsPerSecond: number;
  latencies: number[];
  rssMiB?: number;
  /** Proxy minus direct latency of the same batch, sent one after the other to the same influxd. */
  pairedAdded?: number[];
}

/**
 * Added latency measured in pairs: the same batch straight to the node's
 * influxd, then through its agent, one request at a time, alternating. The
 * machine's drift hits both sides of each pair alike.
 */
async function pairedAddedLatency(influxdUrl: string, proxyUrl: string, pairs: number): Promise<number[]> {
  const direct = new Pool(influxdUrl, { connections: 1 });
  const proxy = new Pool(proxyUrl, { connections: 1 });
  const timed = async (pool: Pool, body: Buffer) => {
    const t0 = performance.now();
    const response = await pool.request({ method: 'POST', path: '/write?db=bench&precision=s', body });
    await response.body.text();
    if (response.statusCode !== 204) throw new Error(`paired write: ${response.statusCode}`);
    return performance.now() - t0;
  };
  const added: number[] = [];
  for (let i = 0; i < pairs + 10; i++) {
    const body = batches[i % batches.length]!;
    const viaDirect = await timed(direct, body);
    const viaProxy = await timed(proxy, body);
    if (i >= 10) added.push(viaProxy - viaDirect); // the first pairs warm up connections
  }
  await Promise.all([direct.close(), proxy.close()]);
  return added.sort((a, b) => a - b);
}

async function runWrites(label: string, baseUrl: string, batches: Buffer[], agentPid?: number): Promise<RunResult> {
  const pool = new Pool(baseUrl, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let next = 0;
  let maxRss = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const body = batches[next++]!;
        const t0 = performance.now();
        const response = await pool.request({ method: 'POST', path: '/write?db=bench&precision=s', body });
        const text = await response.body.text();
        if (response.statusCode !== 204) throw new Error(`${label}: ${response.statusCode} ${text}`);
        latencies.push(performance.now() - t0);
        if (agentPid && latencies.length % 20 === 0) maxRss = Math.max(maxRss, readRssKib(agentPid) ?? 0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { label, pointsPerSecond: totalPoints / seconds, latencies: latencies.sort((a, b) => a - b), ...(agentPid ? { rssMiB: Math.max(maxRss, readRssKib(agentPid) ?? 0) / 1024 } : {}) };
}

async function countPoints(url: string): Promise<number> {
  const answer = await influxQuery(url, 'SELECT count(value) FROM /bench_.*/', { db: 'bench' });
  return (answer.results[0].series ?? []).reduce((sum: number, series: any) => sum + series.values[0][1], 0);
}

async function proxyRun(label: string, size: number, replication: number, batches: Buffer[]): Promise<RunResult> {
  const cluster: ClusterFixture = await startClusterFixture({ size, etcd: false, agentArgs: ['--log-level', 'info'] });
  try {
    await influxQuery(cluster.agents[0]!.proxyUrl, `CREATE DATABASE bench WITH REPLICATION ${replication}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await runWrites(label, cluster.agents[0]!.proxyUrl, batches, cluster.agents[0]!.pid);
    result.pairedAdded = await pairedAddedLatency(cluster.influxds[0]!.url, cluster.agents[0]!.proxyUrl, 100);
    const stored = await Promise.all(cluster.influxds.map((influxd) => countPoints(influxd.url)));
    console.log(`  ${label}: points stored per influxd: ${stored.join(', ')} (expected ${replication === 1 ? totalPoints : `${totalPoints} on each`})`);
    return result;
  } finally {
    await cluster.stop();
  }
}

const batches = generateBatches();
console.log(`write bench: ${totalPoints.toLocaleString('en-US')} points in ${batches.length} batches of ${batchSize}, concurrency ${concurrency}, loopback, 2-core machine`);
async function directRun(): Promise<RunResult> {
  const influxd = await startInfluxd();
  try {
    await influxQuery(influxd.url, 'CREATE DATABASE bench');
    const result = await runWrites('direct influxd', influxd.url, batches);
    console.log(`  direct influxd: points stored: ${await countPoints(influxd.url)}`);
    return result;
  } finally {
    await influxd.destroy();
  }
}
// Direct runs before and after the proxy runs; the better of the two is the baseline
// (conservative for the ratios: machine noise cannot flatter the proxy).
const directFirst = await directRun();
const rf1 = await proxyRun('proxy RF=1 (local owner)', 1, 1, batches);
const rf2 = await proxyRun('proxy RF=2 on 2 nodes', 2, 2, batches);
const directSecond = await directRun();
const direct: RunResult = {
  label: 'direct influxd (best of 2)',
  pointsPerSecond: Math.max(directFirst.pointsPerSecond, directSecond.pointsPerSecond),
  latencies: percentile(directFirst.latencies, 50) <= percentile(directSecond.latencies, 50) ? directFirst.latencies : directSecond.latencies,
};
console.log(`  direct runs: ${Math.round(directFirst.pointsPerSecond).toLocaleString('en-US')} and ${Math.round(directSecond.pointsPerSecond).toLocaleString('en-US')} points/s`);

const p = (sorted: number[], q: number) => percentile(sorted, q);
for (const run of [direct, rf1, rf2]) {
  const rss = run.rssMiB === undefined ? '' : `, agent RSS max ${run.rssMiB.toFixed(0)} MiB`;
  console.log(`${run.label.padEnd(26)} ${Math.round(run.pointsPerSecond).toLocaleString('en-US').padStart(10)} points/s  (${(run.pointsPerSecond / direct.pointsPerSecond).toFixed(2)}x direct)  batch p50=${p(run.latencies, 50).toFixed(2)} p99=${p(run.latencies, 99).toFixed(2)} ms${rss}`);
}
for (const run of [rf1, rf2]) {
  console.log(`added batch latency, ${run.label}: p50=${(p(run.latencies, 50) - p(direct.latencies, 50)).toFixed(2)} ms, p99=${(p(run.latencies, 99) - p(direct.latencies, 99)).toFixed(2)} ms`);
}
for (const run of [rf1, rf2]) {
  if (run.pairedAdded) console.log(`added batch latency in pairs (same batch direct then via the agent, one at a time), ${run.label}: p50=${p(run.pairedAdded, 50).toFixed(2)} ms, p99=${p(run.pairedAdded, 99).toFixed(2)} ms`);
}
console.log(`target RF=1 >= 0.95x direct: ${rf1.pointsPerSecond / direct.pointsPerSecond >= 0.95 ? 'PASS' : 'FAIL'} (${(rf1.pointsPerSecond / direct.pointsPerSecond).toFixed(3)}x)`);
const pairedP50 = p(rf1.pairedAdded!, 50);
console.log(`target p50 added <= 1 ms (RF=1, paired): ${pairedP50 <= 1 ? 'PASS' : 'FAIL'} (${pairedP50.toFixed(2)} ms)`);
