import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyMetadata } from '../../src/cluster/cluster-metadata.ts';
import { clusterOverview } from '../../src/cluster/cluster-overview.ts';
import { renderStatusPage } from '../../src/manager/status/status-page.ts';
import { describeOverview } from '../../src/cli/status-command.ts';

const metadata = { ...emptyMetadata(), revision: 7, settings: { ...emptyMetadata().settings, dataMembers: ['a', '<b>'], replicationFactor: 2 } };
const node = (name: string, alive: boolean, stats: Record<string, unknown>) => ({ id: name.length, name, 'bind-address': `10.0.0.1:8888`, 'proxy-address': '10.0.0.1:8087', version: '1.6.7', alive, 'last-heartbeat': '2026-12-01T00:00:00.000Z', stats });

test('the overview reads heartbeat stats: readiness, versions, data, queues, problems; dead nodes are not ready', () => {
  const overview = clusterOverview({
    cluster: 'c',
    document: { version: 9, metadata },
    nodes: [
      node('a', true, { ready: true, notReady: [], cfluxVersion: '0.1.0', influxdVersion: '1.6.7~rc0', data: { units: 4, diskBytes: 2048, pointsWritten: 10 }, metadataRevision: 7, hintedHandoff: { queues: [{ target: '<b>', records: 3, bytes: 99, oldestAgeMs: 1500 }, { target: 'x', records: 0 }] }, recentErrors: ['t proxy: boom'] }),
      node('<b>', false, {}),
    ],
    history: [{ version: 9, writtenAt: '2026-12-01T00:00:00.000Z', metadata: { a: 1 } }],
  });
  assert.deepEqual(overview.nodes.map((one) => [one.name, one.ready, one.dataMember, one.agentVersion, one.influxdVersion, one.units]), [['<b>', undefined, true, '', '1.6.7', undefined], ['a', true, true, '0.1.0', '1.6.7~rc0', 4]]);
  assert.deepEqual(overview.queues, [{ from: 'a', to: '<b>', records: 3, bytes: 99, oldestAgeMs: 1500 }]);
  assert.deepEqual(overview.nodes[1]!.problems, ['t proxy: boom']);
  assert.deepEqual(overview.history, [{ version: 9, writtenAt: '2026-12-01T00:00:00.000Z', bytes: 7 }]);
  const text = describeOverview(overview, Date.parse('2026-12-01T00:00:05.000Z'));
  assert.match(text, /^cluster c: 1 of 2 nodes alive; metadata version 9 \(revision 7\)/);
  assert.match(text, /^<b>\s+3\s+no\s+-\s+yes\s/m);
  assert.match(text, /^  a: t proxy: boom$/m);
});

test('the status page escapes everything agents report and reloads itself', () => {
  const overview = clusterOverview({ cluster: '<c>', document: { version: 1, metadata }, nodes: [node('<script>alert(1)</script>', true, { recentErrors: ['<img src=x onerror=alert(1)>'] })], history: [] });
  const page = renderStatusPage([overview]);
  assert.ok(!page.includes('<script>'), 'no markup from a node name');
  assert.ok(!page.includes('<img'), 'no markup from a problem text');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.match(page, /<meta http-equiv="refresh" content="5">/);
  assert.match(renderStatusPage([]), /No cluster has registered a node yet/);
});
