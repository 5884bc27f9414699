import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Prometheus metrics in the text exposition format (0.0.4): the few kinds the
 * agent and the manager use (counters, gauges, histograms, with labels; a
 * gauge may read its values at scrape time) and the process figures
 * operators expect. Written here instead of using prom-client, which alone
 * costs an agent ~15 MiB of memory (issue: agent memory); the API is the
 * subset of prom-client's the code used.
 */
export type LabelValues<L extends string> = Partial<Record<L, string | number>>;

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Its samples, after running its collect hook. */
  samples(): Promise<Array<{ name: string; labels: Record<string, string | number>; value: number }>>;
}

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  readonly #metrics = new Map<string, Metric>();

  registerMetric(metric: Metric): void {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.#metrics.set(metric.name, metric);
  }

  /** Every metric in the text format. */
  async metrics(): Promise<string> {
    // Blocks apart by a blank line, as prom-client writes them (a test compares the two).
    const blocks: string[] = [];
    for (const metric of this.#metrics.values()) {
      const lines = [`# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${metric.name} ${metric.type}`];
      for (const sample of await metric.samples()) lines.push(`${sample.name}${labelText(sample.labels)} ${numberText(sample.value)}`);
      blocks.push(lines.join('\n'));
    }
    return blocks.join('\n\n') + '\n';
  }

  /** Names, types and samples (as prom-client's getMetricsAsJSON). */
  async getMetricsAsJSON(): Promise<Array<{ name: string; help: string; type: MetricType; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> }>> {
    const out = [];
    for (const metric of this.#metrics.values()) {
      const values = (await metric.samples()).map((sample) => ({ metricName: sample.name, labels: sample.labels, value: sample.value }));
      out.push({ name: metric.name, help: metric.help, type: metric.type, values });
    }
    return out;
  }
}

interface Options<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers?: Registry[];
}

abstract class LabelledMetric<L extends string> implements Metric {
  readonly name: string;
  readonly help: string;
  abstract readonly type: MetricType;
  protected readonly labelNames: readonly L[];
  protected readonly values = new Map<string, { labels: Record<string, string | number>; value: number }>();

  constructor(options: Options<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    for (const registry of options.registers ?? []) registry.registerMetric(this);
  }

  protected entry(labels: LabelValues<L>): { labels: Record<string, string | number>; value: number } {
    const ordered: Record<string, string | number> = {};
    for (const name of this.labelNames) if (labels[name] !== undefined) ordered[name] = labels[name]!;
    const key = JSON.stringify(ordered);
    let entry = this.values.get(key);
    if (!entry) this.values.set(key, (entry = { labels: ordered, value: 0 }));
    return entry;
  }

  /** Its current values by label set (as prom-client's get()). */
  async get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> {
    return { values: (await this.samples()).map(({ labels, value }) => ({ labels, value })) };
  }

  async samples(): Promise<Array<{ name: string; labels: Record<string, string | number>; value: number }>> {
    // A metric without labels shows 0 before anything happened, as prom-client's does.
    if (this.values.size === 0 && this.labelNames.length === 0) this.entry({});
    return [...this.values.values()].map((entry) => ({ name: this.name, labels: entry.labels, value: entry.value }));
  }
}

export class Counter<L extends string = string> extends LabelledMetric<L> {
  readonly type = 'counter';

  inc(labels?: LabelValues<L> | number, value = 1): void {
    if (typeof labels === 'number') return this.inc({}, labels);
    if (value < 0) throw new Error(`counter ${this.name} cannot go down`);
    this.entry(labels ?? {}).value += value;
  }
}

export class Gauge<L extends string = string> extends LabelledMetric<L> {
  readonly type = 'gauge';
  readonly #collect: ((this: Gauge<L>) => void | Promise<void>) | undefined;

  constructor(options: Options<L> & { collect?: (this: Gauge<L>) => void | Promise<void> }) {
    super(options);
    this.#collect = options.collect;
  }

  set(labels: LabelValues<L> | number, value?: number): void {
    if (typeof labels === 'number') this.entry({}).value = labels;
    else this.entry(labels).value = value ?? 0;
  }

  inc(labels?: LabelValues<L> | number, value = 1): void {
    if (typeof labels === 'number') this.entry({}).value += labels;
    else this.entry(labels ?? {}).value += value;
  }

  /** Forgets every labelled value (a collect hook then sets the current ones). */
  reset(): void {
    this.values.clear();
  }

  override async samples(): Promise<Array<{ name: string; labels: Record<string, string | number>; value: number }>> {
    await this.#collect?.call(this);
    return super.samples();
  }
}

