// The peer directory across a restarted memory manager: nodes it listed alive
// stay available while the new manager relearns them (they register again
// within a heartbeat interval), and only for a grace period.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerDirectory } from '../../src/agent/peer/peer-directory.ts';
import { createLogger } from '../../src/shared/logging.ts';
import type { ManagerClient } from '../../src/shared/http/manager-client.ts';

test('a node the manager stops listing stays available for 30 s after it was last listed alive; a node listed dead is not', async (t) => {
  let nodes: Array<{ name: string; 'bind-address': string; alive: boolean }> = [
    { name: 'a', 'bind-address': '10.0.0.1:8888', alive: true },
    { name: 'b', 'bind-address': '10.0.0.2:8888', alive: false },
  ];
  const client = { request: async () => ({ status: 200, body: nodes }) } as unknown as ManagerClient;
  const directory = new PeerDirectory({ client, cluster: 'c', intervalMs: 1000, logger: createLogger({ level: 'silent', format: 'json' }) });
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  await directory.refresh();
  assert.deepEqual([directory.isAvailable('a'), directory.isAvailable('b')], [true, false]);
  nodes = []; // the manager restarted with an empty memory store
  t.mock.timers.tick(20_000);
  await directory.refresh();
  assert.equal(directory.isAvailable('a'), true, 'listed alive 20 s ago');
  assert.equal(directory.isAvailable('b'), false, 'listed dead');
  assert.equal(directory.get('a')?.address, '10.0.0.1:8888');
  t.mock.timers.tick(11_000);
  await directory.refresh();
  assert.equal(directory.isAvailable('a'), false, 'not listed for 31 s');
});
