// The raw query relay with two data members: a SELECT this node owns goes to
// its influxd byte for byte; one the other node owns goes to that node's agent
// byte for byte (peer-query-relay.test.ts has more); one of both is split; and
// when the local influxd is down, the raw relay gives the query to the routed
// path, which answers from the other replica.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { ownersOf } from '../../src/cluster/placement.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';

describe('the raw query relay with two data members', () => {
  let cluster: ClusterFixture;
  const metric = async (agent: number, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${cluster.agents[agent]!.peerUrl}/metrics`)).text())?.[1]);
  const fastQueries = (agent = 0) => metric(agent, 'cflux_agent_proxy_fast_queries_total');
  /** One GET on a connection of its own (a connection that took the routed path stays on it). */
  const select = async (agent: number, database: string, q: string) => {
    const pool = new Pool(cluster.agents[agent]!.proxyUrl, { connections: 1 });
    try {
      const response = await pool.request({ method: 'GET', path: `/query?db=${database}&q=${encodeURIComponent(q)}` });
      return { status: response.statusCode, body: (await response.body.json()) as any };
    } finally {
      await pool.close();
    }
  };
  const owned = (database: string, rf: number, node: string) => ['qa', 'qb', 'qc', 'qd', 'qe', 'qf'].find((m) => ownersOf(database, m, ['node-0', 'node-1'], rf)[0] === node)!;

  before(async () => {
    cluster = await startClusterFixture({ size: 2, etcd: false });
    for (const statement of ['CREATE DATABASE rq1 WITH REPLICATION 1', 'CREATE DATABASE rq2 WITH REPLICATION 2']) {
      assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, statement)).results[0].error, undefined);
    }
    const lines = ['qa', 'qb', 'qc', 'qd', 'qe', 'qf'].flatMap((m) => [1, 2, 3].map((i) => `${m} value=${i} ${1_700_000_000 + i}`)).join('\n');
    for (const database of ['rq1', 'rq2']) {
      const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=${database}&precision=s&consistency=all`, { method: 'POST', body: lines });
      assert.equal(written.status, 204, await written.text());
    }
  });
  after(() => cluster.stop());

  test('a measurement this node owns is relayed raw; one the other node owns is relayed raw to its agent; both are split', async () => {
    const before = await fastQueries();
    const toPeer = await metric(0, 'cflux_agent_proxy_fast_peer_queries_total');
    const here = await select(0, 'rq1', `SELECT sum(value) FROM ${owned('rq1', 1, 'node-0')}`);
    assert.equal(here.status, 200);
    assert.equal(here.body.results[0].series[0].values[0][1], 6);
    assert.equal((await fastQueries()) - before, 1, 'relayed raw');
    const there = await select(0, 'rq1', `SELECT sum(value) FROM ${owned('rq1', 1, 'node-1')}`);
    assert.equal(there.body.results[0].series[0].values[0][1], 6, 'answered by node-1');
    assert.equal((await metric(0, 'cflux_agent_proxy_fast_peer_queries_total')) - toPeer, 1, 'relayed raw to node-1\'s agent');
    const both = await select(0, 'rq1', `SELECT sum(value) FROM ${owned('rq1', 1, 'node-0')}, ${owned('rq1', 1, 'node-1')}`);
    assert.equal(both.body.results[0].series.length, 2, 'two owners: split and merged');
    assert.equal((await fastQueries()) - before, 1, 'neither of those was relayed raw to the local influxd');
    assert.equal((await metric(0, 'cflux_agent_proxy_fast_peer_queries_total')) - toPeer, 1, 'the split one was not relayed raw');
  });

  test('on one connection, queries the raw relay does not take are lent to the HTTP server; a write sends the connection there for good', async () => {
    const pool = new Pool(cluster.agents[0]!.proxyUrl, { connections: 1, pipelining: 1 });
    const get = async (q: string, database = 'rq1') => {
      const response = await pool.request({ method: 'GET', path: `/query?db=${database}&q=${encodeURIComponent(q)}` });
      return (await response.body.json()) as any;
    };
    try {
      const mine = owned('rq1', 1, 'node-0');
      const theirs = owned('rq1', 1, 'node-1');
      const [local, peer] = [await fastQueries(), await metric(0, 'cflux_agent_proxy_fast_peer_queries_total')];
      assert.equal((await get(`SELECT sum(value) FROM ${mine}`)).results[0].series[0].values[0][1], 6);
      assert.equal((await get('SELECT count(value) FROM /q[a-f]/')).results[0].series.length, 6, 'a regex: routed, lent');
      assert.equal((await get('SHOW DATABASES')).results[0].series[0].values.flat().includes('rq1'), true, 'lent');
      const posted = await pool.request({ method: 'POST', path: '/query?db=rq1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ q: `SELECT count(value) FROM ${mine}` }).toString() });
      assert.equal(((await posted.body.json()) as any).results[0].series[0].values[0][1], 3, 'a POST query: lent');
      assert.equal((await get(`SELECT sum(value) FROM ${theirs}`)).results[0].series[0].values[0][1], 6);
      assert.equal((await get(`SELECT sum(value) FROM ${mine}`)).results[0].series[0].values[0][1], 6);
      assert.equal((await fastQueries()) - local, 2, 'the connection stayed on the fast path: both SELECTs of its own measurement relayed raw');
      assert.equal((await metric(0, 'cflux_agent_proxy_fast_peer_queries_total')) - peer, 1);
      // A write to a replicated database is not lent (its body would cross the in-process link for nothing).
      const written = await pool.request({ method: 'POST', path: '/write?db=rq2&precision=s', body: `qz value=1 ${1_700_000_100}` });
      assert.equal(written.statusCode, 204, await written.body.text());
      assert.equal((await get(`SELECT sum(value) FROM ${mine}`)).results[0].series[0].values[0][1], 6);
      assert.equal((await fastQueries()) - local, 2, 'after the write, the connection is the HTTP server\'s');
    } finally {
      await pool.close();
    }
  });

  test('the local influxd down: the raw relay hands the query to the routed path, which answers from the other replica', async () => {
    const measurement = owned('rq2', 2, 'node-0');
    const before = await fastQueries();
    assert.equal((await select(0, 'rq2', `SELECT count(value) FROM ${measurement}`)).body.results[0].series[0].values[0][1], 3);
    assert.equal((await fastQueries()) - before, 1);
    await cluster.influxds[0]!.stop();
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await select(0, 'rq2', `SELECT count(value) FROM ${measurement}`);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.results[0].series[0].values[0][1], 3, 'answered by node-1');
        await sleep(100);
      }
    } finally {
      await cluster.influxds[0]!.restart();
    }
  });
});
