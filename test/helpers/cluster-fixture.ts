import { startAgentProcess, type AgentProcess } from './agent-process.ts';
import { startManagerProcess, type ManagerProcess, managerFetch } from './manager-process.ts';
import { startEtcd, startInfluxd, type EtcdServer, type InfluxdOptions, type InfluxdServer } from './servers.ts';

/** The cluster secret the fixture's agents share. */
export const TEST_SECRET = 'fixture-secret-for-tests-0123456789';

/** A whole cluster of real processes: etcd (optional), a manager, N influxd and N agents. */
export interface ClusterFixture {
  etcd: EtcdServer | undefined;
  manager: ManagerProcess;
  influxds: InfluxdServer[];
  agents: AgentProcess[];
  /** Starts agent `index` again (same influxd, same data dir unless `args` override). */
  restartAgent(index: number, args?: string[]): Promise<AgentProcess>;
  stop(): Promise<void>;
}

export interface ClusterFixtureOptions {
  size?: number;
  /** Manager on a real etcd (default) or on the memory store. */
  etcd?: boolean;
  /** Extra agent flags for every agent. */
  agentArgs?: string[];
  cluster?: string;
  /** Options for every influxd (e.g. auth). */
  influxd?: InfluxdOptions;
  /** Agent environment; replaces the default `{ CFLUX_SECRET }`. */
  agentEnv?: Record<string, string>;
  /** Extra manager environment (e.g. CFLUX_AGENT_TOKEN). */
  managerEnv?: Record<string, string>;
  /** The manager's node TTL in seconds (its default otherwise). */
  managerTtl?: number;
  /** Node flags for every agent (before the script), e.g. the ones the shipped units set. */
  agentNodeArgs?: string[];
}

