import { hostname, networkInterfaces } from 'node:os';
import { CFLUX_VERSION } from '../shared/version.ts';
import { ManagerClient } from '../shared/http/manager-client.ts';
import type { JsonServer } from '../shared/http/json-server.ts';
import { recentProblemsOf, type Logger } from '../shared/logging.ts';
import { DataStats } from './membership/data-stats.ts';
import { AgentLifecycle, type AgentState } from './agent-lifecycle.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { computeReadiness, startAgentHttp, type Readiness } from './agent-http.ts';
import type { AgentOptions } from './agent-settings.ts';
import { discoverHost, formatHostPort, resolveAdvertisedAddress, resolveNodeName } from './discovery/host-discovery.ts';
import type { AgentSecrets } from './agent-secrets.ts';
import { InfluxdMonitor } from './influxd/influxd-monitor.ts';
import { LocalInfluxd } from './influxd/local-influxd.ts';
import { InfluxdEndpoint } from './influxd/influxd-endpoint.ts';
import { LoadStatsCollector } from './membership/load-stats.ts';
import { ManagerMembershipApi, type RegisteredNode, type RegistrationBody } from './membership/membership-api.ts';
import { MembershipLoop } from './membership/membership-loop.ts';
import { InfluxdQueryClient } from './influxd/influxd-query-client.ts';
import { AppliedStateStore } from './metadata/applied-state-store.ts';
import { ManagerMetadataApi } from './metadata/metadata-api.ts';
import { MetadataMirror } from './metadata/metadata-mirror.ts';
import { QueryHandler } from './proxy/query-handler.ts';
import { LocalPassthrough } from './influxd/local-passthrough.ts';
import { BodyBudget } from './proxy/body-budget.ts';
import { ProxyServer } from './proxy/proxy-server.ts';
import { WriteHandler } from './proxy/write-handler.ts';
import { QueryRouter } from './proxy/query-router.ts';
import { addPeerRoutes, peerAuthentication } from './peer/peer-api.ts';
import { peerPortFront } from './proxy/fast-path/peer-query-relay.ts';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS } from '../shared/http/json-server.ts';
import { PeerClient } from './peer/peer-client.ts';
import { PeerDirectory } from './peer/peer-directory.ts';
import { joinDataMembers } from './membership/auto-join.ts';
import { Placement } from '../cluster/placement.ts';
import { Router } from '../shared/http/router.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeWithin } from '../shared/closing.ts';
import { Replication } from './replication.ts';
import { addMovesRoute } from './moves/moves-route.ts';
import { addRepairRoute } from './repair/repair-route.ts';
import { basicAuthorization } from './influxd/influxd-credentials.ts';
import { messageOf } from '../shared/errors.ts';
import { authModeMismatch } from './metadata/auth-mode.ts';
import { InternalStats } from './internal-stats.ts';

/** How long a write to a database this agent does not know waits for it to arrive from the manager (read-your-DDL). */
const DDL_CATCH_UP_MS = 5000;

/** How long clients' requests in flight may take to finish on stop before their connections are cut. */
const PROXY_DRAIN_MS = 2000;

/** Attempts per manager call (docs/design.md: 5, with exponential backoff and jitter). */
const MANAGER_ATTEMPTS = 5;

/**
 * A peer that answered within this long is used even while the manager does
 * not list it alive (a manager back from an outage relearns the nodes one
 * heartbeat at a time): the data plane does not stall on the control plane.
 */
const PEER_ANSWER_TRUST_MS = 30_000;

