/**
 * Manager load benchmark: one real etcd, ONE `cflux manager` process, and N
 * simulated agents on loopback. Each agent registers once (bounded
 * concurrency), heartbeats every --interval seconds (first beat spread
 * uniformly over the interval) and holds one metadata long-poll. During the
 * steady-state window a metadata version is written every --write-every
 * seconds and the time until every long-poll has seen it is measured.
 *
 *   npm run bench:manager -- --agents 1000 --duration 30
 *
 * Flags: --agents N (1000) --duration S (60) --interval S (5)
 *        --poll-timeout S (300) --register-concurrency N (50)
 *        --hb-connections N (agents/10, 64..2048) --write-every S (10; 0 = no writes)
 *        --managers M (1): M manager replicas on the one etcd, agent i talking to replica i mod M
 *        (what M replicas behind a Kubernetes Service see: each agent's connections stay on one replica)
 *        --floor: the same load on bench/manager-floor.ts (a Node server that does no work) instead
 *        of the manager: what the bench, loopback and machine alone cost a heartbeat
 */
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Pool } from 'undici';
import { freePort, startEtcd } from '../test/helpers/servers.ts';
import type { EtcdServer } from '../test/helpers/servers.ts';
import type { ManagerProcess } from './bench-stats.ts';
import { ProcSampler, checkSocketLimits, forEachLimited, grouped, metricValue, mib, percentile, readCpuSeconds, scrape, serverSideReport, spawnManager, stopChild, summarize } from './bench-stats.ts';

