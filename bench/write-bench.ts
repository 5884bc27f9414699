// npm run bench:write [-- --points 2000000 --batch 5000 --concurrency 4 --slices 20 --pairs 200 --settle 10
//                         --agent-flags='--max-semi-space-size=2 MALLOC_ARENA_MAX=4']
//
// The same generated line protocol and the same client (an undici pool with
// N batches in flight) for every target:
//   RF=1: a one-node cluster. Straight into its influxd, through its agent
//         (the local influxd is the only owner), and through a bare TCP relay
//         (no HTTP at all: the floor of any user-space hop on this machine).
//   RF=2: a two-node cluster. Straight into node 0's influxd, and through
//         node 0's agent (each batch goes to the local influxd and to node 1).
// Three measurements, each against the same influxd, each target into its
// own database, so the machine's drift and influxd's own pauses (cache
// snapshots, compactions) hit every target alike:
//   throughput: the targets take turns in slices (the order rotating every
//     slice), N batches in flight;
//   latency under load: N batches in flight, each batch going to the next
//     target in turn, so every target meets the same influxd at the same time;
//   latency one batch at a time: the same batch straight, then through the
//     hop, alternating (the hop's own cost on an idle system).
// Agents run with their default heartbeat and drift-check periods, from the
// build (CFLUX_BIN=dist/bin/cflux.js, npm run bench:write sets it) with the
// environment the shipped units give them (NODE_OPTIONS, MALLOC_ARENA_MAX:
// test/helpers/shipped-agent-flags.ts). --agent-flags replaces it: node
// flags (--x) and NAME=value tokens, 'none' for nothing; write it as
// --agent-flags='--max-semi-space-size=2 MALLOC_ARENA_MAX=2'.
// Memory targets (issue 15): an agent's RSS idle (--settle seconds after its
// cluster is up and its databases created, before any write) <= 64 MiB, and
// at its peak under the whole load (sampled every second and every 10
// batches) <= 96 MiB, at RF 1 and at RF 2.
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startClusterFixture, influxQuery } from '../test/helpers/cluster-fixture.ts';
import { percentile, ProcSampler, readCpuSeconds, readRssKib, startTcpRelay } from './bench-stats.ts';
import { AGENT_PRODUCTION_ARGS, SHIPPED_AGENT_ENV } from '../test/helpers/shipped-agent-flags.ts';

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '2000000' },
    batch: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4' },
    slices: { type: 'string', default: '20' },
    pairs: { type: 'string', default: '200' },
    settle: { type: 'string', default: '10' },
    'agent-flags': { type: 'string' },
  },
});
const totalPoints = Number(values.points);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);
const sliceCount = Number(values.slices);
const pairCount = Number(values.pairs);
const settleMs = Number(values.settle) * 1000;
const IDLE_TARGET_MIB = 64;
const PEAK_TARGET_MIB = 96;

/** Node flags (--x) and environment (NAME=value) for the agents: as shipped, or --agent-flags. */
function agentRuntime(): { nodeArgs: string[]; env: Record<string, string> } {
  const text = values['agent-flags'];
  if (text === undefined) return { nodeArgs: [], env: { ...SHIPPED_AGENT_ENV } };
  const tokens = text === 'none' ? [] : text.split(/\s+/).filter(Boolean);
  const env = Object.fromEntries(tokens.filter((token) => !token.startsWith('--')).map((token) => [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)]));
  return { nodeArgs: tokens.filter((token) => token.startsWith('--')), env };
}
const runtime = agentRuntime();
const agentFixture = { agentArgs: AGENT_PRODUCTION_ARGS, agentNodeArgs: runtime.nodeArgs, agentEnv: { CFLUX_SECRET: 'write-bench-secret-0123456789', ...runtime.env } };

/** 100 measurements, 10 hosts, 3 regions, 2 fields; one timestamp per 100 points (seconds). */
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

interface Target {
  label: string;
  url: string;
  database: string;
  /** The hop's process, for its RSS and CPU. */
  pid?: number;
  pool?: Pool;
  seconds: number;
  /** Seconds of each slice, in slice order. */
  sliceSeconds: number[];
  /** Batch latencies in the mixed phase (every target in turn, batch by batch). */
  mixed: number[];
  maxRssKib: number;
  cpuSeconds: number;
}

