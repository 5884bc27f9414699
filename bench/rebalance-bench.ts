/**
 * What a move of the data members costs, against real processes: 3 nodes
 * (RF 2) holding 1 M Telegraf-like points in 100 measurements, then
 * `cflux members add node-3` while a writer keeps writing. Printed, each with
 * a PASS/FAIL line:
 *
 *   - copy rate: points copied / time from the move's start to its end, as a
 *     ratio of a direct write of the same batches into one influxd (4 in
 *     flight), measured in the same run (target >= 0.5x);
 *   - the concurrent writer's throughput during the move as a ratio of its
 *     throughput just before (target >= 0.7x);
 *   - the share of units whose owners changed (rendezvous hashing: RF / new
 *     member count = 0.5) and that only those were copied (points copied =
 *     the points of the units that moved).
 *
 *   node bench/rebalance-bench.ts [--points 1000000]
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { moveProgress, type MemberMove } from '../src/cluster/member-moves.ts';
import { ownersOf } from '../src/cluster/placement.ts';
import { startAgentProcess, TEST_PEER_TOKEN } from '../test/helpers/agent-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET } from '../test/helpers/cluster-fixture.ts';
import { cliEnv, managerFetch } from '../test/helpers/manager-process.ts';
import { startInfluxd } from '../test/helpers/servers.ts';

const { values } = parseArgs({ options: { points: { type: 'string', default: '1000000' } } });
const POINTS = Number(values.points);
const BATCH = 5000;
const MEASUREMENTS = 100;
const CFLUX = fileURLToPath(new URL('../bin/cflux.ts', import.meta.url));

function batches(base: number, points: number): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < points; start += BATCH) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(points, start + BATCH); i++) lines.push(`bench_${i % MEASUREMENTS},host=h${i % 10},region=r${i % 3} value=${i % 1000}.5,count=${i}i ${base + Math.floor(i / MEASUREMENTS)}`);
    out.push(Buffer.from(lines.join('\n') + '\n'));
  }
  return out;
}

async function writeAll(url: string, database: string, bodies: Buffer[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const answer = await fetch(`${url}/write?db=${database}&precision=s`, { method: 'POST', body: bodies[next++]! });
      if (answer.status !== 204) throw new Error(`write answered ${answer.status}: ${await answer.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return (performance.now() - started) / 1000;
}

/** A closed-loop writer (one 1,000-line batch in flight) whose acknowledged points are counted per phase. */
class SteadyWriter {
  points = 0;
  #stopped = false;
  #running: Promise<void> | undefined;
  #seq = 0;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  start(): void {
    this.#running = (async () => {
      while (!this.#stopped) {
        const lines = Array.from({ length: 1000 }, () => `live_${this.#seq % 10},host=w value=${this.#seq} ${1_800_000_000 + this.#seq++}`);
        const answer = await fetch(`${this.url}/write?db=live&precision=s`, { method: 'POST', body: lines.join('\n') });
        if (answer.status === 204) this.points += 1000;
      }
    })();
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