const FLAGS = ['agents', 'duration', 'interval', 'poll-timeout', 'register-concurrency', 'hb-connections', 'write-every', 'managers'];
const flags: Record<string, string | boolean | undefined> = (() => {
  try {
    return parseArgs({ options: { ...Object.fromEntries(FLAGS.map((k) => [k, { type: 'string' as const }])), floor: { type: 'boolean' as const } } }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\nflags: ${FLAGS.map((k) => `--${k}`).join(' ')} --floor`);
    return process.exit(1);
  }
})();
function num(name: string, dflt: number, min: number): number {
  const raw = flags[name];
  const value = raw === undefined ? dflt : Number(raw);
  if (!Number.isFinite(value) || value < min) {
    console.error(`--${name} must be a number >= ${min}, got ${String(raw)}`);
    process.exit(1);
  }
  return value;
}
const N = Math.floor(num('agents', 1000, 1));
const DURATION_S = num('duration', 60, 1);
const INTERVAL_MS = num('interval', 5, 0.1) * 1000;
const POLL_TIMEOUT_S = num('poll-timeout', 300, 1);
const REG_CONCURRENCY = Math.floor(num('register-concurrency', 50, 1));
// Real agents each have their own connection; 1 per 10 agents keeps client-side queueing out of the latency.
const HB_CONNECTIONS = Math.floor(num('hb-connections', Math.min(2048, Math.max(64, Math.ceil(N / 10))), 1));
const WRITE_EVERY_S = num('write-every', 10, 0);
const M = Math.floor(num('managers', 1, 1));
const CLUSTER = 'bench';
const FANOUT_WAIT_MS = 10_000;

const log = (line: string): void => console.log(line);
const ms = (t0: number): number => performance.now() - t0;
const benchT0 = performance.now();
let managerDied = '';
let stopping = false;
const errText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

// Whole run bounded in time, whatever happens.
const budgetMs = 300_000 + N * 30 + DURATION_S * 1000;
const managerPids: number[] = [];
setTimeout(() => {
  console.error(`bench: watchdog: not finished after ${Math.round(budgetMs / 1000)} s, giving up`);
  for (const pid of managerPids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  process.exit(1);
}, budgetMs).unref();

log(`manager bench: ${grouped(N)} agents, ${DURATION_S} s steady state, heartbeat every ${INTERVAL_MS / 1000} s, long-poll ?timeout=${POLL_TIMEOUT_S}, loopback`);
log(`host: ${availableParallelism()} CPUs shared by bench, manager and etcd; load average (1 min) ${loadavg()[0]!.toFixed(2)} before start`);
for (const line of checkSocketLimits(N, N + HB_CONNECTIONS + 256)) log(line);

// ---------------------------------------------------------------- setup ---
// The manager needs its token (inherited by the spawned manager through the environment).
const TOKEN = 'bench-manager-token-0123456789';
process.env['CFLUX_MANAGER_TOKEN'] = TOKEN;
const AUTH = { authorization: `Bearer ${TOKEN}` };
let etcd: EtcdServer | undefined;
const managers: ManagerProcess[] = [];
const origins: string[] = [];
try {
  etcd = await startEtcd();
  log(`etcd: ${etcd.endpoint} (pid ${etcd.pid}, ready in ${etcd.readyMs} ms)`);
  // The built manager (npm run bench:manager builds it): what ships, without type stripping's own memory.
  const cli = flags['floor'] ? fileURLToPath(new URL('./manager-floor.ts', import.meta.url)) : process.env['CFLUX_BIN'] ?? fileURLToPath(new URL('../bin/cflux.ts', import.meta.url));
  if (flags['floor']) log('FLOOR RUN: a Node HTTP server that does no work (bench/manager-floor.ts) stands in for the manager');
  for (let k = 0; k < M; k++) {
    const origin = `http://127.0.0.1:${await freePort()}`;
    const manager = await spawnManager([cli, 'manager', '--listen', origin.slice(7), '--etcd-endpoints', etcd.endpoint, '--log-level', 'warn'], origin);
    managers.push(manager);
    origins.push(origin);
    managerPids.push(manager.child.pid!);
    manager.child.once('exit', (code, signal) => {
      if (stopping) return;
      managerDied = `manager ${k} EXITED UNEXPECTEDLY ${((performance.now() - benchT0) / 1000).toFixed(1)} s into the run (code ${code}, signal ${signal}${code === 0 ? ': a graceful stop, i.e. it got SIGTERM/SIGINT from outside' : ''})`;
      log(`!! ${managerDied}`);
    });
    log(`manager${M > 1 ? ` ${k}` : ''}: ${origin} (pid ${manager.child.pid}, ready in ${manager.readyMs} ms; node flags: ${manager.nodeArgs.join(' ') || 'none'})`);
  }
} catch (err) {
  console.error(`bench: setup failed: ${errText(err)}`);
  await etcd?.destroy();
  process.exit(1);
}

// --------------------------------------------------------------- agents ---
// Each simulated agent talks over a fixed connection of its own (long-polls) or
// shared by every HB_CONNECTIONS-th agent (heartbeats): a Pool of 10,000
// connections looks for a free one on every request and became the bench's
// own bottleneck (its queue, not the manager, made the latency).
const origin = origins[0]!;
const hbClients = Array.from({ length: HB_CONNECTIONS }, (_, k) => new Client(origins[k % M]!, { headersTimeout: 10_000, bodyTimeout: 10_000, connectTimeout: 10_000 }));
const hbClientOf = (a: { i: number }): Client => hbClients[a.i % HB_CONNECTIONS]!;
const pollClients: Client[] = [];
let hbInFlight = 0;
// Operator traffic (metadata reads and writes) must not queue behind the agents' requests.
const ctrlPool = new Pool(origin, { connections: 4, headersTimeout: 30_000, bodyTimeout: 30_000 });
const managerProcs = managerPids.map((pid) => new ProcSampler(pid));
const etcdProc = new ProcSampler(etcd!.pid);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

interface AgentState { i: number; id: number; known: number; beats: number; timer: NodeJS.Timeout | undefined; poll?: Client }
const agents: AgentState[] = [];
let measuring = false;
const reg = { ok: 0, skipped: 0, errors: 0, reRegistered: 0, latencies: [] as number[], lastError: '' };
const hb = { sent: 0, non200: 0, notFound: 0, network: 0, maxQueued: 0, latencies: [] as number[], starts: [] as number[], byStatus: new Map<number, number>(), lastError: '' };
const hbTotal = { ok: 0, failed: 0 }; // whole run, including the ramp
const polls = { open: 0, changed: 0, timedOut: 0, errors: 0, lastError: '' };
let fanout: { version: number; expected: number; t0: number; arrivals: number[]; done: () => void } | undefined;

async function register(a: AgentState): Promise<boolean> {
  const body = {
    name: `bench-agent-${a.i}`, hostname: `bench-host-${a.i}`, ip: ['127.0.0.1'],
    'bind-address': `127.0.0.1:${10000 + (a.i % 50000)}`, 'proxy-address': `127.0.0.1:${20000 + (a.i % 40000)}`,
    version: 'bench', stats: {},
  };
  for (let attempt = 1; attempt <= 3 && !stopping; attempt++) {
    const t0 = performance.now();
    try {
      const res = await hbClientOf(a).request({ path: `/nodes/${CLUSTER}`, method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode === 201) {
        a.id = (JSON.parse(text) as { id: number }).id;
        reg.latencies.push(ms(t0));
        return true;
      }
      reg.lastError = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
    } catch (err) {
      reg.lastError = errText(err);
    }
    reg.errors++;
    await sleep(500 * attempt);
  }
  return false;
}

async function heartbeat(a: AgentState): Promise<void> {
  const counted = measuring;
  const t0 = performance.now();
  const stats = { cpu: Math.round(Math.random() * 100) / 100, 'mem-bytes': 200_000_000 + a.i, series: 1000 + a.beats, 'points-written': a.beats * 500 };
  a.beats++;
  hbInFlight++;
  if (counted) hb.maxQueued = Math.max(hb.maxQueued, hbInFlight);
  try {
    const res = await hbClientOf(a).request({ path: `/nodes/${CLUSTER}/${a.id}`, method: 'PUT', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ stats }) });
    await res.body.dump();
    if (res.statusCode === 200) hbTotal.ok++;
    else {
      hbTotal.failed++;
      hb.lastError = `HTTP ${res.statusCode}`;
    }
    if (counted) {
      hb.sent++;
      hb.latencies.push(ms(t0));
      hb.starts.push(t0);
      hb.byStatus.set(res.statusCode, (hb.byStatus.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode !== 200) hb.non200++;
      if (res.statusCode === 404) hb.notFound++;
    }
    if (res.statusCode === 404 && !stopping && (await register(a))) reg.reRegistered++;
  } catch (err) {
    if (counted) { hb.sent++; hb.network++; }
    hbTotal.failed++;
    hb.lastError = errText(err);
  } finally {
    hbInFlight--;
  }
}

function scheduleHeartbeats(a: AgentState): void {
  let due = performance.now() + Math.random() * INTERVAL_MS;
  const tick = async (): Promise<void> => {
    if (stopping) return;
    await heartbeat(a);
    due += INTERVAL_MS;
    if (!stopping) a.timer = setTimeout(() => void tick(), Math.max(0, due - performance.now()));
  };
  a.timer = setTimeout(() => void tick(), Math.max(0, due - performance.now()));
}

function pollClientOf(a: AgentState): Client {
  if (!a.poll) {
    a.poll = new Client(origins[a.i % M]!, { headersTimeout: (POLL_TIMEOUT_S + 60) * 1000, bodyTimeout: 60_000, connectTimeout: 10_000 });
    pollClients.push(a.poll);
  }
  return a.poll;
}

async function pollLoop(a: AgentState): Promise<void> {
  while (!stopping) {
    polls.open++;
    try {
      const res = await pollClientOf(a).request({ path: `/clusters/${CLUSTER}/versions/${a.known}?timeout=${POLL_TIMEOUT_S}`, method: 'GET', headers: AUTH });
      polls.open--;
      if (res.statusCode === 200) {
        const { version } = (await res.body.json()) as { version: number };
        a.known = version;
        polls.changed++;
        if (fanout && version === fanout.version) {
          fanout.arrivals.push(ms(fanout.t0));
          if (fanout.arrivals.length >= fanout.expected) fanout.done();
        }
        continue;
      }
      await res.body.dump();
      if (res.statusCode === 204) { polls.timedOut++; continue; }
      polls.lastError = `HTTP ${res.statusCode}`;
    } catch (err) {
      polls.open--;
      polls.lastError = errText(err);
    }
    if (stopping) break;
    polls.errors++;
    await sleep(1000);
  }
}

// ---------------------------------------------------------- registration ---
const regT0 = performance.now();
const REG_BUDGET_MS = 60_000 + N * 15; // an overloaded manager must not eat the whole run
const pollLoops: Array<Promise<void>> = [];
let lastBeats = 0;
const progress = setInterval(() => {
  log(`  ... ${((performance.now() - benchT0) / 1000).toFixed(0)} s: ${grouped(reg.ok)} registered, ${grouped(polls.open)} long-polls open, heartbeats ${grouped(hbTotal.ok - lastBeats)} ok in 10 s, ${grouped(hbTotal.failed)} failed so far${hbTotal.failed ? ` (last: ${hb.lastError})` : ''}`);
  lastBeats = hbTotal.ok;
}, 10_000);
await forEachLimited(N, REG_CONCURRENCY, async (i) => {
  if (ms(regT0) > REG_BUDGET_MS || managerDied) return void reg.skipped++;
  const a: AgentState = { i, id: 0, known: 0, beats: 0, timer: undefined };
  if (!(await register(a))) return;
  reg.ok++;
  agents.push(a);
  pollLoops.push(pollLoop(a));
  scheduleHeartbeats(a);
});
clearInterval(progress);
const regSeconds = ms(regT0) / 1000;
log(`registration: ${grouped(reg.ok)}/${grouped(N)} agents in ${regSeconds.toFixed(1)} s = ${Math.round(reg.ok / regSeconds)} registrations/s (concurrency ${REG_CONCURRENCY}); latency ${summarize(reg.latencies)}; failed attempts ${reg.errors}${reg.skipped ? `; ${grouped(reg.skipped)} NOT attempted (${managerDied ? 'manager gone' : `registration took longer than ${REG_BUDGET_MS / 1000} s`})` : ''}${reg.lastError ? ` (last: ${reg.lastError})` : ''} [done ${((performance.now() - benchT0) / 1000).toFixed(1)} s into the run]`);
if (reg.ok === 0) {
  console.error('bench: no agent could register');
  stopping = true;
  for (const manager of managers) manager.child.kill('SIGKILL');
  await etcd?.destroy();
  process.exit(1);
}
const openT0 = performance.now();
while (polls.open < agents.length && ms(openT0) < 30_000 && !managerDied) await sleep(100);
log(`long-polls open (client side): ${grouped(polls.open)}/${grouped(agents.length)} after ${(ms(openT0) / 1000).toFixed(1)} s more`);
await sleep(1000);

// --------------------------------------------------------- steady state ---
async function metadataVersion(): Promise<number> {
  const res = await ctrlPool.request({ path: `/clusters/${CLUSTER}`, method: 'GET', headers: AUTH });
  return ((await res.body.json()) as { version: number }).version;
}
async function writeAndFanOut(n: number): Promise<string> {
  const base = await metadataVersion();
  const expected = polls.open;
  let done = (): void => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  fanout = { version: base + 1, expected, t0: performance.now(), arrivals: [], done };
  const state = fanout;
  const res = await ctrlPool.request({ path: `/clusters/${CLUSTER}/versions/${base}`, method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ format: 1, databases: {}, users: {}, settings: { replicationFactor: 2, dataMembers: [], pins: {} }, bench: { write: n, at: new Date().toISOString() } }) });
  const writeMs = ms(state.t0);
  await res.body.dump();
  if (res.statusCode !== 200) return `fan-out #${n}: write of version ${base + 1} failed with HTTP ${res.statusCode}`;
  await Promise.race([all, sleep(FANOUT_WAIT_MS)]);
  fanoutAll.push(...state.arrivals);
  fanoutWindows.push([state.t0, state.t0 + Math.max(writeMs, ...state.arrivals)]);
  return `fan-out #${n} (version ${base + 1}, POST took ${writeMs.toFixed(1)} ms): ${grouped(state.arrivals.length)}/${grouped(expected)} open long-polls returned within ${FANOUT_WAIT_MS / 1000} s; ${summarize(state.arrivals, [50, 99])}`;
}
const fanoutAll: number[] = [];
const fanoutWindows: Array<[number, number]> = [];
const fanoutLines: string[] = [];
const [managerMetrics0, etcdMetrics0] = await Promise.all([scrape(`${origin}/metrics`, AUTH), scrape(`${etcd!.endpoint}/metrics`)]);
for (const proc of managerProcs) proc.markStart();
etcdProc.markStart();
const benchCpu0 = readCpuSeconds(process.pid) ?? NaN;
loopDelay.enable();
measuring = true;
const steadyT0 = performance.now();
for (let k = 1; WRITE_EVERY_S > 0 && k * WRITE_EVERY_S < DURATION_S && !managerDied; k++) {
  await sleep(Math.max(0, steadyT0 + k * WRITE_EVERY_S * 1000 - performance.now()));
  fanoutLines.push(await writeAndFanOut(k).catch((err: unknown) => `fan-out #${k}: ${errText(err)}`));
}
while (performance.now() < steadyT0 + DURATION_S * 1000 && !managerDied) await sleep(Math.min(500, steadyT0 + DURATION_S * 1000 - performance.now()));
measuring = false;
const steadySeconds = ms(steadyT0) / 1000;
for (const proc of managerProcs) proc.markEnd();
etcdProc.markEnd();
loopDelay.disable();
const benchCpu = (100 * ((readCpuSeconds(process.pid) ?? NaN) - benchCpu0)) / steadySeconds;