function target(label: string, url: string, database: string, pid?: number): Target {
  return { label, url, database, ...(pid ? { pid } : {}), seconds: 0, sliceSeconds: [], mixed: [], maxRssKib: 0, cpuSeconds: 0 };
}

async function writeBatch(pool: Pool, database: string, body: Buffer): Promise<number> {
  const t0 = performance.now();
  const response = await pool.request({ method: 'POST', path: `/write?db=${database}&precision=s`, body });
  const text = await response.body.text();
  if (response.statusCode !== 204) throw new Error(`write to ${database}: ${response.statusCode} ${text}`);
  return performance.now() - t0;
}

/** Writes `batches` to `target` with `concurrency` batches in flight; adds to its time, RSS and CPU. */
async function writeSlice(entry: Target, batches: Buffer[]): Promise<void> {
  entry.pool ??= new Pool(entry.url, { connections: concurrency, pipelining: 1 });
  const cpuBefore = entry.pid ? (readCpuSeconds(entry.pid) ?? 0) : 0;
  let next = 0;
  let written = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        await writeBatch(entry.pool!, entry.database, batches[next++]!);
        if (entry.pid && ++written % 10 === 0) entry.maxRssKib = Math.max(entry.maxRssKib, readRssKib(entry.pid) ?? 0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  entry.seconds += seconds;
  entry.sliceSeconds.push(seconds);
  if (entry.pid) entry.cpuSeconds += (readCpuSeconds(entry.pid) ?? 0) - cpuBefore;
}

/** Every target writes every batch, in slices taken in turn (order rotating each slice). */
async function interleaved(targets: Target[], batches: Buffer[]): Promise<void> {
  const perSlice = Math.ceil(batches.length / sliceCount);
  for (let slice = 0; slice < sliceCount; slice++) {
    const part = batches.slice(slice * perSlice, (slice + 1) * perSlice);
    for (let turn = 0; turn < targets.length; turn++) await writeSlice(targets[(slice + turn) % targets.length]!, part);
  }
}

/** N batches in flight, each to the next target in turn: latencies under the same load for all. */
async function mixed(targets: Target[], batches: Buffer[]): Promise<void> {
  let next = 0;
  const rounds = batches.length * targets.length;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < rounds) {
        const turn = next++;
        const entry = targets[turn % targets.length]!;
        entry.mixed.push(await writeBatch(entry.pool!, entry.database, batches[Math.floor(turn / targets.length)]!));
      }
    }),
  );
  await Promise.all(targets.map((entry) => entry.pool?.close()));
  for (const entry of targets) entry.mixed.sort((a, b) => a - b);
}

/** Added latency of a hop, one batch at a time: the same batch straight, then through the hop. */
async function pairedAdded(directUrl: string, hopUrl: string, databases: [string, string], batches: Buffer[]): Promise<number[]> {
  const direct = new Pool(directUrl, { connections: 1 });
  const hop = new Pool(hopUrl, { connections: 1 });
  const added: number[] = [];
  for (let i = 0; i < pairCount + 10; i++) {
    const body = batches[i % batches.length]!;
    const straight = await writeBatch(direct, databases[0], body);
    const through = await writeBatch(hop, databases[1], body);
    if (i >= 10) added.push(through - straight); // the first pairs warm up connections
  }
  await Promise.all([direct.close(), hop.close()]);
  return added.sort((a, b) => a - b);
}

async function countPoints(url: string, database: string): Promise<number> {
  const answer = await influxQuery(url, 'SELECT count(value) FROM /bench_.*/', { db: database });
  return (answer.results[0].series ?? []).reduce((sum: number, series: { values: number[][] }) => sum + series.values[0]![1]!, 0);
}

const f = (n: number, digits = 2) => n.toFixed(digits);
/** Throughput ratio of `entry` to `baseline` slice by slice (the same batches, moments apart), sorted. */
const sliceRatios = (baseline: Target, entry: Target) => entry.sliceSeconds.map((seconds, i) => baseline.sliceSeconds[i]! / seconds).sort((a, b) => a - b);
const rate = (entry: Target) => totalPoints / entry.seconds;

