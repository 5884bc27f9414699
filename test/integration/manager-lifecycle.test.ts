import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { Manager } from '../../src/manager/manager.ts';
import { managerSettings } from '../../src/manager/manager-settings.ts';
import { resolveSettings } from '../../src/shared/config/setting.ts';
import { managerFetch, startManagerProcess } from '../helpers/manager-process.ts';
import { freePort } from '../helpers/servers.ts';

/** Handles that a leaked server, socket or timer would leave behind. */
function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].includes(kind)).sort();
}

test('a manager stops cleanly when stop() is called twice and leaves no timer or socket behind', async () => {
  const before = openHandles();
  const options = resolveSettings(managerSettings, { flags: { listen: '127.0.0.1:0', pruneAfter: '10' }, env: {}, file: {} });
  const manager = new Manager(options, createLogger({ level: 'silent', format: 'json' }));
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

test('a restarted in-memory manager never hands out an id again, and a heartbeat on an id of another name is 404', async () => {
  const register = async (url: string, name: string) => {
    const answer = await managerFetch(`${url}/nodes/ids`, { method: 'POST', body: JSON.stringify({ name, hostname: name, ip: ['127.0.0.1'], 'bind-address': '127.0.0.1:1' }) });
    assert.equal(answer.status, 201);
    return ((await answer.json()) as { id: number }).id;
  };
  const options = { port: await freePort() };
  let manager = await startManagerProcess(options);
  const before = [await register(manager.url, 'a'), await register(manager.url, 'b')];
  await manager.stop();
  await sleep(1100); // the id epoch moves with the clock's seconds
  manager = await startManagerProcess(options);
  try {
    const after = await register(manager.url, 'c');
    assert.ok(after > Math.max(...before), `ids after the restart (${after}) are above those before it (${before.join(', ')})`);
    const stale = await managerFetch(`${manager.url}/nodes/ids/${after}`, { method: 'PUT', body: JSON.stringify({ name: 'a', stats: {} }) });
    assert.equal(stale.status, 404, "a heartbeat naming 'a' on c's id is refused");
    const own = await managerFetch(`${manager.url}/nodes/ids/${after}`, { method: 'PUT', body: JSON.stringify({ name: 'c', stats: {} }) });
    assert.equal(own.status, 200);
  } finally {
    await manager.stop();
  }
});