const [metricsText, etcdMetrics] = await Promise.all([scrape(`${origin}/metrics`, AUTH), scrape(`${etcd!.endpoint}/metrics`)]);

// --------------------------------------------------------------- report ---
const p99 = hb.latencies.length ? percentile([...hb.latencies].sort((a, b) => a - b), 99) : Infinity;
const hbErrors = hb.non200 + hb.network;
const statusText = [...hb.byStatus].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s}=${c}`).join(' ');
log(`steady state: ${steadySeconds.toFixed(1)} s (load average 1 min at its end: ${loadavg()[0]!.toFixed(2)})`);
log(`agents: ${grouped(agents.length)}`);
log(`heartbeats sent: ${grouped(hb.sent)} (${(hb.sent / steadySeconds).toFixed(0)}/s; statuses ${statusText || 'none'})`);
log(`heartbeat errors: ${grouped(hbErrors)} (non-200: ${hb.non200}, of which 404: ${hb.notFound}; network/timeouts: ${hb.network})${hb.lastError ? ` last error: ${hb.lastError}` : ''}`);
log(`re-registrations after 404: ${reg.reRegistered}`);
log(`heartbeat latency: ${summarize(hb.latencies, [50, 90, 99])}; ${HB_CONNECTIONS} client connections, at most ${hb.maxQueued} heartbeats in flight`);
const quiet = hb.latencies.filter((lat, i) => !fanoutWindows.some(([from, to]) => hb.starts[i]! < to && hb.starts[i]! + lat > from));
if (fanoutWindows.length > 0) log(`heartbeat latency outside fan-out windows: ${summarize(quiet, [50, 90, 99])}`);
if (!flags['floor']) for (const line of serverSideReport({ manager: managerMetrics0, etcd: etcdMetrics0 }, { manager: metricsText, etcd: etcdMetrics }, hb.sent)) log(line);
managerProcs.forEach((proc, k) => {
  log(`manager${M > 1 ? ` ${k}` : ''} RSS: at steady start ${mib(proc.startRssKib)}, max ${mib(proc.maxRssKib)}, final ${mib(proc.lastRssKib)}`);
  log(`manager${M > 1 ? ` ${k}` : ''} CPU: ${proc.cpuPercent.toFixed(1)}% of one core (steady-state average)`);
});
log(`etcd: RSS max ${mib(etcdProc.maxRssKib)}, CPU ${etcdProc.cpuPercent.toFixed(1)}% of one core; bench process CPU ${benchCpu.toFixed(1)}%, event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms`);
log(`cflux_manager_open_long_polls: ${metricValue(metricsText, 'cflux_manager_open_long_polls')}`);
log(`cflux_manager_metadata_watches: ${metricValue(metricsText, 'cflux_manager_metadata_watches')}`);
log(`cflux_manager_process_open_fds: ${metricValue(metricsText, 'cflux_manager_process_open_fds')}`);
for (const line of fanoutLines) log(line);
if (fanoutLines.length > 0) log(`fan-out latency (all writes): ${summarize(fanoutAll, [50, 99])}`);
log(`long-poll answers: 200=${polls.changed} 204=${polls.timedOut} errors=${polls.errors}${polls.lastError ? ` (last: ${polls.lastError})` : ''}`);
if (managerDied) log(`!! ${managerDied}`);
// Targets (issue 15): p99 over the steady state, and per 5 s window (min/median/max) to show how steady it is.
const windows = new Map<number, number[]>();
hb.latencies.forEach((lat, i) => {
  const w = Math.floor((hb.starts[i]! - steadyT0) / 5000);
  const list = windows.get(w) ?? [];
  list.push(lat);
  windows.set(w, list);
});
const inTimeOrder = [...windows.entries()].sort((a, b) => a[0] - b[0]).map(([, lats]) => percentile(lats.sort((a, b) => a - b), 99));
const windowP99 = [...inTimeOrder].sort((a, b) => a - b);
if (windowP99.length > 0) log(`heartbeat p99 per 5 s window: min ${windowP99[0]!.toFixed(1)} median ${percentile(windowP99, 50).toFixed(1)} max ${windowP99.at(-1)!.toFixed(1)} ms (in time order: ${inTimeOrder.map((p) => p.toFixed(0)).join(', ')})`);
const maxRssMib = Math.max(...managerProcs.map((proc) => proc.maxRssKib / 1024));
const healthy = hbErrors === 0 && agents.length === N && !managerDied;
const target = (text: string, ok: boolean, measured: string): void => log(`${flags['floor'] ? 'FLOOR (not the manager) ' : ''}target ${text}: ${ok ? 'PASS' : 'FAIL'} (${measured})`);
target(`heartbeat p99 <= 50 ms at ${grouped(N)} agents, no errors`, p99 <= 50 && healthy, `p99 ${p99.toFixed(1)} ms, ${hbErrors} errors`);
target(`all ${grouped(N)} agents registered in <= 20 s`, reg.ok === N && regSeconds <= 20, `${grouped(reg.ok)} in ${regSeconds.toFixed(1)} s at concurrency ${REG_CONCURRENCY}`);
target(`manager RSS <= 512 MiB`, maxRssMib <= 512, `max ${maxRssMib.toFixed(0)} MiB${M > 1 ? ` of ${M} replicas` : ''}`);

// -------------------------------------------------------------- cleanup ---
stopping = true;
for (const a of agents) clearTimeout(a.timer);
const openAtStop = polls.open;
const stopT0 = performance.now();
const exits = await Promise.all(managers.map((manager) => stopChild(manager.child, 20_000)));
log(`manager shutdown after SIGTERM with ${grouped(openAtStop)} open long-polls: ${(ms(stopT0) / 1000).toFixed(1)} s, exit ${exits.map(String).join(', ')}`);
for (const manager of managers) log(`manager log: ${manager.logLines} line(s) at warn or above${manager.firstLines.length ? `; first: ${manager.firstLines.join(' | ')}` : ''}`);
for (const proc of managerProcs) proc.stop();
etcdProc.stop();
const clients = [...hbClients, ...pollClients, ctrlPool];
await Promise.race([Promise.allSettled([...pollLoops, ...clients.map((c) => c.close())]), sleep(10_000)]);
await Promise.all(clients.map((c) => c.destroy())).catch(() => undefined);
await etcd!.destroy();
process.exit(0);
