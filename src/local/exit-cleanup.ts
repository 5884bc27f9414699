/**
 * What is left behind when this process ends: daemons spawned by
 * daemon-process.ts that are still running are SIGKILLed, and the temporary
 * directories made with {@link makeTempDir} are removed (set
 * `CFLUX_KEEP_TEST_DIRS=1` to keep them for a post-mortem).
 *
 * The plain 'exit' handler is installed on the first spawn. Signals end the
 * process without running 'exit' handlers, so SIGINT/SIGTERM/SIGHUP
 * handlers are only installed on request ({@link killDaemonsOnExit} with
 * `signals: true`): a long-running program handles its own signals.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Children still alive, SIGKILLed when this process exits. */
const liveChildren = new Set<ChildProcess>();
/** Temp dirs created here, removed at exit unless CFLUX_KEEP_TEST_DIRS=1. */
const tempDirs = new Set<string>();
let exitHookInstalled = false;
let signalHooksInstalled = false;

function killAllNow(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  liveChildren.clear();
}

function removeTempDirsNow(): void {
  if (process.env['CFLUX_KEEP_TEST_DIRS'] === '1') return;
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    killAllNow();
    removeTempDirsNow();
  });
}

function installSignalHooks(): void {
  if (signalHooksInstalled) return;
  signalHooksInstalled = true;
  // A signal ends the process without running 'exit' handlers. Kill our
  // children first; if nobody else handles the signal, re-raise it so the
  // process still dies the default way.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        removeTempDirsNow();
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/**
 * Make sure daemons still running when this process exits are SIGKILLed and
 * the temp dirs are removed. The 'exit' handler is installed anyway on the
 * first spawn; call this early to install it now.
 *
 * With `signals: true`, also handle SIGINT, SIGTERM and SIGHUP: kill the
 * daemons and, when no other listener handles the signal, remove the temp
 * dirs and re-raise it so that the process dies the default way. Meant for
 * test runs; a program with its own signal handling should leave it off and
 * stop its daemons itself. Calling it again is harmless.
 */
export function killDaemonsOnExit(opts: { signals?: boolean } = {}): void {
  installExitHook();
  if (opts.signals === true) installSignalHooks();
}

/** Register a spawned child to be SIGKILLed at exit (until {@link forgetChild}). */
export function trackChild(child: ChildProcess): void {
  installExitHook();
  liveChildren.add(child);
}

/** The child has exited: nothing to kill any more. */
export function forgetChild(child: ChildProcess): void {
  liveChildren.delete(child);
}

/** Create a fresh `prefix*` directory under the OS temp dir, removed at exit. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Remove a directory made by {@link makeTempDir} now (recursively; no error if gone). */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}
