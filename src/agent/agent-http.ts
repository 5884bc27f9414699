import { startJsonServer, type JsonServer, type JsonServerOptions } from '../shared/http/json-server.ts';
import { Router } from '../shared/http/router.ts';
import type { HostPort } from '../shared/config/parsers.ts';
import type { Logger } from '../shared/logging.ts';
import type { AgentState } from './agent-lifecycle.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import type { QueueStatus } from './handoff/hinted-handoff.ts';
import type { InfluxdStatus } from './influxd/influxd-monitor.ts';

/** What /readyz reports. */
export interface Readiness {
  ready: boolean;
  state: AgentState;
  node?: { id: number; name: string; cluster: string };
  influxd: InfluxdStatus;
  /** Why the agent is not ready (empty when ready). */
  reasons: string[];
  /** Whether this node holds data (a placement member). */
  dataMember?: boolean;
  /** e.g. "registered, not a data member". */
  note?: string;
  /** This node's hinted-handoff queues (informational: hints kept for other nodes never make this one unready). */
  hintedHandoff?: { queues: QueueStatus[] };
}

/**
 * The agent's own endpoints on the peer port: GET /healthz (the process
 * answers), GET /readyz (registered and influxd reachable; 503 with the
 * reasons otherwise), GET /metrics. The peer data API joins them later.
 */
export function startAgentHttp(options: {
  listen: HostPort;
  logger: Logger;
  metrics: AgentMetrics;
  readiness: () => Readiness;
  router?: Router;
  /** Authentication of the peer routes and TLS of the port. Probes and metrics stay open (no secret in them). */
  server?: Pick<JsonServerOptions, 'authenticate' | 'challenge' | 'tls' | 'front'>;
}): Promise<JsonServer> {
  const router = options.router ?? new Router();
  router.add('GET', '/healthz', async () => ({ status: 200, body: { status: 'ok' } }), 'public');
  router.add(
    'GET',
    '/readyz',
    async () => {
      const readiness = options.readiness();
      return { status: readiness.ready ? 200 : 503, body: readiness };
    },
    'public',
  );
  router.add(
    'GET',
    '/metrics',
    async () => ({ status: 200, text: await options.metrics.registry.metrics(), contentType: options.metrics.registry.contentType }),
    'public',
  );
  return startJsonServer({ router, listen: options.listen, logger: options.logger, ...options.server });
}

/** Readiness from the agent's parts. */
export function computeReadiness(state: AgentState, node: Readiness['node'], influxd: InfluxdStatus): Readiness {
  const reasons: string[] = [];
  if (state !== 'running') reasons.push(`agent is ${state}`);
  if (!node) reasons.push('not registered with the manager');
  if (!influxd.reachable) reasons.push(`influxd not reachable: ${influxd.reason ?? 'unknown'}`);
  return { ready: reasons.length === 0, state, ...(node ? { node } : {}), influxd, reasons };
}
