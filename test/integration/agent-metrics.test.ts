// The agent's metrics against real processes (3 influxd with their monitor
// store on, 3 agents, a manager): what the proxy, the peers and the metadata
// mirror count on /metrics, and the `clusterflux` points the agents write
// into their influxd's `_internal` database.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { TEST_PEER_TOKEN, type AgentProcess } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch, TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(agent: AgentProcess): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${agent.peerUrl}/metrics`)).text());
}

/** The sum of a metric's samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)).reduce((sum, sample) => sum + sample.value, 0);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function write(proxyUrl: string, body: string): Promise<void> {
  const response = await fetch(`${proxyUrl}/write?db=metricsdb&precision=s`, { method: 'POST', body });
  assert.equal(response.status, 204, await response.text());
}

/** A password given with a query: it must never reach /metrics. */
const QUERY_PASSWORD = 'metrics-test-query-password';

describe('agent metrics (3 nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  let proxyUrl: string;

  before(async () => {
    cluster = await startClusterFixture({
      size: 3,
      etcd: false,
      // A 1 s store interval: influxd creates _internal at its first store tick (10 s by default, which a loaded machine stretches).
      influxd: { env: { INFLUXDB_MONITOR_STORE_ENABLED: 'true', INFLUXDB_MONITOR_STORE_INTERVAL: '1s' } },
      agentArgs: ['--internal-stats-interval', '1'],
    });
    proxyUrl = cluster.agents[0]!.proxyUrl;
    await influxQuery(proxyUrl, 'CREATE DATABASE metricsdb');
    // influxd creates _internal at the first tick of its monitor store.
    for (const influxd of cluster.influxds) {
      await waitFor(`_internal on ${influxd.url}`, async () => ((await influxQuery(influxd.url, 'SHOW DATABASES')).results[0].series[0].values.flat().includes('_internal') ? true : undefined), 30_000);
    }
  });
  after(() => cluster?.stop());

  test('proxy requests by route, points and bytes sent to owners, peer requests by node name', async () => {
    const before = await scrape(cluster.agents[0]!);
    const bodies = Array.from({ length: 5 }, (_, i) => `cpu,host=a v=${i} ${1_700_000_000 + i}\ncpu,host=b v=${i} ${1_700_000_000 + i}\nmem v=${i} ${1_700_000_000 + i}\n`);
    for (const body of bodies) await write(proxyUrl, body);
    for (let i = 0; i < 3; i++) {
      const params = new URLSearchParams({ db: 'metricsdb', q: 'SELECT count(v) FROM cpu', ...(i === 2 ? { u: 'reader', p: QUERY_PASSWORD } : {}) });
      const response = await fetch(`${proxyUrl}/query?${params}`);
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal((await fetch(`${proxyUrl}/ping`)).status, 204);
    assert.equal((await fetch(`${proxyUrl}/health`)).status, 200);
    const after = await scrape(cluster.agents[0]!);
    const delta = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

    assert.equal(delta('cflux_agent_proxy_requests_total', { route: 'write', method: 'POST', status: '204' }), bodies.length);
    assert.equal(delta('cflux_agent_proxy_requests_total', { route: 'query', method: 'GET', status: '200' }), 3);
    assert.equal(delta('cflux_agent_proxy_requests_total', { route: 'ping', method: 'GET', status: '204' }), 1);
    assert.equal(delta('cflux_agent_proxy_requests_total', { route: 'health', method: 'GET', status: '200' }), 1);
    assert.equal(delta('cflux_agent_proxy_request_duration_seconds_count', { route: 'write' }), bodies.length);
    assert.ok(delta('cflux_agent_proxy_request_duration_seconds_sum', { route: 'query' }) > 0);
    const routes = new Set(after.filter((sample) => sample.name === 'cflux_agent_proxy_requests_total').map((sample) => sample.labels['route']));
    assert.deepEqual([...routes].filter((route) => !['write', 'query', 'ping', 'health', 'api_v2_write', 'other'].includes(route!)), []);

    assert.equal(delta('cflux_agent_proxy_points_written_total'), 3 * bodies.length);
    assert.equal(delta('cflux_agent_proxy_bytes_written_total'), bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0));
    assert.equal(delta('cflux_agent_proxy_fast_writes_total'), 0, 'split writes do not take the fast path');

    // With RF 2 of 3 nodes every unit has an owner other than node-0: the writes went to peers, labelled by node name.
    const peers = after.filter((sample) => sample.name === 'cflux_agent_peer_requests_total');
    assert.ok(peers.length > 0);
    assert.deepEqual(peers.filter((sample) => !['node-1', 'node-2'].includes(sample.labels['peer']!)), []);
    assert.ok(delta('cflux_agent_peer_requests_total', { outcome: 'ok' }) >= bodies.length, JSON.stringify(peers));
    assert.ok(total(after, 'cflux_agent_peer_request_duration_seconds_count', { peer: 'node-1' }) + total(after, 'cflux_agent_peer_request_duration_seconds_count', { peer: 'node-2' }) > 0);
  });

  test('a write relayed untouched (fast path, _internal) counts its bytes, not its points', async () => {
    const before = await scrape(cluster.agents[0]!);
    const body = 'clusterflux_fast_path_probe v=1\n';
    // A new connection: the fast path judges a connection by its first request.
    const client = new Client(proxyUrl);
    try {
      const response = await client.request({ method: 'POST', path: '/write?db=_internal', body });
      assert.equal(response.statusCode, 204, await response.body.text());
    } finally {
      await client.close();
    }
    const after = await waitFor('the fast-path write counted', async () => {
      const samples = await scrape(cluster.agents[0]!);
      return total(samples, 'cflux_agent_proxy_requests_total', { route: 'write' }) > total(before, 'cflux_agent_proxy_requests_total', { route: 'write' }) ? samples : undefined;
    });
    const delta = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    assert.equal(delta('cflux_agent_proxy_fast_writes_total'), 1);
    assert.equal(delta('cflux_agent_proxy_bytes_written_total'), Buffer.byteLength(body));
    assert.equal(delta('cflux_agent_proxy_points_written_total'), 0);
    assert.equal(delta('cflux_agent_proxy_requests_total', { route: 'write', method: 'POST', status: '204' }), 1);
  });

  test("the agent's figures reach its influxd's _internal database (retention policy monitor), tagged with node and hostname", async () => {
    const metrics = await scrape(cluster.agents[0]!);
    const pointsWritten = total(metrics, 'cflux_agent_proxy_points_written_total');
    const requests = total(metrics, 'cflux_agent_proxy_requests_total');
    assert.ok(pointsWritten > 0);
    const row = await waitFor('a clusterflux point with the current totals', async () => {
      const answer = await influxQuery(cluster.influxds[0]!.url, `SELECT * FROM "_internal"."monitor"."clusterflux" WHERE proxy_points_written = ${pointsWritten} AND proxy_requests >= ${requests} ORDER BY time DESC LIMIT 1`);
      const series = answer.results?.[0]?.series?.[0];
      return series ? Object.fromEntries(series.columns.map((column: string, i: number) => [column, series.values[0][i]])) : undefined;
    }, 20_000);
    assert.equal(row['node'], 'node-0');
    assert.equal(row['hostname'], hostname());
    assert.ok(row['proxy_requests'] >= 7, JSON.stringify(row));
    assert.ok(row['proxy_bytes_written'] > 0);
    assert.ok(row['peer_requests'] > 0);
    assert.equal(row['metadata_revision'], total(metrics, 'cflux_agent_metadata_revision_applied'));
    for (const field of ['peer_errors', 'proxy_server_errors', 'metadata_reconcile_failures', 'hh_queued_records', 'hh_queued_bytes', 'hh_replayed_points', 'hh_dropped_records']) {
      assert.equal(typeof row[field], 'number', `${field} in ${JSON.stringify(row)}`);
    }
    // Every agent writes its own figures to its own influxd: _internal is node-local.
    const nodes = await waitFor('clusterflux points on node-1', async () => (await influxQuery(cluster.influxds[1]!.url, 'SHOW TAG VALUES FROM "clusterflux" WITH KEY = "node"', { db: '_internal' })).results?.[0]?.series?.[0]?.values);
    assert.deepEqual(nodes, [['node', 'node-1']]);
  });

  test('an influxd without _internal gets nothing: the agent does not create it', async () => {
    const agent = cluster.agents[2]!;
    // Dropped only once influxd made it and the agent writes there (influxd creates it once per start).
    await waitFor('clusterflux points on node-2', async () => ((await influxQuery(cluster.influxds[2]!.url, 'SELECT count(proxy_requests) FROM "_internal"."monitor"."clusterflux"')).results?.[0]?.series ? true : undefined));
    // influxd creates _internal at its first store tick, so the agent may have said this once at its start already.
    const saysNoDatabase = () => agent.records.filter((record) => typeof record['msg'] === 'string' && record['msg'].includes('has no _internal database')).length;
    const saidBefore = saysNoDatabase();
    await influxQuery(cluster.influxds[2]!.url, 'DROP DATABASE "_internal"');
    await waitFor('the agent to notice _internal is gone', async () => (saysNoDatabase() > saidBefore ? true : undefined));
    await sleep(1500);
    const databases = (await influxQuery(cluster.influxds[2]!.url, 'SHOW DATABASES')).results[0].series[0].values.flat();
    assert.ok(!databases.includes('_internal'), JSON.stringify(databases));
  });

  test('the applied metadata revision per node, and reconcile failures while an influxd is down', async () => {
    const revisionOf = async (index: number) => total(await scrape(cluster.agents[index]!), 'cflux_agent_metadata_revision_applied');
    assert.ok((await revisionOf(1)) > 0);
    await cluster.influxds[1]!.stop();
    try {
      await influxQuery(proxyUrl, 'CREATE DATABASE metricsdb_two');
      const failures = await waitFor('a reconcile failure on node-1', async () => {
        const count = total(await scrape(cluster.agents[1]!), 'cflux_agent_metadata_reconcile_failures_total', { reason: 'unreachable' });
        return count > 0 ? count : undefined;
      });
      assert.ok(failures > 0);
      assert.ok((await revisionOf(1)) < (await revisionOf(0)), 'node-1 stays at the revision its influxd has');
    } finally {
      await cluster.influxds[1]!.restart();
    }
    await waitFor('node-1 caught up', async () => ((await revisionOf(1)) === (await revisionOf(0)) ? true : undefined), 20_000);
  });

  test('no token or password appears in any /metrics', async () => {
    const texts = await Promise.all([...cluster.agents.map(async (agent) => (await fetch(`${agent.peerUrl}/metrics`)).text()), (await managerFetch(`${cluster.manager.url}/metrics`)).text()]);
    for (const text of texts) {
      assert.match(text, /cflux_(agent|manager)_/);
      for (const secret of [TEST_PEER_TOKEN, TEST_MANAGER_TOKEN, TEST_SECRET, QUERY_PASSWORD]) assert.ok(!text.includes(secret), `a secret in /metrics: ${secret}`);
    }
  });

  test('a stopped peer is counted as unreachable, under its node name', async () => {
    await cluster.agents[2]!.stop();
    for (let i = 0; i < 3; i++) await write(proxyUrl, `cpu,host=c v=${i} ${1_700_001_000 + i}\nmem v=${i} ${1_700_001_000 + i}\n`);
    const unreachable = await waitFor('an unreachable request to node-2', async () => {
      const count = total(await scrape(cluster.agents[0]!), 'cflux_agent_peer_requests_total', { peer: 'node-2', outcome: 'unreachable' });
      return count > 0 ? count : undefined;
    });
    assert.ok(unreachable > 0);
    const figures = await waitFor('peer_errors in _internal', async () => {
      const answer = await influxQuery(cluster.influxds[0]!.url, 'SELECT last(peer_errors) FROM "_internal"."monitor"."clusterflux"');
      const value = answer.results?.[0]?.series?.[0].values[0][1];
      return typeof value === 'number' && value > 0 ? value : undefined;
    });
    assert.ok(figures > 0);
  });
});
