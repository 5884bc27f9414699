/**
 * Start REAL etcd 3.x servers (one member, or a cluster) on loopback for
 * integration tests and benchmarks.
 *
 * - Every member runs as a plain child process with its data and its log
 *   file in one directory.
 * - `stop()` keeps that directory so that `restart()` finds the data again;
 *   `destroy()` stops the server and removes the directory if the helper
 *   created it (a `dir` passed by the caller is never removed).
 * - Members still running when this process exits are SIGKILLed, and the
 *   temp directories are removed (see src/local/daemon-process.ts).
 * - etcd must be on PATH: run `bash scripts/ensure-servers.sh`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  LOOPBACK_HOST,
  freePorts,
  httpGet,
  killDaemonsOnExit,
  makeTempDir,
  removeTempDir,
  requireBinary,
} from '../../src/local/daemon-process.ts';
import { ManagedDaemon, startWithPortRetry, withDaemonControls } from '../../src/local/managed-daemon.ts';
import type { DaemonControls } from '../../src/local/managed-daemon.ts';

// Tests want their members gone on Ctrl-C too (idempotent; servers.ts does the same).
killDaemonsOnExit({ signals: true });

/**
 * A running (or stopped) etcd member started by {@link startEtcd} or
 * {@link startEtcdCluster}; `pid` is the current etcd process. stop, kill
 * and destroy are as for every daemon (see {@link DaemonControls}).
 */
export interface EtcdServer extends DaemonControls {
  /** Member name (`etcd0` for a single server, `m1`..`mN` in a cluster). */
  readonly name: string;
  /** Client URL, e.g. `http://127.0.0.1:23790`. */
  readonly endpoint: string;
  /** Client port on 127.0.0.1. */
  readonly clientPort: number;
  /** Peer (raft) port on 127.0.0.1. */
  readonly peerPort: number;
  /** Peer URL, e.g. `http://127.0.0.1:23791`. */
  readonly peerUrl: string;
  /** Member directory: data/ and etcd.log. */
  readonly dir: string;
  /** Path of the log file (stdout and stderr of etcd). */
  readonly logFile: string;
  /** Milliseconds from spawn until /health reported true, for the last start. */
  readonly readyMs: number;
  /**
   * Stop (if running) and start again with the same name, ports and data
   * directory; the data is kept. In a cluster, resolves once this member
   * answers /health (which needs a quorum of members up).
   */
  restart(): Promise<void>;
}

/** Options for {@link startEtcd}. */
export interface EtcdOptions {
  /** State directory; created if missing and never removed. Default: a fresh `cflux-etcd-*` temp dir. */
  dir?: string;
  /** Client port. Default: a free port (retried on a bind race). */
  clientPort?: number;
  /** Peer port. Default: a free port (retried on a bind race). */
  peerPort?: number;
  /** Raft heartbeat interval in ms (default 10). */
  heartbeatMs?: number;
  /** Raft election timeout in ms (default 100). */
  electionMs?: number;
  /**
   * Serve clients over TLS with this certificate and require client
   * certificates signed by `caFile` (`--client-cert-auth`). Health is then
   * read from a plain metrics listener.
   */
  tls?: { certificateFile: string; privateKeyFile: string; caFile: string };
}

/** An etcd cluster started by {@link startEtcdCluster}. */
export interface EtcdCluster {
  /** Client URLs of all members, in member order. */
  readonly endpoints: string[];
  /** The members (`m1`..`mN`); each can be stopped, killed and restarted on its own. */
  readonly members: EtcdServer[];
  /** Parent directory holding one sub-directory per member. */
  readonly dir: string;
  /**
   * Stop all members: the followers with SIGTERM (10 s grace, then SIGKILL),
   * then the leader (1 s grace, so it does not wait ~6 s trying to hand over
   * leadership to members that are gone). Keeps the directories; safe twice.
   */
  stop(): Promise<void>;
  /** Stop all members and remove the temp directory. */
  destroy(): Promise<void>;
}

interface EtcdMemberSpec {
  name: string;
  dir: string;
  ownDir: boolean;
  clientPort: number;
  peerPort: number;
  initialCluster: string;
  token: string;
  heartbeatMs: number;
  electionMs: number;
  tls?: { certificateFile: string; privateKeyFile: string; caFile: string; metricsPort: number };
}

