/**
 * A cluster for fault tests: a manager (memory, or on etcd), 3 real influxd
 * and 3 agents, RF 2, where agent 2's peer port is reached through a
 * fault-injecting TCP proxy (its advertised address), plus a writer of
 * unique points that remembers every point it was acknowledged, and the
 * checks that every replica holds every acknowledged point.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ownersOf } from '../../src/cluster/placement.ts';
import { startAgentProcess, type AgentProcess } from './agent-process.ts';
import { influxQuery, TEST_SECRET } from './cluster-fixture.ts';
import { managerFetch, startManagerProcess, type ManagerProcess } from './manager-process.ts';
import { freePort, startEtcdCluster, startInfluxd, type EtcdCluster, type InfluxdServer } from './servers.ts';
import { startTcpFaultProxy, type TcpFaultProxy } from './tcp-fault-proxy.ts';

export const CHAOS_DATABASE = 'chaos';
/** Measurements written; with RF 2 of 3 every node owns some of them. */
export const MEASUREMENTS = Array.from({ length: 9 }, (_, i) => `unit_${i}`);
export const MEMBERS = ['node-0', 'node-1', 'node-2'];

export interface ChaosCluster {
  manager: ManagerProcess;
  etcd: EtcdCluster | undefined;
  /** Stops the manager for `ms`, then starts it again on the same port (and store). */
  stopManagerFor(ms: number): Promise<void>;
  influxds: InfluxdServer[];
  agents: AgentProcess[];
  /** Between the cluster and agent 2's peer port. */
  peerProxy: TcpFaultProxy;
  /** Starts agent `index` again with its data directory (after a stop or a kill). */
  restartAgent(index: number): Promise<AgentProcess>;
  /** The owners of a measurement of the chaos database. */
  ownersOf(measurement: string): number[];
  stop(): Promise<void>;
}

export interface ChaosClusterOptions {
  /** Members of an etcd cluster for the manager; none: the in-memory store. */
  etcdMembers?: number;
  agentArgs?: string[];
}

export async function startChaosCluster(options: ChaosClusterOptions = {}): Promise<ChaosCluster> {
  const etcd = options.etcdMembers ? await startEtcdCluster(options.etcdMembers) : undefined;
  const managerOptions = { port: await freePort(), ...(etcd ? { etcdEndpoints: etcd.endpoints } : {}) };
  let manager = await startManagerProcess(managerOptions);
  const influxds = await Promise.all([startInfluxd(), startInfluxd(), startInfluxd()]);
  const peerPort = await freePort();
  const peerProxy = await startTcpFaultProxy({ host: '127.0.0.1', port: peerPort });
  const argsFor = (index: number) => [
    '--manager', manager.url, '--cluster', 'chaos', '--node-name', MEMBERS[index]!, '--influxd-url', influxds[index]!.url,
    '--data-dir', `${influxds[index]!.dir}/agent`, '--heartbeat-interval', '0.5', '--drift-interval', '1',
    ...(index === 2 ? ['--peer-listen', `127.0.0.1:${peerPort}`, '--advertise-address', `127.0.0.1:${peerProxy.port}`] : []),
    ...(options.agentArgs ?? []),
  ];
  const env = { CFLUX_SECRET: TEST_SECRET };
  const agents: AgentProcess[] = [];
  for (let index = 0; index < 3; index++) agents.push(await startAgentProcess(argsFor(index), { env }));
  for (let waited = 0; ; waited += 100) {
    const document = (await (await managerFetch(`${manager.url}/clusters/chaos`)).json()) as { metadata: { settings?: { dataMembers?: string[] } } | null };
    if ((document.metadata?.settings?.dataMembers?.length ?? 0) === 3) break;
    if (waited > 15_000) throw new Error('the chaos cluster did not form');
    await sleep(100);
  }
  await influxQuery(agents[0]!.proxyUrl, `CREATE DATABASE ${CHAOS_DATABASE} WITH REPLICATION 2`);
  for (const influxd of influxds) {
    for (let waited = 0; !JSON.stringify(await influxQuery(influxd.url, 'SHOW DATABASES')).includes(CHAOS_DATABASE); waited += 50) {
      if (waited > 10_000) throw new Error('the chaos database did not reach every influxd');
      await sleep(50);
    }
  }
  const cluster: ChaosCluster = {
    manager,
    etcd,
    async stopManagerFor(ms) {
      await cluster.manager.stop();
      await sleep(ms);
      manager = await startManagerProcess(managerOptions);
      cluster.manager = manager;
    },
    influxds,
    agents,
    peerProxy,
    async restartAgent(index) {
      // Same ports, as a real restart keeps them.
      const previous = agents[index]!;
      await previous.stop().catch(() => undefined);
      const args = argsFor(index);
      const ports = [...(args.includes('--peer-listen') ? [] : ['--peer-listen', new URL(previous.peerUrl).host]), '--listen', new URL(previous.proxyUrl).host];
      agents[index] = await startAgentProcess([...args, ...ports], { env });
      return agents[index]!;
    },
    ownersOf: (measurement) => ownersOf(CHAOS_DATABASE, measurement, MEMBERS, 2).map((name) => MEMBERS.indexOf(name)),
    async stop() {
      await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
      await cluster.manager.stop().catch(() => undefined);
      await peerProxy.close();
      await Promise.all(influxds.map((influxd) => influxd.destroy()));
      await etcd?.destroy();
    },
  };
  return cluster;
}

