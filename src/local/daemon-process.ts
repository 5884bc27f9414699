/**
 * Run a local daemon (influxd, etcd, ...) as a plain child process: no
 * Docker, no systemd.
 *
 * - {@link DaemonProcess} is one spawned process: detached, stdin ignored,
 *   stdout and stderr appended to a log file; stop is SIGTERM (plus SIGCONT),
 *   a grace period, then SIGKILL.
 * - {@link waitReady} polls a readiness check and, on failure, throws with
 *   the last lines of the log.
 * - Daemons still running when this process exits are SIGKILLed (see
 *   exit-cleanup.ts and {@link killDaemonsOnExit}).
 * - `ManagedDaemon` (managed-daemon.ts) adds restart and destroy on
 *   top, for handles such as the one of `startInfluxd`.
 *
 * Only node built-ins and the global fetch are used.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access, constants, open, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { forgetChild, trackChild } from './exit-cleanup.ts';
import { nodeHttp, nodeHttps } from '../shared/node-builtins.ts';

export { killDaemonsOnExit, makeTempDir, removeTempDir } from './exit-cleanup.ts';

/** The loopback address every local daemon listens on. */
export const LOOPBACK_HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const POLL_MS = 50;

// ------------------------------------------------------------------- ports ---

/**
 * Return a TCP port that is free on 127.0.0.1 right now (bind port 0, read
 * the port, close). Another process may still take it before it is used.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK_HOST, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: could not read the bound port'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolvePort(port)));
    });
  });
}

/** `count` distinct free ports (see {@link freePort}). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

// ---------------------------------------------------------------- binaries ---

const INSTALL_HINT: Record<string, string> = {
  influxd: 'influxdb',
  influx: 'influxdb-client',
  etcd: 'etcd-server',
  etcdctl: 'etcd-client',
};

async function findOnPath(bin: string): Promise<string | undefined> {
  for (const d of (process.env['PATH'] ?? '').split(delimiter)) {
    if (d === '') continue;
    const p = join(d, bin);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

/**
 * The full path of executable `bin` found on PATH.
 *
 * @throws a helpful Error (how to install it) unless `bin` is on PATH.
 */
export async function requireBinary(bin: string): Promise<string> {
  const p = await findOnPath(bin);
  if (p === undefined) {
    const pkg = INSTALL_HINT[bin] ?? bin;
    throw new Error(
      `${bin} is not on PATH. Run \`bash scripts/ensure-servers.sh\` ` +
        `(or \`sudo apt-get install ${pkg}\`) to install it.`,
    );
  }
  return p;
}

// ----------------------------------------------------------------- process ---

async function tailFile(file: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}

const NON_TERMINATING = new Set<NodeJS.Signals>([
  'SIGSTOP',
  'SIGCONT',
  'SIGTSTP',
  'SIGHUP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
]);

/** One spawned daemon process. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (or failed to spawn). */
  readonly exited: Promise<void>;
  private readonly spawnError: () => Error | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(child: ChildProcess, pid: number, exited: Promise<void>, spawnError: () => Error | undefined) {
    this.child = child;
    this.pid = pid;
    this.exited = exited;
    this.spawnError = spawnError;
  }

  /**
   * Spawn `cmd args` detached (own process group, so a terminal Ctrl-C aimed
   * at this process is handled by our hooks), stdin ignored, stdout and
   * stderr appended to `logFile`. The child does not keep the event loop
   * alive, and is SIGKILLed when this process exits.
   */
  static async spawn(
    cmd: string,
    args: readonly string[],
    logFile: string,
    env: NodeJS.ProcessEnv,
    cwd: string,
  ): Promise<DaemonProcess> {
    const fh = await open(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        cwd,
        env,
        detached: true,
        stdio: ['ignore', fh.fd, fh.fd],
      });
    } finally {
      await fh.close();
    }
    let spawnError: Error | undefined;
    const exited = new Promise<void>((res) => {
      child.once('exit', () => {
        forgetChild(child);
        res();
      });
      child.once('error', (err) => {
        spawnError = err;
        forgetChild(child);
        res();
      });
    });
    if (child.pid === undefined) {
      await exited;
      throw new Error(`failed to spawn ${cmd}: ${spawnError?.message ?? 'unknown error'}`);
    }
    trackChild(child);
    // Do not keep the event loop alive just for the daemon: a program that
    // forgets to stop it must not hang; the exit hook kills it instead.
    child.unref();
    return new DaemonProcess(child, child.pid, exited, () => spawnError);
  }

  /** True while the process has not exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.spawnError() === undefined;
  }

  /** How the process ended, e.g. `exited with code 1` or `killed by SIGKILL`. */
  describeExit(): string {
    const spawnError = this.spawnError();
    if (spawnError) return `failed: ${spawnError.message}`;
    if (this.child.signalCode !== null) return `killed by ${this.child.signalCode}`;
    return `exited with code ${String(this.child.exitCode)}`;
  }

  /** Send `sig` if the process is alive; never throws. */
  signal(sig: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /** Wait for exit up to `ms`; true if it exited. */
  private async waitExit(ms: number): Promise<boolean> {
    const ac = new AbortController();
    try {
      return await Promise.race([
        this.exited.then(() => true),
        sleep(ms, false, { signal: ac.signal }),
      ]);
    } finally {
      ac.abort();
    }
  }

  /** SIGTERM (+SIGCONT), grace period (default 10 s), SIGKILL; resolves after exit. Idempotent. */
  stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping ??= this.terminate('SIGTERM', graceMs);
    return this.stopping;
  }

  /**
   * Send a signal (default SIGKILL). For terminating signals, resolves once the
   * process has exited (SIGKILL after 10 s if it is still alive); for
   * SIGSTOP/SIGCONT/SIGTSTP/SIGHUP/SIGUSR1/SIGUSR2/SIGWINCH it returns right away.
   */
  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (NON_TERMINATING.has(sig)) {
      this.signal(sig);
      return;
    }
    if (sig === 'SIGTERM') return this.stop();
    await this.terminate(sig, STOP_GRACE_MS);
  }

  private async terminate(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.alive) {
      await this.exited;
      return;
    }
    this.child.ref();
    try {
      this.signal(sig);
      // A SIGSTOPped process would not act on SIGTERM until continued.
      if (sig !== 'SIGKILL') this.signal('SIGCONT');
      if (!(await this.waitExit(graceMs))) {
        this.signal('SIGKILL');
        await this.exited;
      }
    } finally {
      this.child.unref();
    }
  }
}