function etcdArgs(s: EtcdMemberSpec): string[] {
  const scheme = s.tls ? 'https' : 'http';
  const tls = s.tls
    ? ['--cert-file', s.tls.certificateFile, '--key-file', s.tls.privateKeyFile, '--trusted-ca-file', s.tls.caFile, '--client-cert-auth', '--listen-metrics-urls', `http://${LOOPBACK_HOST}:${s.tls.metricsPort}`]
    : [];
  return [
    '--name', s.name,
    '--data-dir', join(s.dir, 'data'),
    '--listen-client-urls', `${scheme}://${LOOPBACK_HOST}:${s.clientPort}`,
    '--advertise-client-urls', `${scheme}://${LOOPBACK_HOST}:${s.clientPort}`,
    ...tls,
    '--listen-peer-urls', `http://${LOOPBACK_HOST}:${s.peerPort}`,
    '--initial-advertise-peer-urls', `http://${LOOPBACK_HOST}:${s.peerPort}`,
    '--initial-cluster', s.initialCluster,
    '--initial-cluster-token', s.token,
    '--initial-cluster-state', 'new',
    '--heartbeat-interval', String(s.heartbeatMs),
    '--election-timeout', String(s.electionMs),
    // --logger zap makes --log-level apply (capnslog in 3.4 ignores it).
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--log-level', 'warn',
  ];
}

/** Environment for etcd: without ETCD_* variables, which etcd reads as flags. */
function etcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')) env[k] = v;
  }
  return env;
}

async function etcdHealthy(healthPort: number, timeoutMs: number): Promise<boolean> {
  const r = await httpGet(`http://${LOOPBACK_HOST}:${healthPort}/health`, timeoutMs);
  if (r.status !== 200) return false;
  const j = JSON.parse(r.body) as { health?: unknown };
  return j.health === 'true';
}

/** The daemon of one member; `start()` spawns it and waits for /health. */
function etcdDaemon(bin: string, spec: EtcdMemberSpec): ManagedDaemon {
  return new ManagedDaemon({
    name: `etcd ${spec.name}`,
    command: bin,
    args: etcdArgs(spec),
    env: etcdEnv(),
    cwd: spec.dir,
    logFile: join(spec.dir, 'etcd.log'),
    ownedDir: spec.ownDir ? spec.dir : undefined,
    prepare: async () => {
      await mkdir(spec.dir, { recursive: true });
    },
    isReady: (ms) => etcdHealthy(spec.tls?.metricsPort ?? spec.clientPort, ms),
  });
}

/** The EtcdServer handle of a member; usable once `daemon.start()` resolved. */
function etcdServer(spec: EtcdMemberSpec, daemon: ManagedDaemon): EtcdServer {
  const fields = {
    name: spec.name,
    endpoint: `${spec.tls ? 'https' : 'http'}://${LOOPBACK_HOST}:${spec.clientPort}`,
    clientPort: spec.clientPort,
    peerPort: spec.peerPort,
    peerUrl: `http://${LOOPBACK_HOST}:${spec.peerPort}`,
    dir: spec.dir,
    logFile: daemon.spec.logFile,
  };
  return withDaemonControls(fields, daemon);
}