export async function startClusterFixture(options: ClusterFixtureOptions = {}): Promise<ClusterFixture> {
  const size = options.size ?? 3;
  const cluster = options.cluster ?? 'fixture';
  const etcd = options.etcd === false ? undefined : await startEtcd();
  const [manager, ...influxds] = await Promise.all([
    startManagerProcess({ ...(etcd ? { etcdEndpoints: [etcd.endpoint] } : {}), ...(options.managerEnv ? { env: options.managerEnv } : {}), ...(options.managerTtl !== undefined ? { ttl: options.managerTtl } : {}) }),
    ...Array.from({ length: size }, () => startInfluxd(options.influxd)),
  ]);
  const argsFor = (index: number) => [
    '--manager', manager.url, '--cluster', cluster, '--node-name', `node-${index}`, '--influxd-url', influxds[index]!.url,
    '--data-dir', `${influxds[index]!.dir}/agent`, '--heartbeat-interval', '1', '--drift-interval', '0.5',
    ...(options.agentArgs ?? []),
  ];
  const env = options.agentEnv ?? { CFLUX_SECRET: TEST_SECRET };
  const spawnOptions = { env, ...(options.agentNodeArgs ? { nodeArgs: options.agentNodeArgs } : {}) };
  const agents = await Promise.all(influxds.map((_, index) => startAgentProcess(argsFor(index), spawnOptions)));
  // Every agent joins the data members while the cluster is empty; wait for that, so placement is settled.
  for (let waited = 0; ; waited += 50) {
    const document = (await (await managerFetch(`${manager.url}/clusters/${encodeURIComponent(cluster)}`)).json()) as { metadata: { settings?: { dataMembers?: string[] } } | null };
    const registered = (await (await managerFetch(`${manager.url}/nodes/${encodeURIComponent(cluster)}`)).json()) as Array<{ alive: boolean }>;
    if ((document.metadata?.settings?.dataMembers?.length ?? 0) >= size && registered.filter((node) => node.alive).length >= size) break;
    if (waited > 15_000) throw new Error(`agents did not all join the data members: ${JSON.stringify(document.metadata?.settings)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // An agent serves clients once it has read the cluster metadata (until then it answers 503): wait for every one.
  await waitUntilAgentsKnowMetadata(agents);
  const fixture: ClusterFixture = {
    etcd,
    manager,
    influxds: influxds as InfluxdServer[],
    agents,
    async restartAgent(index, args = []) {
      // A restarted agent keeps its ports, as a real one does (its address in the node list stays right).
      const previous = agents[index]!;
      await previous.stop();
      const ports = [
        ...(args.includes('--peer-listen') ? [] : ['--peer-listen', new URL(previous.peerUrl).host]),
        ...(args.includes('--listen') ? [] : ['--listen', new URL(previous.proxyUrl).host]),
      ];
      agents[index] = await startAgentProcess([...argsFor(index), ...ports, ...args], spawnOptions);
      return agents[index]!;
    },
    async stop() {
      await Promise.all(agents.map((agent) => agent.stop()));
      await fixture.manager.stop(); // a test may have replaced the manager

      await Promise.all(influxds.map((influxd) => influxd!.destroy()));
      await etcd?.destroy();
    },
  };
  return fixture;
}

/** The admin of {@link startAuthClusterFixture}'s influxd, as query parameters. */
export const TEST_ADMIN = { u: 'admin', p: 'adm1n-pw' };

/** A cluster on the memory store whose influxd require auth; the agents use {@link TEST_ADMIN}. */
export function startAuthClusterFixture(size: number): Promise<ClusterFixture> {
  return startClusterFixture({
    size,
    etcd: false,
    influxd: { auth: true, adminUser: TEST_ADMIN.u, adminPassword: TEST_ADMIN.p },
    agentEnv: { CFLUX_SECRET: TEST_SECRET, INFLUX_USERNAME: TEST_ADMIN.u, INFLUX_PASSWORD: TEST_ADMIN.p },
  });
}

/** Runs one query against an influxd (or a proxy) and returns the parsed JSON. */
export async function influxQuery(url: string, q: string, params: Record<string, string> = {}): Promise<any> {
  return (await influxRequest(url, q, params)).body;
}

/** Like influxQuery, with the HTTP status. */
export async function influxRequest(url: string, q: string, params: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  // influxd reads u and p from the URL only, not from a form body.
  const { u, p, ...rest } = params;
  const auth = u === undefined ? '' : `?${new URLSearchParams({ u, p: p ?? '' })}`;
  const response = await fetch(`${url}/query${auth}`, { method: 'POST', body: new URLSearchParams({ q, ...rest }) });
  return { status: response.status, body: await response.json() };
}

/** SHOW output that must be identical on every influxd of the cluster. */
export async function metadataView(url: string, databases: string[], users: string[]): Promise<string> {
  const parts = [await influxQuery(url, 'SHOW DATABASES'), await influxQuery(url, 'SHOW USERS'), await influxQuery(url, 'SHOW CONTINUOUS QUERIES')];
  for (const db of databases) parts.push(await influxQuery(url, `SHOW RETENTION POLICIES ON "${db}"`));
  for (const user of users) parts.push(await influxQuery(url, `SHOW GRANTS FOR "${user}"`));
  return JSON.stringify(parts.map(sortedResult));
}

/** A query result with rows and series in a fixed order (influxd lists in creation order). */
function sortedResult(result: any): any {
  for (const statement of result.results ?? []) {
    for (const series of statement.series ?? []) series.values?.sort((a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    statement.series?.sort((a: any, b: any) => String(a.name ?? '').localeCompare(String(b.name ?? '')));
  }
  return result;
}

/** Polls until every influxd shows the same metadata view; returns how long it took. */
export async function waitForIdenticalViews(influxds: InfluxdServer[], databases: string[], users: string[], timeoutMs: number, expected?: (view: string) => boolean): Promise<number> {
  const started = Date.now();
  let views: string[] = [];
  while (Date.now() - started < timeoutMs) {
    views = await Promise.all(influxds.map((influxd) => metadataView(influxd.url, databases, users)));
    if (views.every((view) => view === views[0]) && (!expected || expected(views[0]!))) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`influxd metadata did not converge in ${timeoutMs} ms:\n${views.join('\n')}`);
}

/** Until no agent's readiness says it has not read the cluster metadata yet (at most 15 s). */
async function waitUntilAgentsKnowMetadata(agents: readonly AgentProcess[]): Promise<void> {
  for (const agent of agents) {
    for (let waited = 0; ; waited += 50) {
      const readiness = (await (await fetch(`${agent.peerUrl}/readyz`)).json()) as { reasons?: string[] };
      if (!(readiness.reasons ?? []).some((reason) => reason.includes('cluster metadata has not been read'))) break;
      if (waited > 15_000) throw new Error(`an agent did not read the cluster metadata: ${JSON.stringify(readiness)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