export class Histogram<L extends string = string> implements Metric {
  readonly type = 'histogram';
  readonly name: string;
  readonly help: string;
  readonly #labelNames: readonly L[];
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { labels: Record<string, string | number>; counts: number[]; sum: number; count: number }>();

  constructor(options: Options<L> & { buckets?: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames ?? [];
    this.#buckets = options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    for (const registry of options.registers ?? []) registry.registerMetric(this);
  }

  observe(labels: LabelValues<L> | number, value?: number): void {
    if (typeof labels === 'number') return this.observe({}, labels);
    const ordered: Record<string, string | number> = {};
    for (const name of this.#labelNames) if (labels[name] !== undefined) ordered[name] = labels[name]!;
    const key = JSON.stringify(ordered);
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, (series = { labels: ordered, counts: this.#buckets.map(() => 0), sum: 0, count: 0 }));
    const observed = value ?? 0;
    for (const [index, bound] of this.#buckets.entries()) if (observed <= bound) series.counts[index]!++;
    series.sum += observed;
    series.count++;
  }

  async samples(): Promise<Array<{ name: string; labels: Record<string, string | number>; value: number }>> {
    const out: Array<{ name: string; labels: Record<string, string | number>; value: number }> = [];
    for (const series of this.#series.values()) {
      for (const [index, bound] of this.#buckets.entries()) out.push({ name: `${this.name}_bucket`, labels: { le: bound, ...series.labels }, value: series.counts[index]! });
      out.push({ name: `${this.name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: series.count });
      out.push({ name: `${this.name}_sum`, labels: series.labels, value: series.sum }, { name: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return out;
  }
}

/**
 * The process figures of prom-client's default metrics that operators chart:
 * CPU seconds, resident memory, heap, event-loop lag, start time.
 */
export function collectDefaultMetrics(options: { register: Registry; prefix?: string }): void {
  const prefix = options.prefix ?? '';
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const cpu = (kind: 'user' | 'system' | 'total') => () => {
    const usage = process.resourceUsage();
    const micros = kind === 'user' ? usage.userCPUTime : kind === 'system' ? usage.systemCPUTime : usage.userCPUTime + usage.systemCPUTime;
    return micros / 1e6;
  };
  const gauge = (name: string, help: string, read: () => number, type: 'counter' | 'gauge' = 'gauge') => {
    const metric: Metric = { name: prefix + name, help, type, samples: async () => [{ name: prefix + name, labels: {}, value: read() }] };
    options.register.registerMetric(metric);
  };
  gauge('process_cpu_user_seconds_total', 'User CPU time spent in seconds.', cpu('user'), 'counter');
  gauge('process_cpu_system_seconds_total', 'System CPU time spent in seconds.', cpu('system'), 'counter');
  gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', cpu('total'), 'counter');
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startSeconds);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => process.memoryUsage().heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => process.memoryUsage().heapUsed);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', () => process.memoryUsage().external);
  // p99 and max are read before the mean, whose read starts the next interval.
  const lagSeconds = (value: number) => (Number.isFinite(value) ? value / 1e9 : 0);
  gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the event loop delay since the last scrape, in seconds.', () => lagSeconds(lag.percentile(99)));
  gauge('nodejs_eventloop_lag_max_seconds', 'The longest event loop delay since the last scrape, in seconds.', () => lagSeconds(lag.max));
  gauge('nodejs_eventloop_lag_seconds', 'Mean event loop delay since the last scrape, in seconds.', () => {
    const mean = lagSeconds(lag.mean);
    lag.reset();
    return mean;
  });
  options.register.registerMetric(gcDurations(prefix + 'nodejs_gc_duration_seconds'));
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Time spent in garbage collection by kind, as the sum and count of a summary (prom-client's name). */
function gcDurations(name: string): Metric {
  const totals = new Map<string, { sum: number; count: number }>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as { detail?: unknown } as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      const total = totals.get(kind) ?? { sum: 0, count: 0 };
      total.sum += entry.duration / 1000;
      total.count++;
      totals.set(kind, total);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    name,
    help: 'Garbage collection duration by kind, in seconds.',
    type: 'summary',
    samples: async () =>
      [...totals].flatMap(([kind, total]) => [
        { name: `${name}_sum`, labels: { kind }, value: total.sum },
        { name: `${name}_count`, labels: { kind }, value: total.count },
      ]),
  };
}

function labelText(labels: Record<string, string | number>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([key, value]) => `${key}="${String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