/**
 * Start a one-member etcd on 127.0.0.1 (heartbeat 10 ms, election 100 ms by
 * default, so it is healthy in about 0.1 s) and wait until /health reports
 * `{"health":"true"}`.
 *
 * @throws if etcd is not on PATH, or is not healthy within 30 s (the message
 *   includes the last 20 lines of its log).
 */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const bin = await requireBinary('etcd');
  const ownDir = opts.dir === undefined;
  const dir = ownDir ? await makeTempDir('cflux-etcd-') : resolve(opts.dir!);
  await mkdir(dir, { recursive: true });

  let spec: EtcdMemberSpec | undefined;
  const createDaemon = async (): Promise<ManagedDaemon> => {
    const needed = (opts.clientPort === undefined ? 1 : 0) + (opts.peerPort === undefined ? 1 : 0);
    const fresh = await freePorts(needed + 3);
    const taken = new Set([opts.clientPort, opts.peerPort]);
    const pool = fresh.filter((p) => !taken.has(p));
    const clientPort = opts.clientPort ?? pool.shift()!;
    const peerPort = opts.peerPort ?? pool.shift()!;
    if (clientPort === peerPort) throw new Error('startEtcd: clientPort and peerPort must differ');
    spec = {
      name: 'etcd0',
      dir,
      ownDir,
      clientPort,
      peerPort,
      initialCluster: `etcd0=http://${LOOPBACK_HOST}:${peerPort}`,
      token: `cflux-${clientPort}`,
      heartbeatMs: opts.heartbeatMs ?? 10,
      electionMs: opts.electionMs ?? 100,
      ...(opts.tls ? { tls: { ...opts.tls, metricsPort: pool.shift()! } } : {}),
    };
    return etcdDaemon(bin, spec);
  };
  try {
    const daemon = await startWithPortRetry(createDaemon, {
      retryOnPortRace: opts.clientPort === undefined || opts.peerPort === undefined,
      // The failed member may have written a fresh data dir; start clean.
      beforeRetry: () => rm(join(dir, 'data'), { recursive: true, force: true }),
    });
    return etcdServer(spec!, daemon);
  } catch (err) {
    if (ownDir) await removeTempDir(dir);
    throw err;
  }
}

/** The running member that reports itself as raft leader, if any answers. */
async function findLeader(members: EtcdServer[]): Promise<EtcdServer | undefined> {
  const isLeader = await Promise.all(
    members.map(async (m) => {
      try {
        const res = await fetch(`${m.endpoint}/v3/maintenance/status`, {
          method: 'POST',
          body: '{}',
          signal: AbortSignal.timeout(1000),
        });
        const j = (await res.json()) as { header?: { member_id?: string }; leader?: string };
        return j.leader !== undefined && j.leader !== '0' && j.leader === j.header?.member_id;
      } catch {
        return false;
      }
    }),
  );
  return members.find((_, i) => isLeader[i]);
}

/**
 * Start an etcd cluster of `size` members (`m1`..`mN`, heartbeat 50 ms,
 * election 500 ms) on free loopback ports, each in its own sub-directory of
 * a fresh `cflux-etcd-cluster-*` temp dir, and wait until every member is
 * healthy. On failure all members are stopped and the Error includes the
 * log of the failing member.
 */
export async function startEtcdCluster(
  size: number,
  opts: { heartbeatMs?: number; electionMs?: number } = {},
): Promise<EtcdCluster> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`startEtcdCluster: bad size ${size}`);
  const bin = await requireBinary('etcd');
  const dir = await makeTempDir('cflux-etcd-cluster-');
  const ports = await freePorts(2 * size);
  const specs: EtcdMemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i + 1}`,
      dir: join(dir, `m${i + 1}`),
      ownDir: false,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      initialCluster: '',
      token: `cflux-cluster-${ports[0]!}`,
      heartbeatMs: opts.heartbeatMs ?? 50,
      electionMs: opts.electionMs ?? 500,
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://${LOOPBACK_HOST}:${s.peerPort}`).join(',');
  for (const s of specs) s.initialCluster = initialCluster;
  const daemons = specs.map((s) => etcdDaemon(bin, s));
  const members = specs.map((s, i) => etcdServer(s, daemons[i]!));

  // On SIGTERM the leader first tries to hand leadership over to a peer it
  // still sees as connected; when that peer is going away too, this costs
  // etcd's request timeout (about 6 s). So stop the followers first, then
  // the leader, and give the leader only 1 s before SIGKILL: nobody is left
  // to hand over to, and committed data is already fsynced in its WAL.
  const stopAll = async (): Promise<void> => {
    const leader = await findLeader(members.filter((m) => m.running));
    await Promise.all(members.filter((m) => m !== leader).map((m) => m.stop()));
    if (leader) await daemons[members.indexOf(leader)]?.stop(1000);
  };
  const results = await Promise.allSettled(daemons.map((d) => d.start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    await removeTempDir(dir);
    throw failed.reason;
  }

  let destroyed = false;
  return {
    endpoints: members.map((m) => m.endpoint),
    members,
    dir,
    stop: stopAll,
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await stopAll();
      await removeTempDir(dir);
    },
  };
}
