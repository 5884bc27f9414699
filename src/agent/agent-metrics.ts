import type { BodyBudget } from './proxy/body-budget.ts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '../shared/metrics/metrics.ts';
import { AGENT_STATES, type AgentState } from './agent-lifecycle.ts';
import type { MembershipEvents } from './membership/membership-loop.ts';
import type { RegisteredNode } from './membership/membership-api.ts';
import type { HandoffEvents, QueueStatus } from './handoff/hinted-handoff.ts';
import type { ProxyEvents, ProxyRoute } from './proxy/proxy-events.ts';
import type { PeerOutcome } from './peer/peer-client.ts';

/** Latency buckets of requests, seconds: sub-millisecond local writes to slow merged queries. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The agent's key figures, totals since it started (gauges: now). What
 * internal-stats.ts writes into the local influxd's `_internal` database.
 */
export interface KeyFigures {
  proxyRequests: number;
  proxyServerErrors: number;
  proxyPointsWritten: number;
  proxyBytesWritten: number;
  peerRequests: number;
  peerErrors: number;
  metadataRevision: number;
  metadataReconcileFailures: number;
  hhQueuedRecords: number;
  hhQueuedBytes: number;
  hhReplayedPoints: number;
  hhDroppedRecords: number;
}

/**
 * Prometheus metrics of one agent, on its own registry (served on the peer
 * port). Labels take values from fixed sets, node names or targets (bounded
 * by the cluster's size); nothing a client or an operator types as a secret
 * ever becomes a label.
 */
