import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AGENT_STATES, type AgentState } from './agent-lifecycle.ts';
import type { MembershipEvents } from './membership/membership-loop.ts';
import type { RegisteredNode } from './membership/membership-api.ts';

/** Prometheus metrics of one agent, on its own registry (served on the peer port). */
export class AgentMetrics implements MembershipEvents {
  readonly registry = new Registry();
  readonly #heartbeats: Counter<'outcome'>;
  readonly #managerSeconds: Histogram;
  readonly #state: Gauge<'state'>;
  readonly #registrations: Counter;
  readonly #fastWrites: Counter;
  readonly #refusedDocuments: Counter;
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
    this.setState('starting');
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
