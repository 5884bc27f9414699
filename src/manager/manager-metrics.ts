import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '../shared/metrics/metrics.ts';
import type { MetadataWatchHub } from './long-poll/metadata-watch-hub.ts';
import type { Store } from './store/store.ts';

/** Prometheus metrics of one manager process, on its own registry. */
export class ManagerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly casConflicts: Counter;

  constructor(store: Store, hub: MetadataWatchHub) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cflux_manager_' });
    this.requests = new Counter({
      name: 'cflux_manager_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'cflux_manager_http_request_duration_seconds',
      help: 'Time to answer a request (long-polls excluded)',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.casConflicts = new Counter({
      name: 'cflux_manager_metadata_cas_conflicts_total',
      help: 'Metadata writes refused because the document changed since the writer read it',
      registers,
    });
    new Gauge({
      name: 'cflux_manager_open_long_polls',
      help: 'Metadata long-polls waiting for a change',
      registers,
      collect() {
        this.set(hub.openWaiters);
      },
    });
    new Gauge({
      name: 'cflux_manager_metadata_watches',
      help: 'Store watches open (one per cluster with waiting polls)',
      registers,
      collect() {
        this.set(hub.openWatches);
      },
    });
    // Listing every node is a full read of the registry: at most once per 10 s, however often Prometheus scrapes.
    let nodeCounts: { at: number; counts: Map<string, number> } | undefined;
    const countNodes = async () => {
      if (nodeCounts && Date.now() - nodeCounts.at < 10_000) return nodeCounts.counts;
      const counts = new Map<string, number>();
      for (const node of await store.listNodes()) {
        const key = JSON.stringify([node.cluster, String(node.alive)]);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      nodeCounts = { at: Date.now(), counts };
      return counts;
    };
    const nodes = new Gauge({
      name: 'cflux_manager_nodes',
      help: 'Registered nodes by cluster and liveness',
      labelNames: ['cluster', 'alive'],
      registers,
      async collect() {
        nodes.reset();
        try {
          for (const [key, count] of await countNodes()) {
            const [cluster, alive] = JSON.parse(key) as [string, string];
            nodes.set({ cluster, alive }, count);
          }
        } catch {
          // store unreachable: the gauge stays empty for this scrape; /health reports the outage
        }
      },
    });
  }
}
