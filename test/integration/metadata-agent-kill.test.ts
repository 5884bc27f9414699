// Fault test (non-negotiable 4) for the metadata path: the agent that takes
// DDL is SIGKILLed while statements are in flight through it (some written
// to the cluster document and not yet applied to its influxd, or applied and
// not yet answered). Every statement a client saw succeed must end up on
// every influxd and in the document, and the three influxd must agree with
// each other and with the document on what else made it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { influxQuery, startClusterFixture, waitForIdenticalViews, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { managerFetch } from '../helpers/manager-process.ts';

const STREAMS = 4;

/** The names SHOW DATABASES / SHOW USERS list on one influxd. */
async function names(url: string): Promise<{ databases: string[]; users: string[] }> {
  const column = async (q: string): Promise<string[]> => ((await influxQuery(url, q)).results[0].series?.[0]?.values ?? []).map((row: unknown[]) => String(row[0]));
  return { databases: (await column('SHOW DATABASES')).filter((name) => name.startsWith('k')).sort(), users: (await column('SHOW USERS')).sort() };
}

describe('metadata: the agent taking DDL is SIGKILLed mid-stream (3 nodes, memory manager)', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: false });
  });
  after(() => cluster.stop());

  test('every acknowledged statement is on every influxd and in the document; nothing else diverges', async () => {
    const entry = cluster.agents[0]!;
    const acknowledged = { databases: new Set<string>(), users: new Set<string>() };
    let killed = false;
    let failedInFlight = 0;
    // Statement n of stream s: a database, then a user (names sort apart so each kind is checked alone).
    const stream = async (s: number): Promise<void> => {
      for (let n = 0; !killed; n++) {
        const [kind, name] = n % 2 === 0 ? (['databases', `k${s}_${n}`] as const) : (['users', `ku${s}_${n}`] as const);
        const statement = kind === 'databases' ? `CREATE DATABASE ${name}` : `CREATE USER ${name} WITH PASSWORD 'pw-${name}'`;
        try {
          const answer = await influxQuery(entry.proxyUrl, statement);
          if (answer.results?.[0]?.error === undefined && answer.error === undefined) acknowledged[kind].add(name);
        } catch {
          failedInFlight++; // the connection died with the agent: not acknowledged
          return;
        }
      }
    };
    const streams = Array.from({ length: STREAMS }, (_, s) => stream(s));
    // Let a few dozen statements land, then kill the agent with more in flight.
    while (acknowledged.databases.size + acknowledged.users.size < 40) await sleep(5);
    await entry.kill();
    killed = true;
    await Promise.all(streams);
    assert.ok(acknowledged.databases.size + acknowledged.users.size >= 40);

    // The agent comes back on the same data directory and influxd.
    const back = await cluster.restartAgent(0);
    const everyAcked = (view: string): boolean =>
      [...acknowledged.databases].every((name) => view.includes(`"${name}"`)) && [...acknowledged.users].every((name) => view.includes(`"${name}"`));
    await waitForIdenticalViews(cluster.influxds, [], [], 30_000, everyAcked);

    // The document holds exactly what the influxd hold (in either direction, nothing half-made).
    const document = (await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { metadata: { databases: Record<string, unknown>; users: Record<string, unknown> } };
    const inDocument = {
      databases: Object.keys(document.metadata.databases).filter((name) => name.startsWith('k')).sort(),
      users: Object.keys(document.metadata.users).sort(),
    };
    for (const influxd of cluster.influxds) assert.deepEqual(await names(influxd.url), inDocument, `influxd ${influxd.url} against the document`);
    for (const name of acknowledged.databases) assert.ok(inDocument.databases.includes(name), `acknowledged database ${name}`);
    for (const name of acknowledged.users) assert.ok(inDocument.users.includes(name), `acknowledged user ${name}`);

    // And it takes DDL again, which reaches every influxd.
    assert.equal((await influxQuery(back.proxyUrl, 'CREATE DATABASE k_after_restart')).results[0].error, undefined);
    await waitForIdenticalViews(cluster.influxds, [], [], 10_000, (view) => view.includes('"k_after_restart"'));
    console.log(`# acknowledged before the kill: ${acknowledged.databases.size} databases, ${acknowledged.users.size} users; ${failedInFlight} statements cut off in flight`);
  });

  test('killed while applying a new document to its stopped influxd: on its return the statement reaches that influxd too', async () => {
    const influxd = cluster.influxds[0]!;
    // influxd 0 stops answering: agent 0's apply of the next document hangs there.
    await influxd.kill('SIGSTOP');
    try {
      assert.equal((await influxQuery(cluster.agents[1]!.proxyUrl, "CREATE USER kx_stuck WITH PASSWORD 'pw-stuck'")).results[0].error, undefined);
      await waitForIdenticalViews(cluster.influxds.slice(1), [], [], 10_000, (view) => view.includes('"kx_stuck"'));
      await sleep(1500); // agent 0 has polled the document and is stuck applying it (or reading influxd for a drift check)
      await cluster.agents[0]!.kill();
    } finally {
      await influxd.kill('SIGCONT');
    }
    await cluster.restartAgent(0);
    await waitForIdenticalViews(cluster.influxds, [], [], 30_000, (view) => view.includes('"kx_stuck"'));
  });

  test('an agent that died while its influxd lacked a database (a restore cut short) makes it again on return, and drops nothing cluster-wide', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `kept,host=h${i % 4} v=${i} ${1_700_000_000 + i}`).join('\n');
    // Something else stays on influxd 0, so it does not look wiped (that case is restored as a whole).
    assert.equal((await influxQuery(cluster.agents[1]!.proxyUrl, 'CREATE DATABASE k_restored_first')).results[0].error, undefined);
    assert.equal((await influxQuery(cluster.agents[1]!.proxyUrl, 'CREATE DATABASE k_precious WITH REPLICATION 3')).results[0].error, undefined);
    const written = await fetch(`${cluster.agents[1]!.proxyUrl}/write?db=k_precious&precision=s&consistency=all`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
    await waitForIdenticalViews(cluster.influxds, [], [], 10_000, (view) => view.includes('"k_precious"'));
    // The agent dies; its influxd is left without the database, as a restore of a wiped influxd cut short would leave it.
    await cluster.agents[0]!.kill();
    await influxQuery(cluster.influxds[0]!.url, 'DROP DATABASE k_precious');
    const back = await cluster.restartAgent(0);
    await waitForIdenticalViews(cluster.influxds, [], [], 15_000, (view) => view.includes('"k_precious"'));
    await sleep(1500); // three more drift checks: none may push a drop
    const document = (await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { metadata: { databases: Record<string, unknown> } };
    assert.ok(document.metadata.databases['k_precious'], 'the database is still in the cluster document');
    for (const influxd of cluster.influxds.slice(1)) {
      const count = await influxQuery(influxd.url, 'SELECT count(v) FROM kept', { db: 'k_precious' });
      assert.equal(count.results[0].series?.[0]?.values?.[0]?.[1], 20, `the points are still on ${influxd.url}`);
    }
    assert.equal((await influxQuery(back.proxyUrl, 'SHOW DATABASES')).results[0].error, undefined);
  });
});
