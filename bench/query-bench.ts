/**
 * What the agent's hop adds to a query, against real processes: a one-node
 * cluster (the local influxd answers, relayed), and a two-node RF 1 cluster
 * where the measurement lives on the agent's own node (owner) or on the other
 * node (relayed from a peer), each compared with the same query sent
 * straight to the influxd that answers it, and with bare TCP relays (one,
 * or two in series for the peer case) as the floor of any hop.
 * Grafana-shaped queries (`SELECT mean(v) ... GROUP BY time(1m)` over an
 * hour), one at a time, direct and through the agent alternating, so both
 * meet the same machine at the same moment. Prints the added p50 and p99 in
 * every round, min/median/max over the rounds, and PASS/FAIL for the target
 * (added p50 <= 1 ms). Before the rounds, every target answers --warmup
 * queries that are not counted (the first queries of a process run before
 * its code is compiled: a dashboard's steady state is what is measured).
 *
 *   node bench/query-bench.ts [--queries 300] [--rounds 5] [--warmup 100]
 */
import { parseArgs } from 'node:util';
import { Agent, fetch as fetchWith } from 'undici';
import { ownersOf } from '../src/cluster/placement.ts';
import { influxQuery, startClusterFixture, TEST_SECRET } from '../test/helpers/cluster-fixture.ts';
import { SHIPPED_AGENT_ENV } from '../test/helpers/shipped-agent-flags.ts';
import { percentile, startTcpRelay } from './bench-stats.ts';

const { values } = parseArgs({ options: { queries: { type: 'string', default: '300' }, rounds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '100' } } });
const QUERIES = Number(values.queries);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const BASE = 1_700_000_000;

async function timed(url: string, q: string, dispatcher?: Agent): Promise<number> {
  const started = performance.now();
  const target = `${url}/query?db=bench&q=${encodeURIComponent(q)}`;
  const answer = dispatcher ? await fetchWith(target, { dispatcher }) : await fetch(target);
  const text = await answer.text();
  if (answer.status !== 200 || !text.includes('"series"')) throw new Error(`query answered ${answer.status}: ${text.slice(0, 200)}`);
  return performance.now() - started;
}

interface RoundResult { p50: number; p99: number; directP50: number; relayP50: number | undefined }

/**
 * Added p50 and p99 (ms) of `QUERIES` queries through `proxy` over the same
 * queries to `direct`; with `relay` (a bare TCP relay in front of the same
 * influxd) also what a hop without any HTTP costs here. The targets take
 * turns, the order rotating, so none always meets a warmer cache.
 */
async function round(direct: string, proxy: string, measurement: string, relay?: string, dispatcher?: Agent, queries = QUERIES): Promise<RoundResult> {
  const targets = [direct, proxy, ...(relay ? [relay] : [])];
  const times = targets.map((): number[] => []);
  for (let i = 0; i < queries; i++) {
    const start = BASE + (i % 60) * 60;
    const q = `SELECT mean(v) FROM ${measurement} WHERE time >= ${start}s AND time < ${start + 3600}s GROUP BY time(1m) fill(null)`;
    for (let k = 0; k < targets.length; k++) {
      const which = (i + k) % targets.length;
      times[which]!.push(await timed(targets[which]!, q, dispatcher));
    }
  }
  for (const list of times) list.sort((a, b) => a - b);
  const [straight, hop, bare] = times as [number[], number[], number[] | undefined];
  return {
    p50: percentile(hop, 50) - percentile(straight, 50),
    p99: percentile(hop, 99) - percentile(straight, 99),
    directP50: percentile(straight, 50),
    relayP50: bare ? percentile(bare, 50) - percentile(straight, 50) : undefined,
  };
}

const lines: string[] = [];
for (let t = 0; t < 7200; t += 10) for (const m of ['q_a', 'q_b', 'q_c', 'q_d']) lines.push(`${m},host=h${t % 3} v=${t % 97}.5 ${BASE + t}`);
console.log(`agents run ${process.env['CFLUX_BIN'] ?? 'bin/cflux.ts (TypeScript source; set CFLUX_BIN=dist/bin/cflux.js for the build operators run)'}`);