function report(title: string, baseline: Target, hops: Target[]): void {
  console.log(title);
  for (const entry of [baseline, ...hops]) {
    const ratio = rate(entry) / rate(baseline);
    const process = entry.pid ? `  RSS max ${(entry.maxRssKib / 1024).toFixed(0)} MiB, CPU ${f(entry.cpuSeconds, 1)} s` : '';
    const slices = entry === baseline ? '' : `  (per slice: median ${f(sliceRatios(baseline, entry)[Math.floor(sliceCount / 2)]!)}x)`;
    console.log(`  ${entry.label.padEnd(24)} ${Math.round(rate(entry)).toLocaleString('en-US').padStart(9)} points/s  ${f(ratio)}x${slices}${process}`);
  }
  console.log('  batch latency under load (batches to every target in turn, same moments):');
  for (const entry of [baseline, ...hops]) {
    const added = entry === baseline ? '' : `  added p50=${f(percentile(entry.mixed, 50) - percentile(baseline.mixed, 50))} p99=${f(percentile(entry.mixed, 99) - percentile(baseline.mixed, 99))} ms`;
    console.log(`    ${entry.label.padEnd(24)} p50=${f(percentile(entry.mixed, 50))} p99=${f(percentile(entry.mixed, 99))} ms${added}`);
  }
}

const batches = generateBatches();
console.log(`write bench: ${totalPoints.toLocaleString('en-US')} points per target in ${batches.length} batches of ${batchSize}, concurrency ${concurrency}, ${sliceCount} interleaved slices, loopback`);
console.log(
  `agents run ${process.env['CFLUX_BIN'] ?? 'bin/cflux.ts (TypeScript source; npm run bench:write runs the build, dist/bin/cflux.js)'} with ` +
    `[${[...runtime.nodeArgs, ...Object.entries(runtime.env).map(([key, value]) => `${key}=${value}`)].join(' ') || 'no node flags'}]${values['agent-flags'] === undefined ? ' (as shipped)' : ''}`,
);

/** An agent's RSS in MiB, left alone for --settle seconds first: the idle figure, before any write. */
async function idleRssMib(pid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return (readRssKib(pid) ?? NaN) / 1024;
}

// RF=1: one node; its agent streams every write to its own influxd.
const one = await startClusterFixture({ size: 1, etcd: false, ...agentFixture });
let rf1: { direct: Target; agent: Target; relay: Target; agentPaired: number[]; relayPaired: number[]; idleMib: number; peakMib: number };
const relay = await startTcpRelay(one.influxds[0]!.url);
try {
  const agentUrl = one.agents[0]!.proxyUrl;
  for (const database of ['bench_direct', 'bench_agent', 'bench_relay', 'pairs_direct', 'pairs_agent', 'pairs_relay']) {
    await influxQuery(agentUrl, `CREATE DATABASE ${database} WITH REPLICATION 1`);
  }
  const idleMib = await idleRssMib(one.agents[0]!.pid); // also lets the DDL reach the influxd
  const sampler = new ProcSampler(one.agents[0]!.pid);
  const direct = target('direct influxd', one.influxds[0]!.url, 'bench_direct');
  const agent = target('agent proxy (RF=1)', agentUrl, 'bench_agent', one.agents[0]!.pid);
  const bare = target('bare TCP relay (floor)', relay.url, 'bench_relay', relay.child.pid);
  await interleaved([direct, agent, bare], batches);
  await mixed([direct, agent, bare], batches);
  const agentPaired = await pairedAdded(direct.url, agentUrl, ['pairs_direct', 'pairs_agent'], batches);
  const relayPaired = await pairedAdded(direct.url, relay.url, ['pairs_direct', 'pairs_relay'], batches);
  const stored = await Promise.all(['bench_direct', 'bench_agent', 'bench_relay'].map((database) => countPoints(direct.url, database)));
  sampler.stop();
  console.log(`  points stored (direct, agent, relay): ${stored.join(', ')} (expected ${totalPoints} each)`);
  if (stored.some((count) => count !== totalPoints)) throw new Error('points missing');
  rf1 = { direct, agent, relay: bare, agentPaired, relayPaired, idleMib, peakMib: Math.max(sampler.maxRssKib, agent.maxRssKib) / 1024 };
} finally {
  relay.child.kill('SIGTERM');
  await one.stop();
}

