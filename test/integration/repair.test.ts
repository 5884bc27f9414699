// Anti-entropy repair against real servers: a replica whose data directory
// was wiped is refilled by `cflux repair`, exactly (tags, field types,
// nanosecond timestamps), and a dry run reports without copying.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ownersOf } from '../../src/cluster/placement.ts';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { cliEnv } from '../helpers/manager-process.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));
const MEMBERS = ['node-0', 'node-1', 'node-2'];
const MEASUREMENTS = ['cpu', 'disk free', 'events,x', 'temps'];

/** Everything a node holds of a measurement, exactly as influxd prints it (raw text: nanoseconds and int64 intact). */
async function exactly(url: string, measurement: string): Promise<string> {
  const quoted = `"${measurement.replace(/"/g, '\\"')}"`;
  const body = new URLSearchParams({ db: 'repaired', epoch: 'ns', q: `SELECT * FROM ${quoted} GROUP BY *; SHOW FIELD KEYS FROM ${quoted}` });
  return (await fetch(`${url}/query`, { method: 'POST', body })).text();
}

async function repairCli(cluster: ClusterFixture, extra: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [CFLUX, 'repair', '--agent', cluster.agents[0]!.peerUrl, ...extra], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN }, timeout: 120_000 });
}

describe('repair (3 nodes, RF 2): a wiped replica is refilled exactly', () => {
  let cluster: ClusterFixture;
  before(async () => {
    cluster = await startClusterFixture({ size: 3, etcd: false, agentArgs: ['--repair-interval', '0'] });
    await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE repaired WITH REPLICATION 2');
    await sleep(300);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(`cpu,host=h${i % 7},dc=eu\\ west usage=${(i * 1.25).toFixed(2)},count=${i}i,busy=${i % 2 === 0},note="item \\"${i}\\"" ${1_700_000_000_123_456_789n + BigInt(i) * 1_000_003n}`);
      lines.push(`disk\\ free,mount=/data\\,1 bytes=${9_007_199_254_740_993n + BigInt(i)}i ${1_600_000_000_000_000_000n + BigInt(i)}`);
      if (i % 3 === 0) lines.push(`events\\,x,kind=a\\=b msg="line ${i}" ${1_650_000_000_000_000_000n + BigInt(i) * 7n}`);
      lines.push(`temps,room=${i % 5} value=${i % 40}.5 ${1_500_000_000_000_000_000n + BigInt(i) * 60_000_000_000n}`);
    }
    const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=repaired&consistency=all`, { method: 'POST', body: lines.join('\n') });
    assert.equal(written.status, 204, await written.text());
  });
  after(() => cluster.stop());

  test('wipe node 2, dry run reports, repair copies; afterwards every owner holds the same points, field types and times', async () => {
    const node2 = cluster.influxds[2]!;
    const owned = MEASUREMENTS.filter((measurement) => ownersOf('repaired', measurement, MEMBERS, 2).includes('node-2'));
    assert.ok(owned.length > 0, 'node 2 owns some of the measurements');
    await node2.stop();
    for (const part of ['data', 'wal', 'meta']) await rm(join(node2.dir, part), { recursive: true, force: true });
    await node2.restart();
    // The agent restores the metadata of a wiped influxd (drift check) before data can land.
    for (let waited = 0; !JSON.stringify(await influxQuery(node2.url, 'SHOW DATABASES')).includes('repaired'); waited += 100) {
      assert.ok(waited < 15_000, 'the metadata came back to the wiped influxd');
      await sleep(100);
    }

    const dry = await repairCli(cluster, ['--dry-run']);
    assert.match(dry.stdout, /units compared .* would copy [\d,]+ points/);
    const wouldCopy = Number(/would copy ([\d,]+) points/.exec(dry.stdout)![1]!.replace(/,/g, ''));
    assert.ok(wouldCopy > 0);
    assert.match(await exactly(node2.url, owned[0]!), /"results":\[\{"statement_id":0\}/, 'a dry run copies nothing');

    const real = await repairCli(cluster);
    assert.match(real.stdout, /copied [\d,]+ points/);
    assert.equal(Number(/copied ([\d,]+) points/.exec(real.stdout)![1]!.replace(/,/g, '')), wouldCopy);
    for (const measurement of MEASUREMENTS) {
      const owners = ownersOf('repaired', measurement, MEMBERS, 2).map((name) => cluster.influxds[MEMBERS.indexOf(name)]!);
      const [first, second] = await Promise.all(owners.map((influxd) => exactly(influxd.url, measurement)));
      assert.equal(second, first, `${measurement} is the same on both owners`);
      assert.match(first!, /"values":\[\[/);
    }
    const again = await repairCli(cluster);
    assert.match(again.stdout, /copied 0 points/, 'a second pass finds nothing to copy');
  });
});