/** Writes unique points (field `seq`) through the given proxies in turn until stopped; remembers what was acknowledged. */
export class UniquePointWriter {
  /** Acknowledged sequence numbers per measurement. */
  readonly acked = new Map<string, Set<number>>(MEASUREMENTS.map((name) => [name, new Set<number>()]));
  readonly latenciesMs: number[] = [];
  errors = 0;
  /** The first few failures, for the report. */
  readonly errorSamples: string[] = [];
  #seq = 0;
  #running: Promise<void> | undefined;
  #stopped = false;

  readonly proxies: () => string[];
  readonly options: { consistency?: string; pointsPerBatch?: number; pauseMs?: number };

  constructor(proxies: () => string[], options: { consistency?: string; pointsPerBatch?: number; pauseMs?: number } = {}) {
    this.proxies = proxies;
    this.options = options;
  }

  start(): void {
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    for (let turn = 0; !this.#stopped; turn++) {
      const proxies = this.proxies();
      const proxy = proxies[turn % proxies.length]!;
      const batch: Array<[string, number]> = [];
      for (let i = 0; i < (this.options.pointsPerBatch ?? 18); i++) batch.push([MEASUREMENTS[i % MEASUREMENTS.length]!, this.#seq++]);
      const body = batch.map(([measurement, seq]) => `${measurement},writer=w seq=${seq}i ${1_700_000_000_000 + seq}`).join('\n');
      const started = performance.now();
      try {
        const answer = await fetch(`${proxy}/write?db=${CHAOS_DATABASE}&precision=ms&consistency=${this.options.consistency ?? 'one'}`, { method: 'POST', body, signal: AbortSignal.timeout(20_000) });
        const text = await answer.text();
        if (answer.status === 204) {
          this.latenciesMs.push(performance.now() - started);
          for (const [measurement, seq] of batch) this.acked.get(measurement)!.add(seq);
        } else this.#failed(`${answer.status} from ${proxy}: ${text.slice(0, 200)}`);
      } catch (err) {
        this.#failed(`${String(err)} from ${proxy}`);
      }
      await sleep(this.options.pauseMs ?? 10);
    }
  }

  #failed(what: string): void {
    this.errors++;
    if (this.errorSamples.length < 3) this.errorSamples.push(what);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  get ackedPoints(): number {
    return [...this.acked.values()].reduce((sum, set) => sum + set.size, 0);
  }
}

/** The `seq` values one influxd holds for a measurement. */
export async function seqsOn(influxd: InfluxdServer, measurement: string): Promise<Set<number>> {
  const answer = await influxQuery(influxd.url, `SELECT seq FROM "${measurement}"`, { db: CHAOS_DATABASE });
  return new Set<number>((answer.results?.[0]?.series?.[0]?.values ?? []).map((row: unknown[]) => row[1] as number));
}

/** Acknowledged points missing on some replica, per `node:measurement` (empty when every owner holds every acked point). */
export async function missingOnReplicas(cluster: ChaosCluster, writer: UniquePointWriter): Promise<Record<string, number>> {
  const missing: Record<string, number> = {};
  for (const measurement of MEASUREMENTS) {
    const acked = writer.acked.get(measurement)!;
    for (const owner of cluster.ownersOf(measurement)) {
      const held = await seqsOn(cluster.influxds[owner]!, measurement);
      const lacking = [...acked].filter((seq) => !held.has(seq)).length;
      if (lacking > 0) missing[`${MEMBERS[owner]}:${measurement}`] = lacking;
    }
  }
  return missing;
}

/** Points that one owner of a measurement holds and another does not, per measurement (acknowledged or not): replicas left apart. */
export async function divergence(cluster: ChaosCluster): Promise<Record<string, number>> {
  const apart: Record<string, number> = {};
  for (const measurement of MEASUREMENTS) {
    const [a, b] = await Promise.all(cluster.ownersOf(measurement).map((owner) => seqsOn(cluster.influxds[owner]!, measurement)));
    const differing = [...a!].filter((seq) => !b!.has(seq)).length + [...b!].filter((seq) => !a!.has(seq)).length;
    if (differing > 0) apart[measurement] = differing;
  }
  return apart;
}

/** Waits until the owners of every measurement hold the same points; throws with the differences otherwise. */
export async function waitForSameReplicas(cluster: ChaosCluster, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let apart: Record<string, number> = {};
  while (Date.now() - started < timeoutMs) {
    apart = await divergence(cluster);
    if (Object.keys(apart).length === 0) return Date.now() - started;
    await sleep(250);
  }
  throw new Error(`replicas still differ after ${timeoutMs} ms: ${JSON.stringify(apart)}`);
}

/** Reads through every proxy that return fewer points than were acknowledged, per `proxy:measurement`. */
export async function shortReads(cluster: ChaosCluster, writer: UniquePointWriter): Promise<Record<string, number>> {
  const short: Record<string, number> = {};
  for (const [index, agent] of cluster.agents.entries()) {
    for (const measurement of MEASUREMENTS) {
      const answer = await influxQuery(agent.proxyUrl, `SELECT count(seq) FROM "${measurement}"`, { db: CHAOS_DATABASE });
      const count = answer.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
      const acked = writer.acked.get(measurement)!.size;
      if (count < acked) short[`proxy-${index}:${measurement}`] = acked - count;
    }
  }
  return short;
}

/** Waits until no replica misses an acknowledged point; returns how long that took, or throws with what is missing. */
export async function waitForConvergence(cluster: ChaosCluster, writer: UniquePointWriter, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let missing: Record<string, number> = {};
  while (Date.now() - started < timeoutMs) {
    missing = await missingOnReplicas(cluster, writer);
    if (Object.keys(missing).length === 0) return Date.now() - started;
    await sleep(250);
  }
  throw new Error(`replicas did not converge within ${timeoutMs} ms; acknowledged points missing: ${JSON.stringify(missing)}`);
}
