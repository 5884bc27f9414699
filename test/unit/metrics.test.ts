import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as prom from 'prom-client';
import * as ours from '../../src/shared/metrics/metrics.ts';

/** The same metrics, the same events, in a registry of either library. */
async function exposition(lib: typeof ours | typeof prom): Promise<string> {
  const registry = new lib.Registry();
  const registers = [registry as never];
  const counter = new lib.Counter({ name: 'x_requests_total', help: 'Requests, by route and "status"\nsecond line', labelNames: ['route', 'status'], registers });
  counter.inc({ route: 'write', status: 204 });
  counter.inc({ route: 'write', status: 204 }, 2);
  counter.inc({ route: 'q"uery\\', status: 500 }, 0.5);
  new lib.Counter({ name: 'x_untouched_total', help: 'Never incremented', registers });
  const gauge = new lib.Gauge({ name: 'x_queue_bytes', help: 'Bytes queued', labelNames: ['target'], registers });
  gauge.set({ target: 'a' }, 10);
  gauge.set({ target: 'b' }, 1.5);
  gauge.reset();
  gauge.set({ target: 'c' }, 3);
  new lib.Gauge({ name: 'x_collected', help: 'Read at scrape time', registers, collect() { this.set(42); } });
  const histogram = new lib.Histogram({ name: 'x_seconds', help: 'Durations', labelNames: ['route'], buckets: [0.01, 0.1, 1], registers });
  for (const value of [0.005, 0.05, 0.5, 5]) histogram.observe({ route: 'write' }, value);
  return registry.metrics();
}

test('the Prometheus text is what prom-client writes for the same metrics and events', async () => {
  assert.equal(await exposition(ours), await exposition(prom));
});

test('default process metrics are there with the prefix, and counters never go down', async () => {
  const registry = new ours.Registry();
  ours.collectDefaultMetrics({ register: registry, prefix: 'p_' });
  const text = await registry.metrics();
  for (const name of ['p_process_cpu_seconds_total', 'p_process_resident_memory_bytes', 'p_nodejs_heap_size_used_bytes', 'p_nodejs_eventloop_lag_seconds', 'p_nodejs_eventloop_lag_p99_seconds', 'p_nodejs_eventloop_lag_max_seconds', 'p_process_start_time_seconds']) assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
  const counter = new ours.Counter({ name: 'c_total', help: 'c', registers: [registry] });
  assert.throws(() => counter.inc(-1), /cannot go down/);
});
