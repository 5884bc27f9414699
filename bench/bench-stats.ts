/**
 * Small helpers for the benchmarks: percentiles, /proc sampling of another
 * process (RSS, CPU), the open-file limit, and a bounded-concurrency map.
 * Linux only (reads /proc); only node built-ins.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/servers.ts';
import { SHIPPED_MANAGER_ENV } from '../test/helpers/shipped-agent-flags.ts';

/** Percentile `p` (0..100) of `sorted` (ascending), nearest-rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** `p50=.. p90=.. p99=.. max=..` in ms with one decimal, for a list of ms values. */
export function summarize(values: readonly number[], ps: readonly number[] = [50, 90, 99]): string {
  if (values.length === 0) return 'n/a (no samples)';
  const sorted = [...values].sort((a, b) => a - b);
  const parts = ps.map((p) => `p${p}=${percentile(sorted, p).toFixed(1)}`);
  parts.push(`max=${sorted.at(-1)!.toFixed(1)}`);
  return `${parts.join(' ')} ms (n=${sorted.length})`;
}

/** Resident set size of `pid` in KiB (VmRSS), or undefined if the process is gone. */
export function readRssKib(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of `pid` in seconds, or undefined if the process is gone. */
export function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Samples a process' RSS every second; CPU is read at `markStart()` / `markEnd()`. */
export class ProcSampler {
  readonly pid: number;
  maxRssKib = 0;
  lastRssKib = 0;
  startRssKib = 0;
  #timer: NodeJS.Timeout;
  #cpuStart: { t: number; cpu: number } | undefined;
  #cpuEnd: { t: number; cpu: number } | undefined;

  constructor(pid: number) {
    this.pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000);
    this.#timer.unref();
  }

  #sample(): void {
    const rss = readRssKib(this.pid);
    if (rss === undefined) return;
    this.lastRssKib = rss;
    this.maxRssKib = Math.max(this.maxRssKib, rss);
  }

  markStart(): void {
    this.startRssKib = readRssKib(this.pid) ?? 0;
    this.#cpuStart = { t: performance.now(), cpu: readCpuSeconds(this.pid) ?? NaN };
  }

  markEnd(): void {
    this.#sample();
    this.#cpuEnd = { t: performance.now(), cpu: readCpuSeconds(this.pid) ?? NaN };
  }

  /** Average CPU between markStart and markEnd in % of one core. */
  get cpuPercent(): number {
    if (!this.#cpuStart || !this.#cpuEnd) return NaN;
    const wall = (this.#cpuEnd.t - this.#cpuStart.t) / 1000;
    return (100 * (this.#cpuEnd.cpu - this.#cpuStart.cpu)) / wall;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Soft and hard RLIMIT_NOFILE of this process (from /proc/self/limits). */
export function openFileLimit(): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return undefined;
    const num = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: num(m[1]!), hard: num(m[2]!) };
  } catch {
    return undefined;
  }
}

/** The local (ephemeral) port range, for loopback client sockets. */
export function ephemeralPortCount(): number | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo !== undefined && hi !== undefined ? hi - lo + 1 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `fn(i)` for i in [0, count) with at most `limit` running at once. */
export async function forEachLimited(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** `1234567` → `1,234,567`. */
export function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/** Cumulative bucket counts (upper bound in seconds → count) of a Prometheus histogram; `match` filters lines. */
function buckets(text: string, name: string, match: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(match)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le !== undefined) out.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/**
 * Quantiles of a Prometheus histogram between two scrapes (`before` may be
 * ''), as `p50<=X p99<=Y ms (n=..)`: the upper bound of the bucket holding
 * each rank. `match` filters the bucket lines (e.g. a label).
 */
export function histogramSummary(before: string, after: string, name: string, match = '', qs: readonly number[] = [0.5, 0.99]): string {
  const start = buckets(before, name, match);
  const delta = [...buckets(after, name, match)].map(([le, n]): [number, number] => [le, n - (start.get(le) ?? 0)]).sort((a, b) => a[0] - b[0]);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total === 0) return 'n/a (no samples)';
  const parts = qs.map((q) => {
    const le = delta.find(([, n]) => n >= q * total)?.[0] ?? Infinity;
    return `p${q * 100}<=${le === Infinity ? 'inf' : String(+(le * 1000).toFixed(1))}`;
  });
  return `${parts.join(' ')} ms (n=${total})`;
}

/**
 * Checks that `fdsNeeded` descriptors fit this process' open-file limit
 * (raising the soft limit to the hard one with prlimit if needed; children
 * inherit it) and that `sockets` client sockets fit the ephemeral port
 * range. Returns the lines to print.
 */
export function checkSocketLimits(sockets: number, fdsNeeded: number): string[] {
  let limit = openFileLimit();
  if (limit && limit.soft < fdsNeeded && limit.soft < limit.hard) {
    // Node raises its soft limit to the hard one at start already; make sure.
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit.hard}:${limit.hard}`]);
      limit = openFileLimit();
    } catch {
      // reported below
    }
  }
  const lines = [`open files: need about ${grouped(fdsNeeded)} per process (bench and manager), limit soft ${limit?.soft ?? '?'} / hard ${limit?.hard ?? '?'}`];
  if (limit && limit.soft < fdsNeeded) {
    lines.push(
      `WARNING: ${grouped(sockets)} long-polls need ~${grouped(fdsNeeded)} descriptors but 'ulimit -n' is ${limit.soft} (hard ${limit.hard}): expect EMFILE errors.`,
      `         Raise it before running, e.g. 'ulimit -n ${fdsNeeded}' (above the hard limit only as root: 'sudo prlimit --pid $$ --nofile=${fdsNeeded}:${fdsNeeded}' or /etc/security/limits.conf).`,
    );
  }
  const ports = ephemeralPortCount();
  if (ports !== undefined && sockets > ports) lines.push(`WARNING: ${grouped(sockets)} client sockets exceed the ${grouped(ports)} ephemeral ports (net.ipv4.ip_local_port_range)`);
  return lines;
}

/** GET `url` as text; a failure becomes a `# error` comment (an empty scrape). */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    return await res.text();
  } catch (err) {
    return `# ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** First sample of metric `name` (any labels) in Prometheus text, or 'n/a'. */
export function metricValue(text: string, name: string): string {
  return new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 'n/a';
}

/** Total GC seconds (all kinds) of prom-client's default metrics with `prefix`. */
export function gcSeconds(text: string, prefix: string): number {
  const re = new RegExp(`^${prefix}nodejs_gc_duration_seconds_sum\\{[^}]*\\} (\\S+)$`, 'gm');
  return [...text.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** A manager child process started by {@link spawnManager}. */
export interface ManagerProcess {
  child: ChildProcess;
  readyMs: number;
  /** Lines it printed (stdout + stderr), and the first five of them. */
  logLines: number;
  firstLines: string[];
  /** The node flags it runs with. */
  nodeArgs: string[];
}

/**
 * Spawns `node args` (this process' node) and waits up to 30 s for
 * `GET {url}/health` to answer 200; the child is SIGKILLed when this process
 * exits. Throws (after killing it) if it exits or is not ready in time.
 */
export async function spawnManager(args: string[], url: string): Promise<ManagerProcess> {
  const t0 = performance.now();
  // The manager runs with the flags it ships with (kubernetes/manager.yaml), unless
  // CFLUX_BENCH_MANAGER_NODE_ARGS names others (e.g. '' for none, to compare heap settings).
  const nodeArgs = (process.env['CFLUX_BENCH_MANAGER_NODE_ARGS'] ?? SHIPPED_MANAGER_ENV['NODE_OPTIONS'] ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const proc: ManagerProcess = { child, readyMs: 0, logLines: 0, firstLines: [], nodeArgs };
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      proc.logLines++;
      if (proc.firstLines.length < 5) proc.firstLines.push(line.slice(0, 300));
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // CFLUX_BENCH_MANAGER_LOG=file keeps everything it printed (e.g. with --trace-gc in CFLUX_BENCH_MANAGER_NODE_ARGS).
  const keep = process.env['CFLUX_BENCH_MANAGER_LOG'];
  if (keep) {
    const file = createWriteStream(keep, { flags: 'a' });
    child.stdout?.pipe(file, { end: false });
    child.stderr?.pipe(file, { end: false });
  }
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`manager exited during start (${child.exitCode ?? child.signalCode}): ${proc.firstLines.join('\n')}`);
    }
    if (performance.now() - t0 > 30_000) {
      child.kill('SIGKILL');
      throw new Error('manager did not answer GET /health 200 within 30 s');
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  proc.readyMs = Math.round(performance.now() - t0);
  return proc;
}

/** `kib` as `12.3 MiB`. */
export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/**
 * Report lines from two scrapes (before and after the steady state) of the
 * manager's and etcd's /metrics: heartbeat time inside the manager, etcd disk
 * latency and database growth, the manager's event-loop lag and GC time.
 */
export function serverSideReport(before: { manager: string; etcd: string }, after: { manager: string; etcd: string }, heartbeats: number): string[] {
  const num = (text: string, name: string): number => Number(metricValue(text, name));
  const delta = (name: string): number => num(after.etcd, name) - num(before.etcd, name);
  const dbBytes = delta('etcd_mvcc_db_total_size_in_bytes');
  const lagMs = (name: string): string => (1000 * num(after.manager, `cflux_manager_nodejs_eventloop_lag_${name}_seconds`)).toFixed(1);
  const gcMs = 1000 * (gcSeconds(after.manager, 'cflux_manager_') - gcSeconds(before.manager, 'cflux_manager_'));
  return [
    `heartbeat time inside the manager (its histogram, bucket bounds): ${histogramSummary(before.manager, after.manager, 'cflux_manager_http_request_duration_seconds', 'route="/nodes/:cluster/:id"')}`,
    `etcd WAL fsync: ${histogramSummary(before.etcd, after.etcd, 'etcd_disk_wal_fsync_duration_seconds')}; backend commit: ${histogramSummary(before.etcd, after.etcd, 'etcd_disk_backend_commit_duration_seconds')}`,
    `etcd db (no compaction): ${mib(num(after.etcd, 'etcd_mvcc_db_total_size_in_bytes') / 1024)}, +${mib(dbBytes / 1024)} in steady state = ${(dbBytes / Math.max(1, heartbeats) / 1024).toFixed(2)} KiB per heartbeat; +${grouped(delta('etcd_debugging_mvcc_current_revision'))} revisions`,
    `manager event loop (since previous scrape): lag p99 ${lagMs('p99')} ms, max ${lagMs('max')} ms; GC ${gcMs.toFixed(0)} ms in total`,
  ];
}

/** SIGTERM `child`, SIGKILL after `graceMs`; resolves to its exit code or signal (`SIGKILL after grace` if forced). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return String(child.exitCode ?? child.signalCode);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(String(code ?? signal))));
  child.kill('SIGTERM');
  const result = await Promise.race([exited, sleep(graceMs, undefined)]);
  if (result !== undefined) return result;
  child.kill('SIGKILL');
  await exited;
  return `SIGKILL after ${graceMs / 1000} s grace`;
}

/** Starts bench/tcp-relay.ts (a bare TCP relay, the floor of any user-space hop) in front of `targetUrl`. */
export async function startTcpRelay(targetUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./tcp-relay.ts', import.meta.url)), String(port), targetUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`tcp relay exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
