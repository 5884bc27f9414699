/**
 * DDL made directly on influxd while the agent pushes earlier direct DDL:
 * the reconcile after the push must not drop it (it used to read every
 * database and drop a retention policy created a moment after the check read
 * influxd). The agent's metadata mirror with a real manager and influxd; the
 * second statement is run at the worst moment, right after the push.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeTempDir } from '../../src/local/exit-cleanup.ts';
import { createLogger } from '../../src/shared/logging.ts';
import { ManagerClient } from '../../src/shared/http/manager-client.ts';
import { MetadataMirror } from '../../src/agent/metadata/metadata-mirror.ts';
import { ManagerMetadataApi, type MetadataApi } from '../../src/agent/metadata/metadata-api.ts';
import { AppliedStateStore } from '../../src/agent/metadata/applied-state-store.ts';
import { InfluxdQueryClient } from '../../src/agent/influxd/influxd-query-client.ts';
import { InfluxdEndpoint } from '../../src/agent/influxd/influxd-endpoint.ts';
import { influxQuery } from '../helpers/cluster-fixture.ts';
import { managerFetch, startManagerProcess, TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';
import { startInfluxd } from '../helpers/servers.ts';

/** A real influxd and manager, and an agent's metadata mirror on them (its loops not started: each step is the test's). */
async function mirrorSetup(t: { after: (fn: () => Promise<void>) => void }, wrap: (api: MetadataApi) => MetadataApi = (api) => api) {
  const influxd = await startInfluxd();
  const manager = await startManagerProcess();
  t.after(async () => {
    await manager.stop();
    await influxd.destroy();
  });
  const api = wrap(new ManagerMetadataApi(new ManagerClient({ endpoints: [manager.url], attempts: 2, timeoutMs: 5000, backoffBaseMs: 50, backoffCapMs: 200, token: TEST_MANAGER_TOKEN })));
  const mirror = new MetadataMirror({
    cluster: 'drift',
    api,
    influxd: new InfluxdQueryClient(new InfluxdEndpoint({ url: influxd.url }), undefined),
    store: new AppliedStateStore(await makeTempDir('cflux-drift-race-')),
    secrets: undefined,
    logger: createLogger({ level: 'silent', format: 'json' }),
    localChanges: 'push',
    driftIntervalMs: 0,
    replicationFactor: 1,
  });
  await mirror.load();
  await mirror.applyOperations([{ op: 'createDatabase', name: 'metrics' }]);
  // A running agent has checked influxd once (it then pushes what differs; before, it reconciles first).
  await mirror.checkDrift();
  const databasesInDocument = async () => (await (await managerFetch(`${manager.url}/clusters/drift`)).json()) as { metadata: { databases: Record<string, { retentionPolicies: Record<string, unknown> }> } };
  return { influxd, mirror, databasesInDocument };
}

test('a retention policy created on influxd right after the agent pushed a direct CREATE DATABASE is kept and pushed next', async (t) => {
  let afterPush: (() => Promise<void>) | undefined;
  const { influxd, mirror, databasesInDocument } = await mirrorSetup(t, (managerApi) => ({
    get: (cluster, signal) => managerApi.get(cluster, signal),
    poll: (cluster, known, wait, signal) => managerApi.poll(cluster, known, wait, signal),
    async write(cluster, base, metadata, signal, restore) {
      const reply = await managerApi.write(cluster, base, metadata, signal, restore);
      const hook = afterPush;
      afterPush = undefined;
      await hook?.();
      return reply;
    },
  }));
  const policies = async () => JSON.stringify(await influxQuery(influxd.url, 'SHOW RETENTION POLICIES ON metrics'));

  await influxQuery(influxd.url, 'CREATE DATABASE direct');
  afterPush = async () => void (await influxQuery(influxd.url, 'CREATE RETENTION POLICY hand ON metrics DURATION 10d REPLICATION 1'));
  await mirror.checkDrift();
  assert.equal(afterPush, undefined, 'the push happened');
  assert.match(await policies(), /"hand"/, 'the reconcile after the push left the new retention policy alone');

  await mirror.checkDrift();
  const document = await databasesInDocument();
  assert.ok(document.metadata.databases['direct'], 'the database was pushed');
  assert.ok(document.metadata.databases['metrics']!.retentionPolicies['hand'], 'the next check pushed the retention policy');
  assert.match(await policies(), /"hand"/);
});