// RF=2 on 2 nodes: every batch is stored on both influxds.
const two = await startClusterFixture({ size: 2, etcd: false, ...agentFixture });
let rf2: { direct: Target; agent: Target; idleMib: number; peakMib: number };
try {
  const agentUrl = two.agents[0]!.proxyUrl;
  await influxQuery(agentUrl, 'CREATE DATABASE bench_direct WITH REPLICATION 2');
  await influxQuery(agentUrl, 'CREATE DATABASE bench_agent WITH REPLICATION 2');
  const idleMib = await idleRssMib(two.agents[0]!.pid);
  const sampler = new ProcSampler(two.agents[0]!.pid);
  const direct = target('direct influxd', two.influxds[0]!.url, 'bench_direct');
  const agent = target('agent proxy (RF=2)', agentUrl, 'bench_agent', two.agents[0]!.pid);
  await interleaved([direct, agent], batches);
  await mixed([direct, agent], batches);
  sampler.stop();
  const stored = await Promise.all(two.influxds.map((influxd) => countPoints(influxd.url, 'bench_agent')));
  console.log(`  points stored by the agent per influxd: ${stored.join(', ')} (expected ${totalPoints} on each)`);
  if (stored.some((count) => count !== totalPoints)) throw new Error('points missing');
  rf2 = { direct, agent, idleMib, peakMib: Math.max(sampler.maxRssKib, agent.maxRssKib) / 1024 };
} finally {
  await two.stop();
}

report('RF=1, one node (same influxd for every target):', rf1.direct, [rf1.agent, rf1.relay]);
console.log(`  one batch at a time, added latency: agent p50=${f(percentile(rf1.agentPaired, 50))} p99=${f(percentile(rf1.agentPaired, 99))} ms; bare TCP relay p50=${f(percentile(rf1.relayPaired, 50))} p99=${f(percentile(rf1.relayPaired, 99))} ms (n=${pairCount})`);
report('RF=2, two nodes (direct = one influxd, once):', rf2.direct, [rf2.agent]);
const ratio = rate(rf1.agent) / rate(rf1.direct);
const addedUnderLoad = percentile(rf1.agent.mixed, 50) - percentile(rf1.direct.mixed, 50);
const addedAlone = percentile(rf1.agentPaired, 50);
const medianRatio = sliceRatios(rf1.direct, rf1.agent)[Math.floor(sliceCount / 2)]!;
console.log(`target RF=1 >= 0.95x direct: ${ratio >= 0.95 ? 'PASS' : 'FAIL'} (${f(ratio, 3)}x over the run, median of slices ${f(medianRatio, 3)}x; bare TCP relay ${f(rate(rf1.relay) / rate(rf1.direct), 3)}x)`);
console.log(`target p50 added <= 1 ms (RF=1): under load ${addedUnderLoad <= 1 ? 'PASS' : 'FAIL'} (${f(addedUnderLoad)} ms), one batch at a time ${addedAlone <= 1 ? 'PASS' : 'FAIL'} (${f(addedAlone)} ms)`);
for (const [label, run] of [['RF=1', rf1], ['RF=2', rf2]] as const) {
  console.log(`target agent RSS idle <= ${IDLE_TARGET_MIB} MiB (${label}): ${run.idleMib <= IDLE_TARGET_MIB ? 'PASS' : 'FAIL'} (${f(run.idleMib, 1)} MiB ${settleMs / 1000} s after start, before any write)`);
  console.log(`target agent RSS peak <= ${PEAK_TARGET_MIB} MiB (${label}): ${run.peakMib <= PEAK_TARGET_MIB ? 'PASS' : 'FAIL'} (${f(run.peakMib, 1)} MiB under the whole load)`);
}
