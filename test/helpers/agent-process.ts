import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, keepRawOutput, stopControls, TEST_MANAGER_TOKEN } from './manager-process.ts';

/** The cflux entry point: the TypeScript source, or a build (`CFLUX_BIN=dist/bin/cflux.js`, what operators run) for the benchmarks. */
const CFLUX_BIN = process.env['CFLUX_BIN'] ? resolve(process.env['CFLUX_BIN']) : fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

/** The peer token every test agent gets unless the test passes its own environment value. */
export const TEST_PEER_TOKEN = 'test-peer-token-0123456789';

/** A `cflux agent` child process. */
export interface AgentProcess {
  /** Base URL of the peer port (/healthz, /readyz, /metrics). */
  readonly peerUrl: string;
  /** Base URL of the InfluxDB-compatible proxy. */
  readonly proxyUrl: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Parsed JSON log records so far. */
  readonly records: Array<Record<string, unknown>>;
  /** Resolves with the first log record that matches, waiting up to `timeoutMs`. */
  waitForLog(match: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait; resolves to the exit code. Safe twice. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Runs the real `cflux agent` (peer port on 127.0.0.1:0 unless given) and waits until it listens. */
export async function startAgentProcess(args: string[], options: { env?: Record<string, string>; cwd?: string; spawnCommand?: string[]; nodeArgs?: string[] } = {}): Promise<AgentProcess> {
  const defaults = [
    ...(args.includes('--peer-listen') ? [] : ['--peer-listen', '127.0.0.1:0']),
    ...(args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0']),
    ...(args.includes('--data-dir') ? [] : ['--data-dir', mkdtempSync(join(tmpdir(), 'cflux-agent-'))]),
  ];
  // Node's own flags (e.g. the V8 heap flags the shipped units set) go before the script.
  const fullArgs = [...(options.nodeArgs ?? []), CFLUX_BIN, 'agent', '--log-level', 'debug', ...defaults, ...args];
  const [command, ...prefix] = options.spawnCommand ?? [process.execPath];
  const child = spawn(command!, [...prefix, ...(options.spawnCommand ? [process.execPath] : []), ...fullArgs], {
    env: { ...cleanEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN, CFLUX_MANAGER_TOKEN: TEST_MANAGER_TOKEN, ...options.env },
    cwd: options.cwd ?? tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const watchers = new Set<() => void>();
  let buffered = '';
  keepRawOutput(child, 'agent');
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        stderr.push(line);
      }
    }
    for (const wake of watchers) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const controls = stopControls(child);

  const waitForLog = (match: (record: Record<string, unknown>) => boolean, timeoutMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = records.find(match);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`agent log line not seen in ${timeoutMs} ms; log:\n${records.map((r) => JSON.stringify(r)).join('\n')}\n${stderr.join('')}`));
      }, timeoutMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`agent exited; log:\n${records.map((r) => JSON.stringify(r)).join('\n')}\n${stderr.join('')}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        watchers.delete(check);
        child.off('exit', onExit);
      };
      watchers.add(check);
      child.once('exit', onExit);
      check();
    });

  const listening = await waitForLog((r) => r['msg'] === 'agent listening');
  return { peerUrl: `http://${String(listening['peerListen'])}`, proxyUrl: `http://${String(listening['proxyListen'])}`, pid: child.pid!, child, records, waitForLog, ...controls };
}
