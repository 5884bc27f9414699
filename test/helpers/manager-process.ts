import { join, resolve } from 'node:path';
import { appendFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { forgetChild, trackChild } from '../../src/local/exit-cleanup.ts';

/** The cflux entry point: the TypeScript source, or a build (`CFLUX_BIN=dist/bin/cflux.js`, what operators run) for the benchmarks. */
const CFLUX_BIN = process.env['CFLUX_BIN'] ? resolve(process.env['CFLUX_BIN']) : fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

/** The manager token every test manager, agent and command gets unless the test says otherwise. */
export const TEST_MANAGER_TOKEN = 'test-manager-token-0123456789';

/** fetch() with the test manager token (a manager URL is behind authentication). */
export function managerFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { authorization: `Bearer ${TEST_MANAGER_TOKEN}`, ...(init.headers as Record<string, string> | undefined) } });
}

/**
 * A valid cluster document (the manager refuses others with 400), with
 * `extra` top-level keys: tests that only exercise the manager's CAS and
 * long-polls tell versions apart by them.
 */
export function testDocument(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 1, databases: {}, users: {}, settings: { replicationFactor: 2, dataMembers: [], pins: {} }, ...extra };
}

/** A `cflux manager` child process. */
export interface ManagerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every log line (JSON) printed so far. */
  readonly logLines: string[];
  /** SIGTERM and wait for the exit; resolves to the exit code. Safe twice. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export interface ManagerProcessOptions {
  etcdEndpoints?: string[];
  /** Node TTL in seconds. */
  ttl?: number;
  /** etcd key prefix (tests on one etcd keep apart with their own). */
  etcdPrefix?: string;
  /** Fixed port; default a free one (listen on :0, read the log). */
  port?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}

/** Runs the real `cflux manager` with `--listen 127.0.0.1:0` and waits until it listens. */
export async function startManagerProcess(options: ManagerProcessOptions = {}): Promise<ManagerProcess> {
  const args = [CFLUX_BIN, 'manager', '--listen', `127.0.0.1:${options.port ?? 0}`, '--log-level', 'debug'];
  if (options.etcdEndpoints) args.push('--etcd-endpoints', options.etcdEndpoints.join(','));
  if (options.ttl !== undefined) args.push('--ttl', String(options.ttl));
  if (options.etcdPrefix) args.push('--etcd-prefix', options.etcdPrefix);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...cleanEnv(), CFLUX_MANAGER_TOKEN: TEST_MANAGER_TOKEN, ...options.env },
    // Away from the checkout, so a developer's ./config.toml or ./.env cannot change a test.
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  let buffered = '';
  let url = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`manager did not start in 10 s:\n${logLines.join('\n')}`)), 10_000);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        logLines.push(line);
        const record = tryParse(line);
        if (record?.['msg'] === 'manager listening' && typeof record['listen'] === 'string') {
          clearTimeout(timer);
          url = typeof record['url'] === 'string' ? record['url'] : '';
          resolve(Number(record['listen'].split(':').pop()));
        }
      }
    };
    keepRawOutput(child, 'manager');
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => logLines.push(chunk.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`manager exited with ${code} during start:\n${logLines.join('\n')}`));
    });
  });
  return { url: url || `http://127.0.0.1:${port}`, port, pid: child.pid!, child, logLines, ...stopControls(child) };
}

/**
 * With CFLUX_TEST_LOG_DIR set, a child's raw stdout and stderr also go to
 * `<dir>/<kind>-<pid>.stdout|.stderr`, for looking into a flaky run after it.
 */
export function keepRawOutput(child: ChildProcess, kind: string): void {
  const logDir = process.env['CFLUX_TEST_LOG_DIR'];
  if (!logDir) return;
  for (const stream of ['stdout', 'stderr'] as const) child[stream]!.on('data', (chunk: Buffer) => appendFileSync(join(logDir, `${kind}-${child.pid}.${stream}`), chunk));
}

/**
 * stop() (SIGTERM, wait, resolve to the exit code; safe twice) and kill()
 * (SIGKILL, wait) for a child process, which is also killed if the test
 * process exits first.
 */
export function stopControls(child: ChildProcess): { stop(): Promise<number | null>; kill(): Promise<void> } {
  // One shared exit hook for every child (a listener each went past Node's limit of 10 in one test file).
  trackChild(child);
  child.once('exit', () => forgetChild(child));
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = running() ? once(child, 'exit').then(([code]) => code as number | null) : Promise.resolve(child.exitCode);
  let stopping: Promise<number | null> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        if (running()) child.kill('SIGTERM');
        return exited;
      })();
      return stopping;
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The environment of a `cflux` command or agent run by a test: clean, with the test manager token. */
export function cliEnv(): NodeJS.ProcessEnv {
  return { ...cleanEnv(), CFLUX_MANAGER_TOKEN: TEST_MANAGER_TOKEN };
}

/** The test's environment without ClusterFlux settings, so a developer's shell cannot change a test. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('CFLUX_') && !key.startsWith('CLUSTERFLUX_') && key !== 'CLUSTER') env[key] = value;
  }
  return env;
}

function tryParse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
