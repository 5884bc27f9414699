import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Manager } from '../../src/manager/manager.ts';
import { managerSettings } from '../../src/manager/manager-settings.ts';
import { resolveSettings } from '../../src/shared/config/setting.ts';
import { managerFetch } from '../helpers/manager-process.ts';

/** Handles that a leaked server, socket or timer would leave behind. */
function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].includes(kind)).sort();
}

test('a manager stops cleanly when stop() is called twice and leaves no timer or socket behind', async () => {
  const before = openHandles();
  const options = resolveSettings(managerSettings, { flags: { listen: '127.0.0.1:0', pruneAfter: '10' }, env: {}, file: {} });
  const manager = new Manager(options, pino({ level: 'silent' }));
  await manager.start();
  assert.ok(openHandles().length > before.length, 'the running manager holds a server and timers');
  const poll = managerFetch(`${manager.url}/clusters/x/versions/0?timeout=60`);
  await sleep(50);
  await Promise.all([manager.stop(), manager.stop()]);
  assert.equal((await poll).status, 204);
  await manager.stop();
  assert.equal(manager.state, 'stopped');
  for (let i = 0; i < 20 && openHandles().length > before.length; i++) await sleep(25);
  assert.deepEqual(openHandles(), before);
});
