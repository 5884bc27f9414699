import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './manager-process.ts';

const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

/** A running `cflux demo` (manager on a free port), once it printed that it is up. */
export interface DemoProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export async function startDemo(timeoutMs = 40_000): Promise<DemoProcess> {
  const child = spawn(process.execPath, [CFLUX, 'demo', '--manager-port', '0'], { env: cleanEnv(), cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (const deadline = Date.now() + timeoutMs; !output.includes('Ctrl-C stops everything'); ) {
    assert.ok(Date.now() < deadline, `demo did not come up:\n${output}`);
    assert.equal(child.exitCode, null, `demo exited:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output, exited };
}
