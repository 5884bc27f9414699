// The operator's overview against a real 3-node cluster: the manager's status
// page loaded in a real headless Chromium (signed in with HTTP Basic, the
// manager token as password), `cflux status`, and `cflux nodes remove|prune`.
// A node going down shows on the page within the manager's TTL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { cliEnv, managerFetch, TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';
import { CFLUX_VERSION } from '../../src/shared/version.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const TTL_SECONDS = 3;

/** The page as Chromium renders it (its DOM after load), signed in with the token as Basic password. */
async function pageInChromium(url: string, extra: string[] = []): Promise<string> {
  const signedIn = new URL(url);
  signedIn.username = 'operator';
  signedIn.password = TEST_MANAGER_TOKEN;
  const { stdout } = await run('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${join(ARTIFACTS, 'chromium-profile')}`, ...extra, '--dump-dom', signedIn.toString()], { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}

describe('the status page and cflux status (3 nodes, RF 2)', () => {
  let cluster: ClusterFixture;
  const cli = (args: string[]) => run(process.execPath, [CFLUX, ...args, '--manager', cluster.manager.url, '--cluster', 'fixture'], { env: cliEnv() });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    cluster = await startClusterFixture({ size: 3, etcd: false, managerTtl: TTL_SECONDS });
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE shown');
    const lines = Array.from({ length: 120 }, (_, i) => `shown_${i % 6},host=h${i % 2} v=${i} ${1_700_000_000 + i}`).join('\n');
    assert.equal((await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=shown&precision=s&consistency=all`, { method: 'POST', body: lines })).status, 204);
  });
  after(async () => {
    await cluster?.stop();
  });

  test('the page needs the operator token: a browser is asked for it (Basic), a wrong one is refused', async () => {
    const anonymous = await fetch(`${cluster.manager.url}/`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /Basic realm=/);
    const wrong = await fetch(`${cluster.manager.url}/`, { headers: { authorization: `Basic ${Buffer.from('anyone:not-the-token').toString('base64')}` } });
    assert.equal(wrong.status, 401);
    const signedIn = await fetch(`${cluster.manager.url}/`, { headers: { authorization: `Basic ${Buffer.from(`anyone:${TEST_MANAGER_TOKEN}`).toString('base64')}` } });
    assert.equal(signedIn.status, 200);
    assert.match(signedIn.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(signedIn.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const page = await signedIn.text();
    assert.ok(!page.includes(TEST_MANAGER_TOKEN), 'the page never shows a token');
  });

  test('cflux status: every node alive, ready, a data member, with its versions, addresses and data', async () => {
    // Data figures come with the heartbeats; agents read them from influxd every 30 s (a read may predate the writes).
    // RF 2 of 3 nodes: the 6 measurements are held twice, 12 units in all.
    let overview: { nodes: Array<{ name: string; alive: boolean; ready: boolean; dataMember: boolean; units?: number; influxdVersion?: string; proxyAddress: string }> } | undefined;
    for (let waited = 0; ; waited += 500) {
      overview = JSON.parse((await cli(['status', '--json'])).stdout);
      if (overview!.nodes.reduce((sum, node) => sum + (node.units ?? 0), 0) === 12) break;
      assert.ok(waited < 45_000, `every node reports its data: ${JSON.stringify(overview)}`);
      await sleep(500);
    }
    assert.deepEqual(overview!.nodes.map((node) => [node.name, node.alive, node.ready, node.dataMember]), [['node-0', true, true, true], ['node-1', true, true, true], ['node-2', true, true, true]]);
    assert.ok(overview!.nodes.every((node) => node.influxdVersion?.startsWith('1.6') && node.proxyAddress !== '' && (node as unknown as { agentVersion: string }).agentVersion === CFLUX_VERSION));
    const { stdout } = await cli(['status']);
    assert.match(stdout, /^cluster fixture: 3 of 3 nodes alive; metadata version \d+ \(revision \d+\); 1 databases, 0 users; replication factor 2; data members: node-0, node-1, node-2$/m);
    assert.match(stdout, /^NODE\s+ID\s+ALIVE\s+READY\s+MEMBER\s+AGENT\s+INFLUXD\s+PROXY\s+PEER\s+UNITS\s+DISK\s+POINTS WRITTEN\s+META REV\s+LAST HEARTBEAT$/m);
    assert.match(stdout, /^node-0\s+\d+\s+yes\s+yes\s+yes\s/m);
    assert.match(stdout, /^no move in flight$/m);
  });

  test('Chromium shows the nodes; a node that goes down shows down within the TTL; a screenshot is kept', async () => {
    const page = await pageInChromium(`${cluster.manager.url}/`);
    assert.match(page, /<h2>Cluster <code>fixture<\/code>: 3 of 3 nodes alive<\/h2>/);
    assert.equal((page.match(/class="up node-alive"/g) ?? []).length, 3);
    for (const name of ['node-0', 'node-1', 'node-2']) assert.ok(page.includes(`<b>${name}</b>`), name);

    await cluster.agents[2]!.kill();
    const killedAt = performance.now();
    // What the page shows is the overview: node-2 is down in it within the TTL (and a heartbeat)...
    for (;;) {
      const overview = (await (await managerFetch(`${cluster.manager.url}/clusters/fixture/overview`)).json()) as { nodes: Array<{ name: string; alive: boolean }> };
      if (overview.nodes.find((node) => node.name === 'node-2')?.alive === false) break;
      assert.ok(performance.now() - killedAt < (TTL_SECONDS + 2) * 1000, 'node-2 is down within the TTL');
      await sleep(200);
    }
    // ...and the page, loaded again in Chromium (a browser start takes seconds on a busy machine), says so.
    let after = '';
    for (const deadline = performance.now() + 30_000; !after.includes('2 of 3 nodes alive'); ) {
      assert.ok(performance.now() < deadline, 'the page shows node-2 down');
      after = await pageInChromium(`${cluster.manager.url}/`);
    }
    assert.match(after, /<b>node-2<\/b><\/td><td>\d+<\/td><td><span class="down node-down">down<\/span>/);
    const screenshot = join(ARTIFACTS, 'status-page.png');
    await run('chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${join(ARTIFACTS, 'chromium-profile')}`, '--window-size=1500,1100', `--screenshot=${screenshot}`, (() => {
      const url = new URL(`${cluster.manager.url}/`);
      url.username = 'operator';
      url.password = TEST_MANAGER_TOKEN;
      return url.toString();
    })()], { timeout: 60_000 });
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(screenshot));
    assert.ok(size > 10_000, `a screenshot was saved at ${screenshot}`);
  });

  test('cflux nodes shows readiness and versions; remove and prune drop dead records; unknown ones are an error', async () => {
    const listed = (await cli(['nodes'])).stdout;
    assert.match(listed, /^ID\s+NAME\s+HOSTNAME\s+IP\s+BIND ADDRESS\s+PROXY ADDRESS\s+AGENT\s+ALIVE\s+READY\s+LAST HEARTBEAT$/m);
    assert.match(listed, new RegExp(`^\\d+\\s+node-0\\s+.*\\s+${CFLUX_VERSION.replace(/\./g, '\\.')}\\s+yes\\s+yes\\s+\\d+s ago$`, 'm'));
    assert.match(listed, /^\d+\s+node-2\s+.*\s+no\s+-\s+\d+s ago$/m);
    const missing = await cli(['nodes', 'remove', '999999']).catch((err: { code: number; stderr: string }) => err);
    assert.equal((missing as { code: number }).code, 1);
    assert.match((missing as { stderr: string }).stderr, /node 999999 is not registered/);
    const usage = await cli(['nodes', 'remove']).catch((err: { code: number }) => err);
    assert.equal((usage as { code: number }).code, 2);
    const pruned = (await cli(['nodes', 'prune'])).stdout;
    assert.match(pruned, /^removed node \d+ \(node-2\)$/m);
    const names = (JSON.parse((await cli(['nodes', '--json'])).stdout) as Array<{ name: string }>).map((node) => node.name).sort();
    assert.deepEqual(names, ['node-0', 'node-1']);
    const unknown = await run(process.execPath, [CFLUX, 'nodes', '--manager', cluster.manager.url, '--cluster', 'nope'], { env: cliEnv() }).catch((err: { code: number; stderr: string }) => err);
    assert.equal((unknown as { code: number }).code, 1);
    assert.match((unknown as { stderr: string }).stderr, /no nodes registered in cluster "nope"/);
  });
});