const results: Record<string, RoundResult[]> = { local: [], owner: [], peer: [] };
const LABELS: Record<string, string> = {
  local: 'one node: the local influxd answers',
  owner: 'two nodes: the local influxd owns it',
  peer: 'two nodes: relayed from the peer that owns it',
};
// The owner case on connections of its own: one that carried a peer query stays on the routed path.
const ownerConnections = new Agent();
// The agents' default heartbeat and drift-check periods (the test fixture's are short: a drift check every 0.5 s).
const AGENT_ARGS = ['--repair-interval', '0', '--heartbeat-interval', '5', '--drift-interval', '10'];
// The agents run with the environment the shipped units give them (a 1 MiB young generation...), as bench:write's.
const agentEnv = { CFLUX_SECRET: TEST_SECRET, ...SHIPPED_AGENT_ENV };
const one = await startClusterFixture({ size: 1, etcd: false, agentArgs: AGENT_ARGS, agentEnv });
const two = await startClusterFixture({ size: 2, etcd: false, agentArgs: AGENT_ARGS, agentEnv });
const relay = await startTcpRelay(one.influxds[0]!.url);
// A peer query makes two hops (this agent, the owner's agent): its floor is two bare relays in series.
const peerRelayInner = await startTcpRelay(two.influxds[1]!.url);
const peerRelay = await startTcpRelay(peerRelayInner.url);
try {
  for (const cluster of [one, two]) {
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE bench WITH REPLICATION 1');
    const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=bench&precision=s&consistency=all`, { method: 'POST', body: lines.join('\n') });
    if (written.status !== 204) throw new Error(`load: ${written.status}`);
  }
  // In the two-node cluster: a measurement node-1 owns alone, queried through node-0's agent.
  const remote = ['q_a', 'q_b', 'q_c', 'q_d'].find((m) => ownersOf('bench', m, ['node-0', 'node-1'], 1)[0] === 'node-1');
  const mine = ['q_a', 'q_b', 'q_c', 'q_d'].find((m) => ownersOf('bench', m, ['node-0', 'node-1'], 1)[0] === 'node-0');
  if (!remote || !mine) throw new Error('no measurement on node-1 alone, or none on node-0 alone');
  if (WARMUP > 0) {
    console.log(`warm-up: ${WARMUP} queries per target and case, not counted`);
    await round(one.influxds[0]!.url, one.agents[0]!.proxyUrl, 'q_a', relay.url, undefined, WARMUP);
    await round(two.influxds[0]!.url, two.agents[0]!.proxyUrl, mine, undefined, ownerConnections, WARMUP);
    await round(two.influxds[1]!.url, two.agents[0]!.proxyUrl, remote, peerRelay.url, undefined, WARMUP);
  }
  for (let r = 0; r < ROUNDS; r++) {
    results['local']!.push(await round(one.influxds[0]!.url, one.agents[0]!.proxyUrl, 'q_a', relay.url));
    results['owner']!.push(await round(two.influxds[0]!.url, two.agents[0]!.proxyUrl, mine, undefined, ownerConnections));
    results['peer']!.push(await round(two.influxds[1]!.url, two.agents[0]!.proxyUrl, remote, peerRelay.url));
    for (const [name, list] of Object.entries(results)) {
      const last = list.at(-1)!;
      const floor = last.relayP50 === undefined ? '' : `; ${name === 'peer' ? 'two bare TCP relays' : 'a bare TCP relay'} +${last.relayP50.toFixed(2)} ms p50`;
      console.log(`round ${r + 1} ${name.padEnd(5)}: direct p50 ${last.directP50.toFixed(2)} ms; through the agent +${last.p50.toFixed(2)} ms p50, +${last.p99.toFixed(2)} ms p99${floor}`);
    }
  }
} finally {
  for (const child of [relay, peerRelay, peerRelayInner]) child.child.kill('SIGTERM');
  await ownerConnections.close();
  await one.stop();
  await two.stop();
}
const stats = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  return { min: sorted[0]!, median: percentile(sorted, 50), max: sorted.at(-1)! };
};
for (const [name, list] of Object.entries(results)) {
  const p50 = stats(list.map((entry) => entry.p50));
  const p99 = stats(list.map((entry) => entry.p99));
  console.log(`${name} (${LABELS[name]}): added p50 min ${p50.min.toFixed(2)} / median ${p50.median.toFixed(2)} / max ${p50.max.toFixed(2)} ms; added p99 median ${p99.median.toFixed(2)} ms`);
}
const floor = stats(results['local']!.map((entry) => entry.relayP50 ?? NaN));
console.log(`bare TCP relay (no HTTP: the floor of any user-space hop on this machine): added p50 min ${floor.min.toFixed(2)} / median ${floor.median.toFixed(2)} / max ${floor.max.toFixed(2)} ms`);
const twoHops = stats(results['peer']!.map((entry) => entry.relayP50 ?? NaN));
console.log(`two bare TCP relays in series (the floor of a peer query's two hops): added p50 min ${twoHops.min.toFixed(2)} / median ${twoHops.median.toFixed(2)} / max ${twoHops.max.toFixed(2)} ms`);
for (const [name, list] of Object.entries(results)) {
  const median = stats(list.map((entry) => entry.p50)).median;
  console.log(`${median <= 1 ? 'PASS' : 'FAIL'}: ${name} query hop adds <= 1 ms p50 (median of rounds ${median.toFixed(2)} ms)`);
}