export class AgentMetrics implements MembershipEvents, HandoffEvents, ProxyEvents {
  readonly registry = new Registry();
  readonly #heartbeats: Counter<'outcome'>;
  readonly #managerSeconds: Histogram;
  readonly #state: Gauge<'state'>;
  readonly #registrations: Counter;
  readonly #fastWrites: Counter;
  readonly #fastQueries: Counter;
  readonly #fastPeerQueries: Counter;
  readonly #peerFastQueries: Counter;
  readonly #refusedDocuments: Counter;
  readonly #replayedPoints: Counter<'target'>;
  readonly #replayedBytes: Counter<'target'>;
  readonly #droppedHints: Counter<'target' | 'reason'>;
  #handoffStatus: () => QueueStatus[] = () => [];
  readonly #refusedField: Gauge<'field'>;
  readonly #proxyRequests: Counter<'route' | 'method' | 'status'>;
  readonly #proxySeconds: Histogram<'route'>;
  readonly #pointsWritten: Counter;
  readonly #bytesWritten: Counter;
  readonly #peerRequests: Counter<'peer' | 'outcome'>;
  readonly #peerSeconds: Histogram<'peer'>;
  readonly #reconcileFailures: Counter<'reason'>;
  #metadataRevision: () => number = () => 0;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cflux_agent_' });
    this.#heartbeats = new Counter({
      name: 'cflux_agent_heartbeats_total',
      help: 'Heartbeats sent to the manager, by outcome (ok, unknown = 404, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.#managerSeconds = new Histogram({
      name: 'cflux_agent_manager_request_duration_seconds',
      help: 'Heartbeat round trip to the manager, retries included',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#state = new Gauge({ name: 'cflux_agent_state', help: '1 for the state the agent is in', labelNames: ['state'], registers });
    this.#registrations = new Counter({ name: 'cflux_agent_registrations_total', help: 'Successful registrations with the manager', registers });
    this.#fastWrites = new Counter({
      name: 'cflux_agent_proxy_fast_writes_total',
      help: 'Writes relayed byte for byte to the local influxd (its only owner), without HTTP parsing in the agent',
      registers,
    });
    this.#fastQueries = new Counter({
      name: 'cflux_agent_proxy_fast_queries_total',
      help: 'Queries (one SELECT of measurements this node owns) relayed byte for byte to the local influxd, without HTTP parsing in the agent',
      registers,
    });
    this.#fastPeerQueries = new Counter({
      name: 'cflux_agent_proxy_fast_peer_queries_total',
      help: 'Client queries (one SELECT of measurements one other node owns) relayed byte for byte to that node\'s agent, without HTTP parsing in this agent',
      registers,
    });
    this.#peerFastQueries = new Counter({
      name: 'cflux_agent_peer_fast_queries_total',
      help: 'Queries from other agents relayed byte for byte to the local influxd, without HTTP parsing in this agent',
      registers,
    });
    this.#proxyRequests = new Counter({
      name: 'cflux_agent_proxy_requests_total',
      help: 'Client requests answered by the proxy, by route (write, query, ping, health, api_v2_write, other), method and status (499: the client left first)',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.#proxySeconds = new Histogram({
      name: 'cflux_agent_proxy_request_duration_seconds',
      help: 'Time from a client request to the end of its answer, by route',
      labelNames: ['route'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#pointsWritten = new Counter({
      name: 'cflux_agent_proxy_points_written_total',
      help: 'Points (lines of line protocol) of client writes sent on to their owners, once per write whatever the replication factor; writes relayed untouched to the local influxd are not parsed and not counted here',
      registers,
    });
    this.#bytesWritten = new Counter({
      name: 'cflux_agent_proxy_bytes_written_total',
      help: 'Line protocol bytes of client writes sent on to their owners, once per write; writes relayed untouched count their body as the client sent it',
      registers,
    });
    this.#peerRequests = new Counter({
      name: 'cflux_agent_peer_requests_total',
      help: 'Requests to other agents, by peer node and outcome (ok, server_error, unreachable, cancelled)',
      labelNames: ['peer', 'outcome'],
      registers,
    });
    this.#peerSeconds = new Histogram({
      name: 'cflux_agent_peer_request_duration_seconds',
      help: "Time from a request to another agent to its answer's head (or its failure), by peer node",
      labelNames: ['peer'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    const revision = () => this.#metadataRevision();
    new Gauge({
      name: 'cflux_agent_metadata_revision_applied',
      help: 'Revision of the cluster document applied to the local influxd',
      registers,
      collect() {
        this.set(revision());
      },
    });
    this.#reconcileFailures = new Counter({
      name: 'cflux_agent_metadata_reconcile_failures_total',
      help: 'Failures to bring the local influxd to the cluster document, by reason (unreachable, refused); they are retried',
      labelNames: ['reason'],
      registers,
    });
    // Both series exist from the start, so that rate() and increase() see the first failure.
    for (const reason of ['unreachable', 'refused']) this.#reconcileFailures.inc({ reason }, 0);
    this.#refusedDocuments = new Counter({ name: 'cflux_agent_metadata_documents_refused_total', help: 'Cluster documents refused by the schema check (the agent keeps the last good one)', registers });
    this.#refusedField = new Gauge({
      name: 'cflux_agent_metadata_document_refused',
      help: '1 while the newest cluster document is refused, labelled with the first field found wrong; 0 once a valid one applies',
      labelNames: ['field'],
      registers,
    });
    this.#replayedPoints = new Counter({ name: 'cflux_agent_hh_replayed_points_total', help: 'Points replayed from hinted-handoff queues, by target node', labelNames: ['target'], registers });
    this.#replayedBytes = new Counter({ name: 'cflux_agent_hh_replayed_bytes_total', help: 'Line protocol bytes replayed from hinted-handoff queues, by target node', labelNames: ['target'], registers });
    this.#droppedHints = new Counter({
      name: 'cflux_agent_hh_dropped_records_total',
      help: 'Hinted-handoff records dropped, by target and reason (age, size, unstorable, corrupt)',
      labelNames: ['target', 'reason'],
      registers,
    });
    const status = () => this.#handoffStatus();
    new Gauge({
      name: 'cflux_agent_hh_queue_bytes',
      help: 'Bytes queued for each target node (hinted handoff)',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const queue of status()) this.set({ target: queue.target }, queue.bytes);
      },
    });
    new Gauge({
      name: 'cflux_agent_hh_queue_records',
      help: 'Write batches queued for each target node (hinted handoff)',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const queue of status()) this.set({ target: queue.target }, queue.records);
      },
    });
    new Gauge({
      name: 'cflux_agent_hh_oldest_age_seconds',
      help: 'Age of the oldest hint not replayed yet, per target node (0 when the queue is empty)',
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const queue of status()) this.set({ target: queue.target }, (queue.oldestAgeMs ?? 0) / 1000);
      },
    });
    this.setState('starting');
  }

  /** Gauges of what the proxy's body budget holds and how many requests wait for room; returns `budget`. */
  watchBodyBudget(budget: BodyBudget): BodyBudget {
    const registers = [this.registry];
    new Gauge({ name: 'cflux_agent_proxy_buffered_body_bytes', help: 'Request body bytes the proxy holds now (bounded by --max-buffered-bodies)', registers, collect() { this.set(budget.used); } });
    new Gauge({ name: 'cflux_agent_proxy_body_waiting_requests', help: 'Requests waiting, unread, for room under --max-buffered-bodies', registers, collect() { this.set(budget.waiting); } });
    return budget;
  }

  /** Where the hinted-handoff gauges read their values at scrape time. */
  watchHandoff(status: () => QueueStatus[]): void {
    this.#handoffStatus = status;
  }

  replayed(target: string, points: number, bytes: number): void {
    this.#replayedPoints.inc({ target }, points);
    this.#replayedBytes.inc({ target }, bytes);
  }

  dropped(target: string, reason: 'age' | 'size' | 'unstorable' | 'corrupt', records: number): void {
    this.#droppedHints.inc({ target, reason }, records);
  }

  /** The newest document was refused at `field` (undefined: the newest document is valid again). */
  documentRefused(field: string | undefined): void {
    this.#refusedField.reset();
    if (field === undefined) return;
    this.#refusedDocuments.inc();
    this.#refusedField.set({ field: field || '(document)' }, 1);
  }

  answered(route: ProxyRoute, method: string, status: number, seconds: number): void {
    this.#proxyRequests.inc({ route, method, status: String(status) });
    this.#proxySeconds.observe({ route }, seconds);
  }

  written(points: number, bytes: number): void {
    this.#pointsWritten.inc(points);
    this.#bytesWritten.inc(bytes);
  }

  relayed(bytes: number, fastPath: boolean): void {
    this.#bytesWritten.inc(bytes);
    if (fastPath) this.#fastWrites.inc();
  }

  relayedQuery(to: 'local' | 'peer'): void {
    (to === 'local' ? this.#fastQueries : this.#fastPeerQueries).inc();
  }

  /** A query from another agent was relayed byte for byte to the local influxd. */
  relayedPeerQuery(): void {
    this.#peerFastQueries.inc();
  }

  /** A request to the agent of node `peer` (its name, or its address when no node list names it) ended. */
  peerRequest(peer: string, outcome: PeerOutcome, seconds: number): void {
    this.#peerRequests.inc({ peer, outcome });
    this.#peerSeconds.observe({ peer }, seconds);
  }

  /** Where the applied-revision gauge reads its value at scrape time. */
  watchMetadataRevision(revision: () => number): void {
    this.#metadataRevision = revision;
  }

  reconcileFailed(reason: 'unreachable' | 'refused'): void {
    this.#reconcileFailures.inc({ reason });
  }

  async keyFigures(): Promise<KeyFigures> {
    const queues = this.#handoffStatus();
    return {
      proxyRequests: await total(this.#proxyRequests),
      proxyServerErrors: await total(this.#proxyRequests, (labels) => Number(labels['status']) >= 500),
      proxyPointsWritten: await total(this.#pointsWritten),
      proxyBytesWritten: await total(this.#bytesWritten),
      peerRequests: await total(this.#peerRequests),
      peerErrors: await total(this.#peerRequests, (labels) => labels['outcome'] === 'server_error' || labels['outcome'] === 'unreachable'),
      metadataRevision: this.#metadataRevision(),
      metadataReconcileFailures: await total(this.#reconcileFailures),
      hhQueuedRecords: queues.reduce((sum, queue) => sum + queue.records, 0),
      hhQueuedBytes: queues.reduce((sum, queue) => sum + queue.bytes, 0),
      hhReplayedPoints: await total(this.#replayedPoints),
      hhDroppedRecords: await total(this.#droppedHints),
    };
  }

  setState(current: AgentState): void {
    for (const state of AGENT_STATES) this.#state.set({ state }, state === current ? 1 : 0);
  }

  heartbeat(outcome: 'ok' | 'unknown' | 'failed', seconds: number): void {
    this.#heartbeats.inc({ outcome });
    this.#managerSeconds.observe(seconds);
  }

  registered(_node: RegisteredNode): void {
    this.#registrations.inc();
  }
}

/** The sum of a counter over its label sets (those `which` keeps). */
async function total<L extends string>(counter: Counter<L>, which: (labels: Partial<Record<string, string | number>>) => boolean = () => true): Promise<number> {
  let sum = 0;
  for (const { labels, value } of (await counter.get()).values) if (which(labels)) sum += value;
  return sum;
}
