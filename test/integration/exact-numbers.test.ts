// Numbers in answers merged from several nodes stay exactly as influxd wrote
// them: int64 values beyond 2^53 and nanosecond times (epoch=ns) used to come
// back rounded (9007199254740993 as 9007199254740992), since the merge went
// through JavaScript numbers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ownersOf } from '../../src/cluster/placement.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';

describe('exact numbers in merged answers (two nodes, RF 1)', () => {
  let cluster: ClusterFixture;
  let here: string;
  let there: string;
  before(async () => {
    cluster = await startClusterFixture({ size: 2, etcd: false });
    assert.equal((await influxQuery(cluster.agents[0]!.proxyUrl, 'CREATE DATABASE precise WITH REPLICATION 1')).results[0].error, undefined);
    const names = ['xa', 'xb', 'xc', 'xd', 'xe', 'xf'];
    here = names.find((m) => ownersOf('precise', m, ['node-0', 'node-1'], 1)[0] === 'node-0')!;
    there = names.find((m) => ownersOf('precise', m, ['node-0', 'node-1'], 1)[0] === 'node-1')!;
    const lines = [`${here} v=9007199254740993i,f=0.1,z=-0 1000000000000000001`, `${there} v=-9223372036854775807i,f=1e-7,z=2.5 1000000000000000003`];
    const written = await fetch(`${cluster.agents[0]!.proxyUrl}/write?db=precise&consistency=all`, { method: 'POST', body: lines.join('\n') });
    assert.equal(written.status, 204, await written.text());
  });
  after(() => cluster.stop());

  for (const extra of ['', '&epoch=ns', '&chunked=true', '&pretty=true']) {
    test(`a SELECT split over both nodes answers each node's numbers as it wrote them${extra}`, async () => {
      const ask = async (url: string, from: string) => (await fetch(`${url}/query?db=precise&q=${encodeURIComponent(`SELECT v, f, z FROM ${from}`)}${extra}`)).text();
      const merged = await ask(cluster.agents[0]!.proxyUrl, `${here}, ${there}`);
      for (const [index, measurement] of [[0, here], [1, there]] as const) {
        const direct = await ask(cluster.influxds[index]!.url, measurement);
        // Every number of the node's own answer (values and times) appears in the merged one as written.
        const numbers = direct.match(/-?\d[\d.e+-]*(?=[,\]\n])/g) ?? [];
        assert.ok(numbers.some((number) => number.length >= 16), `${direct}`);
        for (const number of numbers) assert.ok(merged.includes(number), `${number} of ${direct} in ${merged}`);
      }
    });
  }
});
