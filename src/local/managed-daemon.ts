/**
 * A daemon that can be started, stopped, killed, restarted (same ports and
 * directory, data kept) and destroyed: the plumbing behind the handles that
 * `startInfluxd` (and the etcd test helpers) return.
 */
import { DaemonProcess, isBindRace, removeTempDir, waitReady } from './daemon-process.ts';

/** How to run one daemon; see {@link ManagedDaemon}. */
export interface DaemonSpec {
  /** Name used in messages, e.g. `influxd` or `etcd m1`. */
  readonly name: string;
  /** Path of the executable. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Working directory of the process. */
  readonly cwd: string;
  /** stdout and stderr are appended to this file. */
  readonly logFile: string;
  /** A temp directory that `destroy()` removes; undefined to remove nothing. */
  readonly ownedDir?: string | undefined;
  /** Runs before every spawn, e.g. to write the config file. */
  readonly prepare?: () => Promise<void>;
  /** Readiness check polled by {@link waitReady}; true once the daemon serves. */
  readonly isReady: (requestTimeoutMs: number) => Promise<boolean>;
}

/** The controls every daemon handle has (InfluxdServer, EtcdServer, ...). */
export interface DaemonControls {
  /** Process id of the current process (changes on restart). */
  readonly pid: number;
  /** Milliseconds from spawn until the daemon was ready, for the last start. */
  readonly readyMs: number;
  /** True while the process has not exited. */
  readonly running: boolean;
  /**
   * SIGTERM (plus SIGCONT, in case it was SIGSTOPped), wait up to 10 s, then
   * SIGKILL; resolves once the process has exited. Safe to call twice and on
   * an already dead process. Keeps the directory (see {@link destroy}).
   */
  stop(): Promise<void>;
  /**
   * Send a signal (default SIGKILL). For terminating signals, resolves once the
   * process has exited (SIGKILL after 10 s if it is still alive); for
   * SIGSTOP/SIGCONT/SIGTSTP/SIGHUP/SIGUSR1/SIGUSR2 it returns right away.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stop (if running) and start again on the same ports and directory; data is kept. */
  restart(): Promise<void>;
  /** Stop, then remove the directory if the helper created it. */
  destroy(): Promise<void>;
}

/** One daemon described by a {@link DaemonSpec}, across restarts. */
export class ManagedDaemon implements DaemonControls {
  readonly spec: DaemonSpec;
  private proc: DaemonProcess | undefined;
  private lastReadyMs = 0;
  private destroyed = false;

  constructor(spec: DaemonSpec) {
    this.spec = spec;
  }

  /** Run `prepare`, spawn, and wait until `isReady` says true (30 s at most). */
  async start(): Promise<void> {
    const { spec } = this;
    await spec.prepare?.();
    const t0 = performance.now();
    const p = await DaemonProcess.spawn(spec.command, spec.args, spec.logFile, spec.env, spec.cwd);
    this.proc = p;
    await waitReady(spec.name, p, spec.logFile, spec.isReady);
    this.lastReadyMs = Math.round(performance.now() - t0);
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  get readyMs(): number {
    return this.lastReadyMs;
  }

  get running(): boolean {
    return this.proc?.alive ?? false;
  }

  /** As {@link DaemonControls.stop}, with a grace period other than 10 s if given. */
  async stop(graceMs?: number): Promise<void> {
    await this.proc?.stop(graceMs);
  }

  async kill(signal?: NodeJS.Signals): Promise<void> {
    await this.proc?.kill(signal);
  }

  async restart(): Promise<void> {
    if (this.destroyed) throw new Error(`${this.spec.name}: restart() after destroy()`);
    await this.proc?.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.proc?.stop();
    if (this.spec.ownedDir !== undefined) await removeTempDir(this.spec.ownedDir);
  }
}

/**
 * `fields` plus the controls of `daemon` as own properties (live getters
 * and bound functions), so the result works when destructured.
 */
export function withDaemonControls<T extends object>(fields: T, daemon: ManagedDaemon): T & DaemonControls {
  const controls: DaemonControls = {
    get pid() {
      return daemon.pid;
    },
    get readyMs() {
      return daemon.readyMs;
    },
    get running() {
      return daemon.running;
    },
    stop: () => daemon.stop(),
    kill: (signal) => daemon.kill(signal),
    restart: () => daemon.restart(),
    destroy: () => daemon.destroy(),
  };
  return Object.defineProperties(fields, Object.getOwnPropertyDescriptors(controls)) as T & DaemonControls;
}

const MAX_START_ATTEMPTS = 3;

/**
 * Build a daemon with `create` and start it. When `retryOnPortRace` is set
 * (the ports were picked with freePort) and the daemon died because a port
 * was taken meanwhile, run `beforeRetry` and build and start a new one with
 * fresh ports (3 attempts in all). A daemon that failed to start is stopped.
 */
export async function startWithPortRetry(
  create: () => Promise<ManagedDaemon>,
  opts: { retryOnPortRace: boolean; beforeRetry?: () => Promise<void> },
): Promise<ManagedDaemon> {
  for (let attempt = 1; ; attempt++) {
    const daemon = await create();
    try {
      await daemon.start();
      return daemon;
    } catch (err) {
      await daemon.stop();
      if (opts.retryOnPortRace && attempt < MAX_START_ATTEMPTS && isBindRace(err)) {
        await opts.beforeRetry?.();
        continue;
      }
      throw err;
    }
  }
}
