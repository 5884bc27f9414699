import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AGENT_STATES, type AgentState } from './agent-lifecycle.ts';
import type { MembershipEvents } from './membership/membership-loop.ts';
import type { RegisteredNode } from './membership/membership-api.ts';
import type { HandoffEvents, QueueStatus } from './handoff/hinted-handoff.ts';

/** Prometheus metrics of one agent, on its own registry (served on the peer port). */
export class AgentMetrics implements MembershipEvents, HandoffEvents {
  readonly registry = new Registry();
  readonly #heartbeats: Counter<'outcome'>;
  readonly #managerSeconds: Histogram;
  readonly #state: Gauge<'state'>;
  readonly #registrations: Counter;
  readonly #fastWrites: Counter;
  readonly #refusedDocuments: Counter;
  readonly #replayedPoints: Counter<'target'>;
  readonly #replayedBytes: Counter<'target'>;
  readonly #droppedHints: Counter<'target' | 'reason'>;
  #handoffStatus: () => QueueStatus[] = () => [];
  readonly #refusedField: Gauge<'field'>;

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

  fastWrite(): void {
    this.#fastWrites.inc();
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
