// The raw peer query relay, with three data members, RF 2 and influxd auth on:
// a SELECT of a measurement two other nodes own goes from node-0's agent to
// the chosen owner's agent and its influxd byte for byte, the client's
// credentials judged by that influxd; the peer port relays nothing without
// the peer token; and when the chosen owner's influxd is down, or its agent
// is killed, the query is still answered, by the other owner.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch as fetchWith } from 'undici';
import { ownersOf } from '../../src/cluster/placement.ts';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { influxQuery, startAuthClusterFixture, TEST_ADMIN, type ClusterFixture } from '../helpers/cluster-fixture.ts';

const MEMBERS = ['node-0', 'node-1', 'node-2'];
const CANDIDATES = ['pa', 'pb', 'pc', 'pd', 'pe', 'pf', 'pg', 'ph'];
const ADMIN = `u=${TEST_ADMIN.u}&p=${TEST_ADMIN.p}`;

describe('the raw peer query relay (three nodes, RF 2, influxd auth)', () => {
  let cluster: ClusterFixture;
  /** A measurement node-0 does not own, and the index of the owner node-0's agent picks for it (the other owner answers when it cannot). */
  let measurement: string;
  let owner: number;
  const counter = async (agent: number, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${cluster.agents[agent]!.peerUrl}/metrics`)).text())?.[1]);
  const count = (q: string) => `/query?db=pq&q=${encodeURIComponent(q)}`;
  /** Through node-0's agent on connections of their own (one that carried a routed request, like the setup's writes, stays on the HTTP path). */
  let connections: Agent;
  const viaAgent = (path: string, headers: Record<string, string> = {}) => fetchWith(`${cluster.agents[0]!.proxyUrl}${path}`, { headers, dispatcher: connections });

  before(async () => {
    cluster = await startAuthClusterFixture(3);
    const proxy = cluster.agents[0]!.proxyUrl;
    assert.equal((await influxQuery(proxy, 'CREATE DATABASE pq WITH REPLICATION 2', TEST_ADMIN)).results[0].error, undefined);
    measurement = CANDIDATES.find((m) => !ownersOf('pq', m, MEMBERS, 2).includes('node-0'))!;
    const owners = ownersOf('pq', measurement, MEMBERS, 2);
    owner = MEMBERS.indexOf(owners[0]!);
    const lines = CANDIDATES.flatMap((m) => [1, 2, 3, 4].map((i) => `${m},host=h${i % 2} value=${i} ${1_700_000_000 + i}`)).join('\n');
    const written = await fetch(`${proxy}/write?db=pq&precision=s&consistency=all&${ADMIN}`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
    connections = new Agent();
  });
  after(async () => {
    await connections.close();
    await cluster.stop();
  });

  test('relayed raw through both agents: the answer is the owner influxd\'s, byte for byte, chunked or not', async () => {
    const sentBefore = await counter(0, 'cflux_agent_proxy_fast_peer_queries_total');
    const takenBefore = await counter(owner, 'cflux_agent_peer_fast_queries_total');
    for (const extra of ['', '&chunked=true&chunk_size=1', '&epoch=ms']) {
      const path = `${count(`SELECT value FROM ${measurement} GROUP BY host`)}&${ADMIN}${extra}`;
      const direct = await fetch(`${cluster.influxds[owner]!.url}${path}`);
      const relayed = await viaAgent(path);
      assert.equal(relayed.status, 200);
      const body = await relayed.text();
      assert.equal(body, await direct.text());
      assert.ok(body.includes('"h1"'), body);
      assert.equal(relayed.headers.get('x-influxdb-version'), direct.headers.get('x-influxdb-version'));
      assert.ok(relayed.headers.get('x-clusterflux-version'), 'the owner\'s agent names itself, once');
    }
    assert.equal((await counter(0, 'cflux_agent_proxy_fast_peer_queries_total')) - sentBefore, 3, 'sent to the peer raw');
    assert.equal((await counter(owner, 'cflux_agent_peer_fast_queries_total')) - takenBefore, 3, 'relayed raw by the peer');
  });

  test('the client\'s credentials are judged by the owner\'s influxd, as they would be directly', async () => {
    const q = count(`SELECT count(value) FROM ${measurement}`);
    const sentBefore = await counter(0, 'cflux_agent_proxy_fast_peer_queries_total');
    for (const [query, headers] of [
      ['', {}],
      [`&u=${TEST_ADMIN.u}&p=wrong`, {}],
      ['', { authorization: `Basic ${Buffer.from(`${TEST_ADMIN.u}:${TEST_ADMIN.p}`).toString('base64')}` }],
      ['', { authorization: `Basic ${Buffer.from(`${TEST_ADMIN.u}:wrong`).toString('base64')}` }],
      [`&${ADMIN}`, {}],
    ] as Array<[string, Record<string, string>]>) {
      const direct = await fetch(`${cluster.influxds[owner]!.url}${q}${query}`, { headers });
      const relayed = await viaAgent(`${q}${query}`, headers);
      assert.equal(relayed.status, direct.status, `${query} ${JSON.stringify(headers)}`);
      assert.deepEqual(await relayed.json(), await direct.json());
    }
    assert.equal((await counter(0, 'cflux_agent_proxy_fast_peer_queries_total')) - sentBefore, 5, 'every one relayed raw');
  });

  test('the peer port relays nothing without the peer token', async () => {
    const takenBefore = await counter(owner, 'cflux_agent_peer_fast_queries_total');
    const path = `/peer/v1/query?db=pq&q=${encodeURIComponent(`SELECT count(value) FROM ${measurement}`)}`;
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${Buffer.from(`${TEST_ADMIN.u}:${TEST_ADMIN.p}`).toString('base64')}`]) {
      const answer = await fetch(`${cluster.agents[owner]!.peerUrl}${path}`, { headers: { 'x-cflux-client-authorization': `Basic ${Buffer.from(`${TEST_ADMIN.u}:${TEST_ADMIN.p}`).toString('base64')}`, ...(authorization ? { authorization } : {}) } });
      assert.equal(answer.status, 401, String(authorization));
      assert.match(((await answer.json()) as { error: string }).error, /peer token/);
    }
    assert.equal(await counter(owner, 'cflux_agent_peer_fast_queries_total'), takenBefore);
    // A refused one is lent to the HTTP server: the connection stays on the fast path for the next query.
    const one = new Agent({ connections: 1 });
    try {
      const refused = await fetchWith(`${cluster.agents[owner]!.peerUrl}${path}`, { dispatcher: one });
      assert.equal(refused.status, 401);
      await refused.text();
      const allowed = await fetchWith(`${cluster.agents[owner]!.peerUrl}${path}&${ADMIN}`, { dispatcher: one, headers: { authorization: `Bearer ${TEST_PEER_TOKEN}` } });
      assert.equal(allowed.status, 200, await allowed.text());
    } finally {
      await one.close();
    }
    assert.equal((await counter(owner, 'cflux_agent_peer_fast_queries_total')) - takenBefore, 1, 'relayed raw on the connection that carried the refused one');
  });

  test('the owner\'s influxd down, then its agent killed: the other owner answers', async () => {
    const q = `${count(`SELECT count(value) FROM ${measurement}`)}&${ADMIN}`;
    const ask = async () => {
      const answer = await viaAgent(q);
      const body = (await answer.json()) as any;
      assert.equal(answer.status, 200, JSON.stringify(body));
      assert.equal(body.results[0].series[0].values[0][1], 4, JSON.stringify(body));
    };
    const sentBefore = await counter(0, 'cflux_agent_proxy_fast_peer_queries_total');
    await ask();
    assert.equal((await counter(0, 'cflux_agent_proxy_fast_peer_queries_total')) - sentBefore, 1, 'sent to the owner raw');
    await cluster.influxds[owner]!.stop();
    try {
      await ask();
    } finally {
      await cluster.influxds[owner]!.restart();
    }
    await cluster.agents[owner]!.kill();
    await ask();
    await ask();
  });
});