/** A running `cflux agent`: discovery, membership, the local influxd, and its HTTP endpoints. */
export class Agent {
  readonly options: AgentOptions;
  readonly lifecycle: AgentLifecycle;
  readonly #logger: Logger;
  readonly #metrics = new AgentMetrics();
  readonly #monitor: InfluxdMonitor;
  readonly #membership: MembershipLoop;
  readonly #stats = new LoadStatsCollector();
  readonly #dataStats: DataStats;
  readonly #stop = new AbortController();
  readonly #env: Record<string, string | undefined>;
  readonly #mirror: MetadataMirror;
  readonly #passthrough: LocalPassthrough;
  /** The one way to the local influxd (its URL's scheme and trusted CAs). */
  readonly #influxd: InfluxdEndpoint;
  readonly #proxy: ProxyServer;
  #proxyAddress: string | undefined;
  readonly #nodeName: string;
  readonly #peerToken: string | undefined;
  readonly #directory: PeerDirectory;
  readonly #peers: PeerClient;
  readonly #peerTls: { cert: string; key: string } | undefined;
  /** The agent's own influxd credentials as an Authorization header (replayed hints are written with them). */
  readonly #agentAuthorization: string | undefined;
  readonly #internalStats: InternalStats;
  #replication: Replication | undefined;
  #placementCache: Placement | undefined;
  #http: JsonServer | undefined;
  #loops: Promise<unknown> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: AgentOptions, logger: Logger, secrets: AgentSecrets, env: Record<string, string | undefined> = process.env) {
    const credentials = secrets.influxdCredentials;
    this.#agentAuthorization = basicAuthorization(credentials)['authorization'];
    this.options = options;
    this.#env = env;
    this.#logger = logger.child({ component: 'agent' });
    this.lifecycle = new AgentLifecycle(this.#logger);
    this.lifecycle.onChange((state) => this.#metrics.setState(state));
    this.#influxd = new InfluxdEndpoint({ url: options.influxdUrl, ...(secrets.influxdCa ? { ca: secrets.influxdCa } : {}) });
    const influxd = new LocalInfluxd(this.#influxd, credentials);
    this.#monitor = new InfluxdMonitor(influxd, options.heartbeatInterval, logger.child({ component: 'influxd-monitor' }));
    const client = new ManagerClient({
      endpoints: options.manager,
      attempts: MANAGER_ATTEMPTS,
      timeoutMs: options.managerTimeout,
      backoffBaseMs: 200,
      backoffCapMs: 5000,
      ...(secrets.managerToken !== undefined ? { token: secrets.managerToken } : {}),
      ...(secrets.ca !== undefined ? { ca: secrets.ca } : {}),
    });
    this.#membership = new MembershipLoop({
      cluster: options.cluster,
      api: new ManagerMembershipApi(client),
      influxd: this.#monitor,
      lifecycle: this.lifecycle,
      logger: logger.child({ component: 'membership' }),
      describe: (version) => this.#describe(version),
      collectStats: async () => ({ ...(await this.#stats.latest()), ...this.#handoffStats(), ...this.#overviewStats(), metadataRevision: this.#mirror.appliedRevision }),
      heartbeatIntervalMs: options.heartbeatInterval,
      events: this.#metrics,
    });
    const influxdQueries = new InfluxdQueryClient(this.#influxd, credentials);
    this.#mirror = new MetadataMirror({
      cluster: options.cluster,
      api: new ManagerMetadataApi(client, (message) => logger.info({ reason: message }, 'a metadata change waits while the agents restore the manager')),
      influxd: influxdQueries,
      store: new AppliedStateStore(options.dataDir),
      secrets: secrets.clusterSecret,
      logger: logger.child({ component: 'metadata' }),
      localChanges: options.localChanges,
      driftIntervalMs: options.driftInterval,
      replicationFactor: options.replicationFactor,
      onDocumentRefused: (field) => this.#metrics.documentRefused(field),
      onReconcileFailed: (why) => this.#metrics.reconcileFailed(why),
    });
    this.#metrics.watchMetadataRevision(() => this.#mirror.appliedRevision);
    this.#passthrough = new LocalPassthrough(this.#influxd);
    const agentHeaders: Record<string, string> = this.#agentAuthorization ? { authorization: this.#agentAuthorization } : {};
    this.#dataStats = new DataStats(
      async (statement) => (await this.#passthrough.queryText(new URLSearchParams({ q: statement }), agentHeaders)).body,
      () => Object.keys(this.#mirror.appliedMetadata.databases),
      logger.child({ component: 'data-stats' }),
    );
    this.#nodeName = resolveNodeName(options.nodeName, env, hostname());
    this.#peerToken = secrets.peerToken;
    this.#directory = new PeerDirectory({
      client,
      cluster: options.cluster,
      intervalMs: options.heartbeatInterval,
      logger: logger.child({ component: 'peers' }),
      answeredRecently: (address) => this.#peers.answeredWithin(address, PEER_ANSWER_TRUST_MS),
    });
    this.#peers = new PeerClient({
      revision: () => this.#mirror.appliedRevision,
      // Peers are labelled by node name: bounded by the cluster's size, and what operators know them by.
      onRequest: (address, outcome, seconds) => this.#metrics.peerRequest(this.#directory.nameAt(address) ?? address, outcome, seconds),
      ...(secrets.peerToken !== undefined ? { token: secrets.peerToken } : {}),
      ...(secrets.peerTls ? { tls: { ...(secrets.ca !== undefined ? { ca: secrets.ca } : {}), ...(options.peerServerName !== undefined ? { servername: options.peerServerName } : {}) } } : {}),
    });
    this.#peerTls = secrets.peerTls;
    const placement = () => this.#placement();
    this.#proxy = new ProxyServer({
      listen: options.listen,
      maxBodyBytes: options.maxBodySize,
      bodyBudget: this.#metrics.watchBodyBudget(new BodyBudget(options.maxBufferedBodies)),
      queries: new QueryHandler(
        this.#mirror,
        this.#passthrough,
        new QueryRouter({
          self: this.#nodeName,
          placement,
          directory: this.#directory,
          peers: this.#peers,
          influxd: this.#passthrough,
          pin: (operation) => this.#mirror.applyOperations([operation]),
          isBehind: (node, database, measurement) => this.#replication?.handoff.isBehind(node, database, measurement) === true || this.#directory.isBehind(node, database, measurement),
        }),
        logger.child({ component: 'proxy' }),
      ),
      writes: new WriteHandler({
        self: this.#nodeName,
        placement,
        metadata: () => this.#mirror.appliedMetadata,
        awaitDatabase: (database, signal) => this.#mirror.awaitDatabase(database, DDL_CATCH_UP_MS, signal),
        directory: this.#directory,
        peers: this.#peers,
        influxd: this.#passthrough,
        keep: (owner, hint, stored) => {
          if (!this.#replication) throw new Error('hinted handoff is not open yet');
          return this.#replication.handoff.enqueue(owner, hint, stored);
        },
        maxBodyBytes: options.maxBodySize,
        onWritten: (points, bytes) => this.#metrics.written(points, bytes),
        logger: logger.child({ component: 'writes' }),
      }),
      influxd: this.#passthrough,
      influxdEndpoint: this.#influxd,
      peerQueries: { self: this.#nodeName, peers: this.#peers, directory: this.#directory },
      events: this.#metrics,
      refusal: () => this.#refusal(),
      influxdVersion: () => this.#monitor.lastVersion,
      logger: logger.child({ component: 'proxy' }),
    });
    this.#internalStats = new InternalStats({
      node: this.#nodeName,
      hostname: hostname(),
      intervalMs: options.internalStatsInterval,
      figures: () => this.#metrics.keyFigures(),
      influxdReachable: () => this.#monitor.status.reachable,
      influxd: influxdQueries,
      write: (params, body, signal) => this.#passthrough.write(params, body, this.#agentAuthorization, signal),
      logger: logger.child({ component: 'internal-stats' }),
    });
  }

  /** Placement over the last applied metadata, rebuilt when a new version arrives. */
  #placement(): Placement {
    const metadata = this.#mirror.appliedMetadata;
    if (this.#placementCache?.metadata !== metadata) this.#placementCache = new Placement(metadata);
    return this.#placementCache;
  }

  /** The metadata mirror (tests read its applied version). */
  get mirror(): MetadataMirror {
    return this.#mirror;
  }

  /** Where the InfluxDB-compatible proxy listens, after start. */
  get proxyAddress(): string | undefined {
    return this.#proxyAddress;
  }

  get state(): AgentState {
    return this.lifecycle.state;
  }

  /** The manager's record of this agent, once registered. */
  get node(): RegisteredNode | undefined {
    return this.#membership.node;
  }

  /** Where the peer port (healthz/readyz/metrics) listens, after start. */
  get peerAddress(): string | undefined {
    return this.#http ? formatHostPort(this.#http.address) : undefined;
  }

  readiness(): Readiness {
    const node = this.#membership.node;
    const readiness = computeReadiness(this.state, node ? { id: node.id, name: node.name, cluster: node.cluster } : undefined, this.#monitor.status);
    const refusal = this.#refusal();
    const reasons = refusal ? [...readiness.reasons, refusal] : readiness.reasons;
    return {
      ...readiness,
      ready: reasons.length === 0,
      reasons,
      dataMember: this.isDataMember,
      ...(this.isDataMember ? {} : { note: 'registered, not a data member' }),
      ...(this.#replication ? { hintedHandoff: { queues: this.#replication.handoff.status() } } : {}),
    };
  }

  /** What heartbeats tell the operator's overview (`cflux status`, the manager's page): readiness, versions, data held, recent problems. */
  #overviewStats(): Record<string, unknown> {
    const readiness = this.readiness();
    const data = this.#dataStats.latest();
    return {
      ready: readiness.ready,
      notReady: readiness.reasons,
      cfluxVersion: CFLUX_VERSION,
      ...(this.#monitor.lastVersion !== undefined ? { influxdVersion: this.#monitor.lastVersion } : {}),
      ...(data ? { data } : {}),
      recentErrors: recentProblemsOf(this.#nodeName),
    };
  }

  /** What heartbeats tell the cluster about this node's hinted-handoff queues (other agents avoid owners behind). */
  #handoffStats(): Record<string, unknown> {
    if (!this.#replication) return {};
    const { handoff } = this.#replication;
    return { hintedHandoff: { queues: handoff.status(), behind: handoff.behind() } };
  }

  /**
   * Why this node must not serve clients or peers now: its influxd's auth
   * mode differs from the cluster's (auth-mode.ts), or it has no cluster
   * metadata yet (a new or wiped node: its influxd lacks the databases, and
   * answering would be wrong, not just slow).
   */
  #refusal(): string | undefined {
    if (!this.#mirror.knowsMetadata) return 'the cluster metadata has not been read from the manager yet';
    return this.#authMismatch();
  }

  #authMismatch(): string | undefined {
    return authModeMismatch(this.#mirror.appliedMetadata.settings.influxdAuth, this.#monitor.status.authEnabled);
  }

  /** Opens the peer port and starts the loops; returns at once (the loops run until stop()). */
  async start(): Promise<void> {
    // The last applied metadata first: the proxy then knows the databases from its first request on.
    await this.#mirror.load();
    const peerRouter = new Router();
    this.#replication = await Replication.open({
      self: this.#nodeName,
      options: this.options,
      influxdReachable: () => this.#monitor.status.reachable,
      directory: this.#directory,
      peers: this.#peers,
      influxd: this.#passthrough,
      agentAuthorization: this.#agentAuthorization,
      placement: () => this.#placement(),
      metadata: () => this.#mirror.appliedMetadata,
      metrics: this.#metrics,
      logger: this.#logger,
      metadataCurrent: () => this.#mirror.isCurrent,
      applyOperations: async (operations) => {
        const outcomes = await this.#mirror.applyOperations(operations);
        const refused = outcomes.find((outcome) => !outcome.ok);
        if (refused && !refused.ok) throw new Error(refused.error);
      },
    });
    const replication = this.#replication;
    addRepairRoute(peerRouter, () => this.#replication?.repair);
    addMovesRoute(peerRouter, {
      metadata: () => this.#mirror.appliedMetadata,
      nodes: () => this.#placement().members,
      available: (node) => (node === this.#nodeName ? this.#monitor.status.reachable : this.#directory.isAvailable(node)),
      access: () => this.#replication?.access,
      bytesPerSecond: this.options.moveRate,
    });
    addPeerRoutes(peerRouter, {
      agentAuthorization: this.#agentAuthorization,
      influxd: this.#passthrough,
      maxBodyBytes: this.options.maxBodySize,
      refusal: () => this.#refusal(),
      awaitRevision: (revision, timeoutMs, signal) => this.#mirror.catchUpTo(revision, timeoutMs, signal),
    });
    this.#http = await startAgentHttp({
      listen: this.options.peerListen,
      logger: this.#logger,
      metrics: this.#metrics,
      readiness: () => this.readiness(),
      router: peerRouter,
      server: {
        ...peerAuthentication(this.#peerToken),
        ...(this.#peerTls ? { tls: this.#peerTls } : {}),
        front: peerPortFront({
          influxd: this.#influxd,
          token: this.#peerToken,
          refusal: () => this.#refusal(),
          appliedRevision: () => this.#mirror.appliedRevision,
          onRelayed: () => this.#metrics.relayedPeerQuery(),
          idleTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
          headTimeoutMs: HEADERS_TIMEOUT_MS,
          logger: this.#logger.child({ component: 'peer-api' }),
        }),
      },
    });
    this.#proxyAddress = formatHostPort(await this.#proxy.start());
    this.#logger.info({ peerListen: this.peerAddress, proxyListen: this.#proxyAddress, cluster: this.options.cluster, managers: this.options.manager, influxd: this.options.influxdUrl }, 'agent listening');
    const signal = this.#stop.signal;
    this.#loops = Promise.all([
      this.#monitor.run(signal),
      this.#membership.run(signal).catch((err: unknown) => this.#logger.error({ err }, 'membership loop failed')),
      this.#runMirror(signal).catch((err: unknown) => this.#logger.error({ err }, 'metadata mirror failed')),
      this.#directory.run(signal),
      replication.run(signal),
      this.#internalStats.run(signal),
    ]);
  }

  async #runMirror(signal: AbortSignal): Promise<void> {
    try {
      await this.#monitor.waitUntilReachable(signal);
    } catch {
      return; // stopped before influxd answered
    }
    await Promise.all([this.#mirror.run(signal), this.#joinLoop(signal), this.#recordAuthMode(signal)]);
  }

  /** The first agent that knows its influxd's auth mode records it as the cluster's (retried until the manager takes it). */
  async #recordAuthMode(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.#mirror.appliedMetadata.settings.influxdAuth === undefined) {
      const enabled = this.#monitor.status.authEnabled;
      if (enabled !== undefined) {
        try {
          await this.#mirror.applyOperations([{ op: 'setInfluxdAuth', enabled, ifUnset: true }]);
        } catch (err) {
          this.#logger.warn({ reason: messageOf(err) }, 'cannot record the cluster influxd auth mode yet');
        }
      }
      // Also after a success: the recorded mode reaches the applied document with the next poll answer.
      await sleep(this.options.heartbeatInterval, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Joins the data members while the cluster has no database, or with --auto-join (checked every heartbeat interval until a member). */
  async #joinLoop(signal: AbortSignal): Promise<void> {
    let announced = false;
    while (!signal.aborted) {
      if (await joinDataMembers(this.#mirror, this.#nodeName, this.#logger, this.options.autoJoin)) return;
      if (!announced && !this.options.autoJoin) this.#logger.warn({ node: this.#nodeName }, 'registered, not a data member: run `cflux members add NAME` (or start the agent with --auto-join) to let it hold data');
      announced = true;
      await sleep(this.options.heartbeatInterval, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Whether this node holds data (a placement member). */
  get isDataMember(): boolean {
    return this.#mirror.appliedMetadata.settings.dataMembers.includes(this.#nodeName);
  }

  /**
   * `--once`: check influxd, register, return the registration, deregister.
   * Throws with the reason when influxd or the manager cannot be reached.
   */
  async runOnce(): Promise<RegisteredNode> {
    const status = await this.#monitor.check();
    if (!status.reachable) throw new Error(status.reason ?? 'influxd not reachable');
    this.lifecycle.set('registering');
    const node = await this.#membership.registerOnce(this.#stop.signal);
    this.lifecycle.set('running', { id: node.id });
    await this.stop();
    return node;
  }

  /** Drains: stops the loops, deregisters (bounded by --shutdown-timeout), closes the port. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.lifecycle.set('draining');
      this.#stop.abort();
      await this.#loops;
      await this.#membership.deregister(this.options.shutdownTimeout);
      await closeWithin(this.#proxy, PROXY_DRAIN_MS);
      // After the proxy: writes that finish while it drains may still keep copies.
      await this.#replication?.close();
      await Promise.all([closeWithin(this.#influxd, 1000), closeWithin(this.#peers, 1000)]);
      if (this.#http) await closeWithin(this.#http, 1000);
      this.lifecycle.set('stopped');
    })();
    return this.#stopping;
  }

  async #describe(influxdVersion: string): Promise<RegistrationBody> {
    const host = discoverHost({ env: this.#env, hostname, interfaces: networkInterfaces });
    const peerPort = this.#http?.address.port ?? this.options.peerListen.port;
    return {
      name: this.#nodeName,
      hostname: host.hostname,
      ip: host.ips,
      'bind-address': resolveAdvertisedAddress(this.options.advertiseAddress, host.ips, { ...this.options.peerListen, port: peerPort }),
      'proxy-address': resolveAdvertisedAddress(undefined, host.ips, this.#proxyAddress ? { ...this.options.listen, port: Number(this.#proxyAddress.split(':').pop()) } : this.options.listen),
      version: influxdVersion,
      stats: { ...(await this.#stats.latest()), cfluxVersion: CFLUX_VERSION, ...this.#handoffStats(), metadataRevision: this.#mirror.appliedRevision },
    };
  }
}
