// The manager API, the agents' peer API and etcd over TLS, with a CA and
// certificates made by openssl at run time (test/helpers/test-certificates.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, fetch as fetchWith } from 'undici';
import { ownersOf } from '../../src/cluster/placement.ts';
import { httpRequest } from '../../src/local/daemon-process.ts';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.ts';
import { influxQuery, TEST_SECRET } from '../helpers/cluster-fixture.ts';
import { cliEnv, startManagerProcess, TEST_MANAGER_TOKEN, type ManagerProcess } from '../helpers/manager-process.ts';
import { startEtcd, startInfluxd, type EtcdServer, type InfluxdServer } from '../helpers/servers.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/test-certificates.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(100)) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('TLS: manager API over HTTPS on etcd with client certificates, agents talking HTTPS to each other', () => {
  let certificates: TestCertificates;
  let etcd: EtcdServer;
  let manager: ManagerProcess;
  const influxds: InfluxdServer[] = [];
  const agents: AgentProcess[] = [];
  let tlsArgs: string[];

  before(async () => {
    certificates = await makeTestCertificates();
    etcd = await startEtcd({ tls: { certificateFile: certificates.certificateFile, privateKeyFile: certificates.privateKeyFile, caFile: certificates.caFile } });
    manager = await startManagerProcess({
      etcdEndpoints: [etcd.endpoint],
      extraArgs: [
        '--tls-cert-file', certificates.certificateFile, '--tls-key-file', certificates.privateKeyFile,
        '--etcd-ca-file', certificates.caFile, '--etcd-cert-file', certificates.certificateFile, '--etcd-key-file', certificates.privateKeyFile,
      ],
    });
    influxds.push(await startInfluxd(), await startInfluxd());
    tlsArgs = ['--ca-file', certificates.caFile, '--peer-tls-cert-file', certificates.certificateFile, '--peer-tls-key-file', certificates.privateKeyFile];
    for (const [index, influxd] of influxds.entries()) {
      agents.push(
        await startAgentProcess(['--manager', manager.url, '--cluster', 'tls', '--node-name', `tls-${index}`, '--influxd-url', influxd.url, '--heartbeat-interval', '0.5', ...tlsArgs], {
          env: { CFLUX_SECRET: TEST_SECRET },
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await manager?.stop();
    await Promise.all(influxds.map((influxd) => influxd.destroy()));
    await etcd?.destroy();
  });

  test('the manager serves HTTPS only, and its state is in the TLS etcd', async () => {
    assert.match(manager.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(fetch(manager.url.replace('https:', 'http:') + '/health'), 'plain HTTP is not answered');
    const health = await httpRequest(`${manager.url}/health`, { timeoutMs: 5000, ca: certificates.caPem });
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).store, 'etcd');
  });

  test('agents register over HTTPS; a RF 2 write through one agent reaches the other over the HTTPS peer API', async () => {
    const peerUrls = await until(async () => {
      const nodes = JSON.parse((await httpRequest(`${manager.url}/nodes/tls`, { timeoutMs: 5000, ca: certificates.caPem, headers: { authorization: `Bearer ${TEST_MANAGER_TOKEN}` } })).body) as Array<{ alive: boolean }>;
      return nodes.filter((node) => node.alive).length === 2 ? nodes : undefined;
    }, 'both agents registered');
    assert.equal(peerUrls.length, 2);
    const readiness = await until(async () => {
      const answer = await httpRequest(`${agents[0]!.peerUrl.replace('http:', 'https:')}/readyz`, { timeoutMs: 5000, ca: certificates.caPem });
      return answer.status === 200 ? JSON.parse(answer.body) : undefined;
    }, 'agent 0 ready over HTTPS');
    assert.equal(readiness.ready, true);

    await influxQuery(agents[0]!.proxyUrl, 'CREATE DATABASE secure WITH REPLICATION 2');
    await until(async () => (JSON.stringify(await influxQuery(influxds[1]!.url, 'SHOW DATABASES')).includes('secure') ? true : undefined), 'the database on both');
    const written = await fetch(`${agents[0]!.proxyUrl}/write?db=secure&consistency=all`, { method: 'POST', body: Array.from({ length: 50 }, (_, i) => `t value=${i} ${i}`).join('\n') });
    assert.equal(written.status, 204, await written.text());
    for (const influxd of influxds) assert.equal((await influxQuery(influxd.url, 'SELECT count(value) FROM t', { db: 'secure' })).results[0].series[0].values[0][1], 50);
    const viaOther = await influxQuery(agents[1]!.proxyUrl, 'SELECT count(value) FROM t', { db: 'secure' });
    assert.equal(viaOther.results[0].series[0].values[0][1], 50);
  });

  test('a SELECT the other node owns is relayed raw to its agent over TLS', async () => {
    const fastQueries = async (index: number, name: string) => {
      const metrics = await httpRequest(`${agents[index]!.peerUrl.replace('http:', 'https:')}/metrics`, { timeoutMs: 5000, ca: certificates.caPem });
      return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics.body)?.[1]);
    };
    await influxQuery(agents[0]!.proxyUrl, 'CREATE DATABASE single WITH REPLICATION 1');
    await until(async () => (JSON.stringify(await influxQuery(influxds[1]!.url, 'SHOW DATABASES')).includes('single') ? true : undefined), 'the database on both');
    const measurement = ['ta', 'tb', 'tc', 'td', 'te', 'tf'].find((m) => ownersOf('single', m, ['tls-0', 'tls-1'], 1)[0] === 'tls-1')!;
    const written = await fetch(`${agents[0]!.proxyUrl}/write?db=single&consistency=all`, { method: 'POST', body: `${measurement} value=7 1` });
    assert.equal(written.status, 204, await written.text());
    const [sent, taken] = [await fastQueries(0, 'cflux_agent_proxy_fast_peer_queries_total'), await fastQueries(1, 'cflux_agent_peer_fast_queries_total')];
    const connections = new Agent();
    try {
      const answer = await fetchWith(`${agents[0]!.proxyUrl}/query?db=single&q=${encodeURIComponent(`SELECT sum(value) FROM ${measurement}`)}`, { dispatcher: connections });
      const body = (await answer.json()) as any;
      assert.equal(body.results[0].series[0].values[0][1], 7, JSON.stringify(body));
    } finally {
      await connections.close();
    }
    assert.equal((await fastQueries(0, 'cflux_agent_proxy_fast_peer_queries_total')) - sent, 1);
    assert.equal((await fastQueries(1, 'cflux_agent_peer_fast_queries_total')) - taken, 1);
  });

  test('cflux commands reach the HTTPS manager with --ca-file; without it they fail on the certificate', async () => {
    const listed = await run(process.execPath, [CFLUX, 'nodes', '--manager', manager.url, '--cluster', 'tls', '--ca-file', certificates.caFile, '--json'], { env: cliEnv() });
    assert.equal(JSON.parse(listed.stdout).length, 2);
    const untrusted = await run(process.execPath, [CFLUX, 'nodes', '--manager', manager.url, '--cluster', 'tls'], { env: cliEnv() }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((untrusted as { code: number }).code, 1);
    assert.match((untrusted as { stderr: string }).stderr, /certificate/i);
  });

  test('an agent that does not trust the CA is not ready and says why', async () => {
    const influxd = influxds[0]!;
    const stranger = await startAgentProcess(['--manager', manager.url, '--cluster', 'tls-stranger', '--influxd-url', influxd.url, '--heartbeat-interval', '0.5', '--manager-timeout', '1'], { env: { CFLUX_SECRET: TEST_SECRET } });
    try {
      const record = await stranger.waitForLog((r) => /certificate/i.test(String(r['reason'] ?? '')), 15_000);
      assert.match(String(record['reason']), /certificate/i);
      const readiness = JSON.parse((await httpRequest(`${stranger.peerUrl}/readyz`, { timeoutMs: 5000 })).body);
      assert.equal(readiness.ready, false);
    } finally {
      await stranger.stop();
    }
  });
});