// --------------------------------------------------------------- readiness ---

/** Thrown by waitReady when the process exited during startup. */
class EarlyExitError extends Error {
  readonly log: string;
  constructor(message: string, log: string) {
    super(message);
    this.log = log;
  }
}

/**
 * Poll `check` every 50 ms until it returns true. Fails (after stopping the
 * process) if the process exits or `timeoutMs` (default 30 s) passes; the
 * Error includes the last 20 lines of the log. `check` gets a per-request
 * timeout that starts at 500 ms and doubles (up to 4 s) after each request
 * that threw a TimeoutError.
 */
export async function waitReady(
  what: string,
  proc: DaemonProcess,
  logFile: string,
  check: (requestTimeoutMs: number) => Promise<boolean>,
  timeoutMs = START_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A health request sent before etcd has a leader blocks until it has one
  // or times out; start with a short per-request timeout and double it
  // after each timeout (500 ms .. 4 s) so that a slow machine still passes.
  let requestTimeoutMs = 500;
  for (;;) {
    if (!proc.alive) {
      const log = await tailFile(logFile);
      throw new EarlyExitError(
        `${what} (pid ${proc.pid}) ${proc.describeExit()} during startup; last lines of ${logFile}:\n${log}`,
        log,
      );
    }
    let ok = false;
    try {
      ok = await check(requestTimeoutMs);
    } catch (err) {
      ok = false;
      if (err instanceof Error && err.name === 'TimeoutError') {
        requestTimeoutMs = Math.min(4000, requestTimeoutMs * 2);
      }
    }
    if (ok) return;
    if (Date.now() >= deadline) {
      await proc.stop();
      const log = await tailFile(logFile);
      throw new Error(
        `${what} (pid ${proc.pid}) not ready after ${timeoutMs / 1000}s; last lines of ${logFile}:\n${log}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** True if `err` is a startup failure of {@link waitReady} caused by a port taken meanwhile. */
export function isBindRace(err: unknown): boolean {
  return err instanceof EarlyExitError && /address already in use/i.test(err.log);
}

/** GET `url` with a timeout; the status and the body as text. */
export function httpGet(url: string, timeoutMs: number, ca?: string): Promise<{ status: number; body: string }> {
  return httpRequest(url, { timeoutMs, ...(ca ? { ca } : {}) });
}

/**
 * One HTTP(S) request with a timeout, on a fresh connection; `ca` is the PEM
 * trusted for https (a daemon started with a test certificate).
 */
export function httpRequest(url: string, options: { method?: string; form?: URLSearchParams; timeoutMs: number; ca?: string; headers?: Record<string, string> }): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? nodeHttps().request : nodeHttp.request;
  const body = options.form?.toString();
  return new Promise((resolve, reject) => {
    const req = send(target, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      timeout: options.timeoutMs,
      agent: false,
      ...(options.ca ? { ca: options.ca } : {}),
      headers: { ...options.headers, ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${target.origin}${target.pathname} did not answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
