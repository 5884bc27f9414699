// The Grafana dashboard in deploy/grafana/ names only metrics the agent and
// the manager really export: the exported names come from the real metric
// classes' registries, the used ones from every panel's PromQL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createLogger } from '../../src/shared/logging.ts';
import type { Registry } from '../../src/shared/metrics/metrics.ts';
import { AgentMetrics } from '../../src/agent/agent-metrics.ts';
import { ManagerMetrics } from '../../src/manager/manager-metrics.ts';
import { MetadataWatchHub } from '../../src/manager/long-poll/metadata-watch-hub.ts';
import { MemoryStore } from '../../src/manager/store/memory-store.ts';

const DASHBOARD_PATH = new URL('../../deploy/grafana/clusterflux-dashboard.json', import.meta.url);

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
}

/**
 * The series names Prometheus stores for a registry's metrics: a histogram
 * only as `_bucket`, `_sum` and `_count`, a summary as its quantiles (the
 * name), `_sum` and `_count`.
 */
async function exportedSeries(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    // prom-client's typings say an enum; at run time the type is its name.
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}

/** PromQL words that are not metric names (keywords and set operators). */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers left once string
 * literals, label matchers, range selectors and grouping label lists are
 * removed, except function names (followed by `(`), keywords, Grafana
 * variables and the letters of numbers and durations (`1e3`, `5m`).
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const name = match[0];
    if (PROMQL_WORDS.has(name.toLowerCase())) continue;
    if (stripped.slice(match.index + name.length).trimStart().startsWith('(')) continue;
    names.push(name);
  }
  return names;
}

/** Every panel that shows data, rows' nested panels included. */
function dataPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => (panel.type === 'row' ? dataPanels(panel.panels ?? []) : [panel]));
}

/** Per panel, the metric names its targets use that are not exported (`panel title: name`). */
function unknownMetrics(dashboard: Dashboard, exported: Set<string>): string[] {
  return dataPanels(dashboard.panels).flatMap((panel) => (panel.targets ?? []).flatMap((target) => metricNamesIn(target.expr ?? '').filter((name) => !exported.has(name)).map((name) => `${panel.title}: ${name}`)));
}

async function everyExportedSeries(): Promise<Set<string>> {
  const agent = new AgentMetrics();
  const manager = new ManagerMetrics(new MemoryStore(), new MetadataWatchHub(new MemoryStore(), createLogger({ level: 'silent', format: 'json' })));
  return new Set([...(await exportedSeries(agent.registry)), ...(await exportedSeries(manager.registry))]);
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;

test('metricNamesIn: metric names out of PromQL, not functions, labels, keywords, numbers or variables', () => {
  assert.deepEqual(metricNamesIn('histogram_quantile(0.99, sum by (route, le) (rate(a_seconds_bucket{x=~"$v", y="f(z)"}[$__rate_interval])))'), ['a_seconds_bucket']);
  assert.deepEqual(metricNamesIn('sum without (peer) (increase(b_total[5m] offset 1h)) / on(instance) group_left c_gauge > bool 1e3'), ['b_total', 'c_gauge']);
  assert.deepEqual(metricNamesIn('max(d) or vector(0)'), ['d']);
});

test('the dashboard: a Prometheus datasource variable that every panel and target uses', () => {
  const variable = dashboard.templating.list.find((entry) => entry.type === 'datasource');
  assert.equal(variable?.query, 'prometheus');
  const panels = dataPanels(dashboard.panels);
  assert.ok(panels.length >= 10, `${panels.length} panels`);
  for (const panel of panels) {
    assert.equal(panel.datasource?.uid, `\${${variable!.name}}`, panel.title);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has targets`);
    for (const target of panel.targets!) {
      assert.equal(target.datasource?.uid, `\${${variable!.name}}`, panel.title);
      assert.ok(metricNamesIn(target.expr ?? '').length > 0, `${panel.title}: ${target.expr} selects a metric`);
    }
  }
});

test('every metric a dashboard panel names is exported by the agent or the manager', async () => {
  const exported = await everyExportedSeries();
  assert.deepEqual(unknownMetrics(dashboard, exported), []);
  // The check itself finds a name nobody exports, and a histogram named without its series suffix.
  const wrong: Dashboard = { ...dashboard, panels: [{ type: 'timeseries', title: 'wrong', targets: [{ expr: 'rate(cflux_agent_no_such_thing_total[5m]) + cflux_agent_proxy_request_duration_seconds' }] }] };
  assert.deepEqual(unknownMetrics(wrong, exported), ['wrong: cflux_agent_no_such_thing_total', 'wrong: cflux_agent_proxy_request_duration_seconds']);
});

test('the dashboard shows the operating metrics: proxy, peers, hinted handoff, metadata, manager', () => {
  const used = new Set(dataPanels(dashboard.panels).flatMap((panel) => (panel.targets ?? []).flatMap((target) => metricNamesIn(target.expr ?? ''))));
  const expected = [
    'cflux_agent_proxy_requests_total',
    'cflux_agent_proxy_request_duration_seconds_bucket',
    'cflux_agent_proxy_points_written_total',
    'cflux_agent_proxy_bytes_written_total',
    'cflux_agent_peer_requests_total',
    'cflux_agent_peer_request_duration_seconds_bucket',
    'cflux_agent_hh_queue_records',
    'cflux_agent_hh_replayed_points_total',
    'cflux_agent_metadata_revision_applied',
    'cflux_agent_metadata_reconcile_failures_total',
    'cflux_manager_http_requests_total',
    'cflux_manager_http_request_duration_seconds_bucket',
    'cflux_manager_nodes',
  ];
  assert.deepEqual(expected.filter((name) => !used.has(name)), []);
});