/** CPU seconds used so far by this machine's influxd processes and cflux agents (from /proc): where a move's time goes. */
function cpuSeconds(): { influxd: number; agents: number } {
  const ticks = 100; // USER_HZ on Linux
  const out = { influxd: 0, agents: 0 };
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = cmdline.startsWith('influxd') || cmdline.includes('/influxd\0') ? 'influxd' : cmdline.includes('cflux') && cmdline.includes('\0agent\0') ? 'agents' : undefined;
      if (!kind) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out[kind] += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

console.log(`agents run ${process.env['CFLUX_BIN'] ?? 'bin/cflux.ts (TypeScript source; set CFLUX_BIN=dist/bin/cflux.js for the build operators run)'}`);
const cluster = await startClusterFixture({ size: 3, etcd: false, agentArgs: ['--repair-interval', '0', '--log-level', 'info'] });
const influxd = await startInfluxd();
try {
  const proxy = cluster.agents[0]!.proxyUrl;
  await influxQuery(proxy, 'CREATE DATABASE bench; CREATE DATABASE live');
  const agent = await startAgentProcess(['--manager', cluster.manager.url, '--cluster', 'fixture', '--node-name', 'node-3', '--influxd-url', influxd.url, '--data-dir', `${influxd.dir}/agent`, '--heartbeat-interval', '1', '--drift-interval', '0.5', '--repair-interval', '0', '--log-level', 'info'], { env: { CFLUX_SECRET: TEST_SECRET } });
  const bodies = batches(1_700_000_000, POINTS);
  const loaded = await writeAll(proxy, 'bench', bodies);
  console.log(`loaded ${POINTS} points through the proxy in ${loaded.toFixed(1)} s`);
  await influxQuery(influxd.url, 'CREATE DATABASE direct');
  const direct = POINTS / (await writeAll(influxd.url, 'direct', bodies));

  const writer = new SteadyWriter(cluster.agents[1]!.proxyUrl);
  writer.start();
  await sleep(5000);
  const before = writer.points / 5;

  const startedAt = performance.now();
  const cpuAtStart = cpuSeconds();
  const pointsAtStart = writer.points;
  let copyingAt: number | undefined;
  let copiedAt: number | undefined;
  await promisify(execFile)(process.execPath, [CFLUX, 'members', 'add', 'node-3', '--detach', '--manager', cluster.manager.url, '--cluster', 'fixture', '--agent', cluster.agents[0]!.peerUrl], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN } });
  let last: MemberMove | undefined;
  for (;;) {
    const settings = ((await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { metadata: { settings: { dataMembers: string[]; move?: MemberMove } } }).metadata.settings;
    if (!settings.move && settings.dataMembers.includes('node-3')) break;
    last = settings.move ?? last;
    if (last?.phase === 'copying') copyingAt ??= performance.now();
    if (last?.phase === 'copying' && moveProgress(last).done === moveProgress(last).units) copiedAt ??= performance.now();
    await sleep(100);
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const cpuAtEnd = cpuSeconds();
  const during = (writer.points - pointsAtStart) / seconds;
  await writer.stop();
  await agent.stop();

  const members3 = ['node-0', 'node-1', 'node-2'];
  const members4 = [...members3, 'node-3'];
  const moved = Array.from({ length: MEASUREMENTS }, (_, i) => `bench_${i}`).filter((m) => !ownersOf('bench', m, members4, 2).every((owner) => ownersOf('bench', m, members3, 2).includes(owner)));
  // Database bench holds the preloaded points; the live writer's database is copied too but keeps growing.
  const copied = Object.values(last?.units['bench'] ?? {}).reduce((sum, unit) => sum + unit.points, 0);
  const copiedAll = last ? moveProgress(last).points : 0;
  const expectedCopied = moved.length * (POINTS / MEASUREMENTS);
  const copyRate = copiedAll / seconds;
  console.log(`move 3 -> 4 nodes: ${seconds.toFixed(1)} s, ${copiedAll} points copied (${Math.round(copyRate)} points/s); direct write ${Math.round(direct)} points/s`);
  const at = (time: number | undefined) => (time === undefined ? '?' : ((time - startedAt) / 1000).toFixed(1));
  console.log(`phases: copying started at ${at(copyingAt)} s, every unit copied at ${at(copiedAt)} s, move done at ${seconds.toFixed(1)} s`);
  console.log(`CPU during the move (2 cores = ${(2 * seconds).toFixed(0)} s): influxd ${(cpuAtEnd.influxd - cpuAtStart.influxd).toFixed(1)} s, agents ${(cpuAtEnd.agents - cpuAtStart.agents).toFixed(1)} s`);
  console.log(`copy rate as a ratio of a direct write: ${(copyRate / direct).toFixed(2)}x`);
  console.log(`concurrent writer: ${Math.round(before)} points/s before, ${Math.round(during)} points/s during the move: ${(during / before).toFixed(2)}x`);
  console.log(`units of database bench whose owners changed: ${moved.length} of ${MEASUREMENTS} (${(moved.length / MEASUREMENTS).toFixed(2)}; RF/new members = 0.50); ${Object.keys(last?.units['bench'] ?? {}).length} copied, ${copied} points for ${expectedCopied} points in those units`);
  console.log(`${copyRate / direct >= 0.5 ? 'PASS' : 'FAIL'}: copy rate >= 0.5x a direct write`);
  console.log(`${during / before >= 0.7 ? 'PASS' : 'FAIL'}: concurrent writes during the move >= 0.7x their rate before`);
  const listed = Object.keys(last?.units['bench'] ?? {}).sort();
  const shareOk = Math.abs(moved.length / MEASUREMENTS - 0.5) <= 0.15 && JSON.stringify(listed) === JSON.stringify([...moved].sort()) && copied === expectedCopied;
  console.log(`${shareOk ? 'PASS' : 'FAIL'}: only the units whose owners changed moved (share near 0.5, points copied = their points)`);
} finally {
  await cluster.stop();
  await influxd.destroy();
}
