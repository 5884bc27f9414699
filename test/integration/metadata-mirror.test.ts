import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { influxQuery, startClusterFixture, TEST_SECRET, waitForIdenticalViews, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

const run = promisify(execFile);

/** The real influx CLI (Debian package influxdb-client) against a proxy. */
async function influxCli(proxyUrl: string, statements: string): Promise<{ stdout: string; stderr: string }> {
  const { port } = new URL(proxyUrl);
  return run('influx', ['-host', '127.0.0.1', '-port', port, '-execute', statements], { timeout: 20_000 });
}

describe('metadata mirror: manager on etcd, 3 influxd, 3 agents', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('DDL from the influx CLI through agent A reaches every influxd within 1 s', async () => {
    await influxCli(
      cluster.agents[0]!.proxyUrl,
      [
        'CREATE DATABASE metrics WITH DURATION 3d REPLICATION 2 NAME short',
        'CREATE RETENTION POLICY long ON metrics DURATION 52w REPLICATION 2',
        "CREATE USER grafana WITH PASSWORD 'gr4fana-pw'",
        'GRANT READ ON metrics TO grafana',
        'CREATE CONTINUOUS QUERY hourly ON metrics BEGIN SELECT mean(value) INTO long.cpu_hourly FROM cpu GROUP BY time(1h) END',
      ].join('; '),
    );
    const took = await waitForIdenticalViews(cluster.influxds, ['metrics'], ['grafana'], 1000, (view) => view.includes('hourly') && view.includes('grafana') && view.includes('"long"'));
    assert.ok(took <= 1000);
    const policies = await influxQuery(cluster.influxds[2]!.url, 'SHOW RETENTION POLICIES ON metrics');
    assert.deepEqual(policies.results[0].series[0].values, [
      ['short', '72h0m0s', '24h0m0s', 2, true],
      ['long', '8736h0m0s', '168h0m0s', 2, false],
    ]);
    // the user works on another node with its password
    const asGrafana = await influxQuery(cluster.influxds[1]!.url, 'SHOW DATABASES', { u: 'grafana', p: 'gr4fana-pw' });
    assert.ok(!asGrafana.error, JSON.stringify(asGrafana));
  });

  test('answers keep influxd shapes: per-statement errors with 200, parse errors 400, GET deprecation warning', async () => {
    const proxy = cluster.agents[1]!.proxyUrl;
    const conflict = await influxQuery(proxy, 'CREATE RETENTION POLICY long ON metrics DURATION 2d REPLICATION 1; CREATE DATABASE never');
    assert.deepEqual(conflict, { results: [{ statement_id: 0, error: 'retention policy already exists' }] });
    const parse = await fetch(`${proxy}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABSE x' }) });
    assert.equal(parse.status, 400);
    assert.match(((await parse.json()) as { error: string }).error, /^error parsing query: found DATABSE, expected .* at line 1, char 8$/);
    const viaGet = await (await fetch(`${proxy}/query?q=${encodeURIComponent('CREATE DATABASE viaget')}`)).json();
    assert.deepEqual(viaGet, { results: [{ statement_id: 0, messages: [{ level: 'warning', text: "deprecated use of 'CREATE DATABASE viaget' in a read only context, please use a POST request instead" }] }] });
    const ok = await influxQuery(proxy, 'DROP DATABASE viaget; SHOW DATABASES');
    assert.equal(ok.results.length, 2);
    assert.equal(ok.results[1].statement_id, 1);
    assert.ok(!JSON.stringify(ok.results[1]).includes('viaget'));
  });

  test('the same statements at A and B at the same moment all land (CAS retry)', async () => {
    const statements = Array.from({ length: 10 }, (_, i) => `CREATE DATABASE race_${i}`);
    const answers = await Promise.all(statements.map((q, i) => influxQuery(cluster.agents[i % 2]!.proxyUrl, q)));
    assert.ok(answers.every((a) => a.results[0].error === undefined), JSON.stringify(answers));
    await waitForIdenticalViews(cluster.influxds, [], [], 2000, (view) => statements.every((_, i) => view.includes(`race_${i}`)));
  });

  test('DDL made directly on influxd C reaches A and B (push)', async () => {
    // 10 s: within a drift check (0.5 s here), a push and a fan-out; it took 0.3-0.6 s alone, and once over 5 s on a CI machine loaded by the rest of the suite.
    await influxQuery(cluster.influxds[2]!.url, 'CREATE DATABASE direct_on_c');
    await influxQuery(cluster.influxds[2]!.url, 'CREATE RETENTION POLICY hand ON metrics DURATION 10d REPLICATION 1');
    await waitForIdenticalViews(cluster.influxds, ['metrics', 'direct_on_c'], [], 10_000, (view) => view.includes('direct_on_c') && view.includes('"hand"'));
  });

  test('an agent restarted with an empty influxd data dir converges to the cluster state', async () => {
    const influxd = cluster.influxds[1]!;
    await cluster.agents[1]!.stop();
    await influxd.stop();
    await run('rm', ['-rf', `${influxd.dir}/data`, `${influxd.dir}/meta`, `${influxd.dir}/wal`]);
    await influxd.restart();
    assert.deepEqual((await influxQuery(influxd.url, 'SHOW DATABASES')).results[0].series?.[0]?.values ?? [], [], 'influxd starts empty');
    await cluster.restartAgent(1);
    await waitForIdenticalViews(cluster.influxds, ['metrics'], ['grafana'], 5000, (view) => view.includes('hourly') && view.includes('race_9'));
    const databases = (await influxQuery(cluster.influxds[0]!.url, 'SHOW DATABASES')).results[0].series[0].values.flat();
    assert.ok(databases.includes('metrics') && databases.includes('direct_on_c'), 'nothing was dropped from the cluster');
  });

  test('no plaintext password in etcd, in the manager answers, or in the logs', async () => {
    const etcdDump = await run('etcdctl', ['--endpoints', cluster.etcd!.endpoint, 'get', '--prefix', '/clusterflux/'], { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 64 * 1024 * 1024 });
    assert.ok(etcdDump.stdout.includes('grafana'), 'the dump holds the user');
    assert.ok(!etcdDump.stdout.includes('gr4fana-pw'));
    const answers = [
      await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).text(),
      await (await managerFetch(`${cluster.manager.url}/clusters/fixture/history`)).text(),
      await (await managerFetch(`${cluster.manager.url}/clusters/fixture/versions/0`)).text(),
    ];
    for (const answer of answers) assert.ok(!answer.includes('gr4fana-pw'));
    const logs = [...cluster.manager.logLines, ...cluster.agents.flatMap((agent) => agent.records.map((r) => JSON.stringify(r)))].join('\n');
    assert.ok(logs.length > 1000);
    assert.ok(!logs.includes('gr4fana-pw') && !logs.includes(TEST_SECRET));
  });

  test('manager stopped: agents keep serving; DDL gets a clear 503; after it returns, everything converges', async () => {
    await cluster.manager.kill();
    const proxy = cluster.agents[0]!.proxyUrl;
    const show = await influxQuery(proxy, 'SHOW DATABASES');
    assert.ok(JSON.stringify(show).includes('metrics'), 'queries still answered');
    const refused = await fetch(`${proxy}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE during_outage' }) });
    assert.equal(refused.status, 503);
    assert.match(((await refused.json()) as { error: string }).error, /cluster metadata unavailable, DDL not applied: manager unreachable/);
    const { startManagerProcess } = await import('../helpers/manager-process.ts');
    cluster.manager = await startManagerProcess({ etcdEndpoints: [cluster.etcd!.endpoint], port: cluster.manager.port });
    const answer = await influxQuery(proxy, 'CREATE DATABASE after_outage');
    assert.equal(answer.results[0].error, undefined);
    await waitForIdenticalViews(cluster.influxds, [], [], 15_000, (view) => view.includes('after_outage') && !view.includes('during_outage'));
  });
});