test('a database made directly on influxd survives a cluster change applied before the next drift check, which pushes it', async (t) => {
  const { influxd, mirror, databasesInDocument } = await mirrorSetup(t);
  await influxQuery(influxd.url, 'CREATE DATABASE direct');
  await influxQuery(influxd.url, 'CREATE RETENTION POLICY hand ON metrics DURATION 10d REPLICATION 1');
  // The cluster changes (here through this agent; a poll brings the same reconcile) before a drift check ran.
  await mirror.applyOperations([{ op: 'createDatabase', name: 'other' }]);
  const databases = JSON.stringify(await influxQuery(influxd.url, 'SHOW DATABASES'));
  assert.match(databases, /"direct"/, `kept: ${databases}`);
  assert.match(JSON.stringify(await influxQuery(influxd.url, 'SHOW RETENTION POLICIES ON metrics')), /"hand"/);
  await mirror.checkDrift();
  const document = await databasesInDocument();
  assert.deepEqual(Object.keys(document.metadata.databases).sort(), ['direct', 'metrics', 'other']);
  assert.ok(document.metadata.databases['metrics']!.retentionPolicies['hand']);
});

test('a policy altered and a continuous query rewritten directly on influxd survive a cluster change to the same database before the drift check, which pushes them; a database dropped there is made again', async (t) => {
  const { influxd, mirror, databasesInDocument } = await mirrorSetup(t);
  const rollup = (every: string) => `CREATE CONTINUOUS QUERY rollup ON metrics BEGIN SELECT mean(v) INTO metrics.autogen.m_${every} FROM m GROUP BY time(${every}) END`;
  await mirror.applyOperations([{ op: 'createDatabase', name: 'doomed' }, { op: 'createContinuousQuery', database: 'metrics', name: 'rollup', query: rollup('1h') }]);
  await influxQuery(influxd.url, 'ALTER RETENTION POLICY autogen ON metrics DURATION 30d');
  await influxQuery(influxd.url, 'DROP CONTINUOUS QUERY rollup ON metrics');
  await influxQuery(influxd.url, rollup('5m'));
  await influxQuery(influxd.url, 'DROP DATABASE doomed');
  // The cluster changes the same database (another policy) before a drift check ran: the reconcile reads it in detail.
  await mirror.applyOperations([{ op: 'createRetentionPolicy', database: 'metrics', name: 'year', duration: 365 * 86_400, replicaN: 1, makeDefault: false }]);
  const policies = JSON.stringify(await influxQuery(influxd.url, 'SHOW RETENTION POLICIES ON metrics'));
  assert.match(policies, /"autogen","720h0m0s"/, `the direct ALTER was kept: ${policies}`);
  assert.match(policies, /"year"/);
  // A removal is not kept: it looks the same as a restore that stopped half-way (docs/metadata.md).
  assert.match(JSON.stringify(await influxQuery(influxd.url, 'SHOW DATABASES')), /"doomed"/, 'the dropped database was made again');
  assert.match(JSON.stringify(await influxQuery(influxd.url, 'SHOW CONTINUOUS QUERIES')), /m_5m/, 'the rewritten continuous query was kept');
  await mirror.checkDrift();
  const document = await databasesInDocument();
  assert.match(JSON.stringify(document.metadata.databases['metrics']), /m_5m/, 'the rewritten continuous query was pushed');
  assert.ok(document.metadata.databases['doomed'], 'no drop was pushed');
  assert.equal((document.metadata.databases['metrics']!.retentionPolicies['autogen'] as { duration: number }).duration, 30 * 86_400, 'the ALTER was pushed');
  assert.ok(document.metadata.databases['metrics']!.retentionPolicies['year']);
});

test('after influxd was away, what differs on its return (a restore from an older backup) is set back, not pushed', async (t) => {
  const { influxd, mirror, databasesInDocument } = await mirrorSetup(t);
  await influxd.kill('SIGKILL');
  await assert.rejects(mirror.checkDrift()); // influxd does not answer: what it holds on return must be seen whole first
  await influxd.restart();
  await influxQuery(influxd.url, 'ALTER RETENTION POLICY autogen ON metrics DURATION 7d'); // what an older backup would bring back
  await mirror.checkDrift();
  assert.match(JSON.stringify(await influxQuery(influxd.url, 'SHOW RETENTION POLICIES ON metrics')), /"autogen","0s"/, 'set back to the cluster policy');
  await mirror.checkDrift();
  const autogenDuration = async () => ((await databasesInDocument()).metadata.databases['metrics']!.retentionPolicies['autogen'] as { duration: number }).duration;
  assert.equal(await autogenDuration(), 0, 'nothing was pushed');
  // Seen whole again: a change made now is pushed.
  await influxQuery(influxd.url, 'ALTER RETENTION POLICY autogen ON metrics DURATION 30d');
  await mirror.checkDrift();
  assert.equal(await autogenDuration(), 30 * 86_400);
});
