import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest } from '../../src/local/daemon-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { startAgentProcess } from '../helpers/agent-process.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/test-certificates.ts';
import type { InfluxdServer } from '../helpers/servers.ts';

/** One statement straight to an https influxd, trusting the test CA. */
async function direct(influxd: InfluxdServer, q: string, db?: string): Promise<any> {
  const answer = await httpRequest(`${influxd.url}/query?${new URLSearchParams({ q, ...(db ? { db } : {}) })}`, { timeoutMs: 5000, ca: influxd.ca! });
  return JSON.parse(answer.body);
}

async function countOn(influxd: InfluxdServer, db: string, measurement: string): Promise<number> {
  const answer = await direct(influxd, `SELECT count(value) FROM "${measurement}"`, db);
  return answer.results[0].series?.[0]?.values[0][1] ?? 0;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(50)) if (await check()) return;
  assert.fail(`timed out waiting for ${what}`);
}

const fastWrites = async (peerUrl: string) => Number(/^cflux_agent_proxy_fast_writes_total (\d+)/m.exec(await (await fetch(`${peerUrl}/metrics`)).text())?.[1]);

describe('an https influxd (self-signed CA made by the test)', () => {
  let certificates: TestCertificates;
  before(async () => {
    certificates = await makeTestCertificates();
  });

  describe('one node, --influxd-ca: the write fast path, queries and DDL speak TLS', () => {
    let cluster: ClusterFixture;
    before(async () => {
      cluster = await startClusterFixture({ size: 1, etcd: false, influxd: { tls: { ...certificates, ca: certificates.caPem } }, agentArgs: ['--influxd-ca', certificates.caFile] });
    });
    after(() => cluster.stop());

    test('the influxd really is https', async () => {
      assert.match(cluster.influxds[0]!.url, /^https:\/\//);
      const plain = await fetch(cluster.influxds[0]!.url.replace('https:', 'http:') + '/ping');
      assert.equal(plain.status, 400);
      assert.match(await plain.text(), /HTTP request to an HTTPS server/);
    });

    test('DDL through the proxy reaches influxd; a fast-path write is stored; a query answers', async () => {
      const proxy = cluster.agents[0]!.proxyUrl;
      const created = await influxQuery(proxy, 'CREATE DATABASE tls_db');
      assert.deepEqual(created, { results: [{ statement_id: 0 }] });
      assert.match(JSON.stringify(await direct(cluster.influxds[0]!, 'SHOW DATABASES')), /tls_db/);

      const before = await fastWrites(cluster.agents[0]!.peerUrl);
      const lines = Array.from({ length: 500 }, (_, i) => `secure,host=h${i % 5} value=${i} ${1_700_000_000 + i}`).join('\n');
      const written = await fetch(`${proxy}/write?db=tls_db&precision=s`, { method: 'POST', body: lines });
      assert.equal(written.status, 204, await written.text());
      assert.equal(await fastWrites(cluster.agents[0]!.peerUrl), before + 1, 'the write took the fast path');
      assert.equal(await countOn(cluster.influxds[0]!, 'tls_db', 'secure'), 500);

      const queried = await influxQuery(proxy, 'SELECT count(value) FROM secure', { db: 'tls_db' });
      assert.equal(queried.results[0].series[0].values[0][1], 500);
    });
  });

  describe('two nodes, RF 2, trust from NODE_EXTRA_CA_CERTS: peer writes reach the other https influxd', () => {
    let cluster: ClusterFixture;
    before(async () => {
      cluster = await startClusterFixture({ size: 2, etcd: false, influxd: { tls: { ...certificates, ca: certificates.caPem } }, agentEnv: { CFLUX_SECRET: TEST_SECRET, NODE_EXTRA_CA_CERTS: certificates.caFile } });
    });
    after(() => cluster.stop());

    test('a write through one proxy is stored on both influxd; both proxies answer queries', async () => {
      const [first, second] = cluster.agents;
      await influxQuery(first!.proxyUrl, 'CREATE DATABASE both_db WITH REPLICATION 2');
      for (const influxd of cluster.influxds) await until(async () => JSON.stringify(await direct(influxd, 'SHOW DATABASES')).includes('both_db'), `both_db on ${influxd.url}`);
      const lines = Array.from({ length: 300 }, (_, i) => `replicated,host=h${i % 3} value=${i} ${1_700_000_000 + i}`).join('\n');
      const written = await fetch(`${first!.proxyUrl}/write?db=both_db&precision=s&consistency=all`, { method: 'POST', body: lines });
      assert.equal(written.status, 204, await written.text());
      for (const influxd of cluster.influxds) assert.equal(await countOn(influxd, 'both_db', 'replicated'), 300, `stored on ${influxd.url}`);
      for (const agent of [first!, second!]) {
        const answer = await influxQuery(agent.proxyUrl, 'SELECT count(value) FROM replicated', { db: 'both_db' });
        assert.equal(answer.results[0].series[0].values[0][1], 300);
      }
    });

    test('an agent that does not trust the CA says why it is not ready', async () => {
      const agent = await startAgentProcess(['--manager', cluster.manager.url, '--cluster', 'untrusting', '--influxd-url', cluster.influxds[0]!.url, '--heartbeat-interval', '0.2'], { env: { CFLUX_SECRET: TEST_SECRET } });
      try {
        let reasons: string[] = [];
        await until(async () => {
          const readiness = (await (await fetch(`${agent.peerUrl}/readyz`)).json()) as { reasons: string[] };
          reasons = readiness.reasons;
          return reasons.some((reason) => /certificate/i.test(reason));
        }, 'a certificate error in /readyz');
        assert.ok(reasons.some((reason) => /influxd not reachable: .*certificate/i.test(reason)), JSON.stringify(reasons));
      } finally {
        await agent.stop();
      }
    });
  });
});
