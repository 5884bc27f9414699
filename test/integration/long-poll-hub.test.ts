import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { MetadataWatchHub } from '../../src/manager/long-poll/metadata-watch-hub.ts';
import { EtcdStore } from '../../src/manager/store/etcd-store.ts';
import { MemoryStore } from '../../src/manager/store/memory-store.ts';
import { startEtcd, type EtcdServer } from '../helpers/servers.ts';

const silent = createLogger({ level: 'silent', format: 'json' });
let etcd: EtcdServer;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.destroy();
});

/** etcd's own count of open watchers, read from its /metrics. */
async function etcdWatchers(): Promise<number> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1]);
}

test('10,000 polls on one cluster share one etcd watch; a write wakes them all, paced; aborts leak nothing', async () => {
  const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix: '/hub-test/', callTimeoutMs: 2000, logger: silent });
  const hub = new MetadataWatchHub(store, silent);
  try {
    const baseline = await etcdWatchers();
    const woken = Array.from({ length: 10_000 }, () => hub.waitForChange('c', 0, 30_000, new AbortController().signal));
    const abandoned = Array.from({ length: 10_000 }, () => new AbortController());
    const abandonedPolls = abandoned.map((c) => hub.waitForChange('c', 0, 30_000, c.signal));
    for (let i = 0; i < 100 && hub.openWaiters < 20_000; i++) await sleep(20);
    assert.equal(hub.openWaiters, 20_000);
    assert.equal(hub.openWatches, 1);
    assert.equal((await etcdWatchers()) - baseline, 1, 'one etcd watch for all waiting polls');

    for (const c of abandoned) c.abort();
    assert.deepEqual(new Set(await Promise.all(abandonedPolls)), new Set([undefined]));
    assert.equal(hub.openWaiters, 10_000, 'aborted polls are removed at once');

    const started = Date.now();
    const wokenAfter = woken.map((poll) => poll.then(() => Date.now() - started));
    assert.deepEqual(await store.writeMetadata('c', 0, { n: 1 }), { ok: true, version: 1 });
    const results = await Promise.all(woken);
    assert.ok(results.every((r) => r?.version === 1));
    // Paced at 250 per 100 ms: the first slice at once, all 10,000 in about 4 s, not in one go.
    const after = (await Promise.all(wokenAfter)).sort((a, b) => a - b);
    assert.ok(after[249]! < 1000, `the first 250 polls were woken after ${after[249]} ms`);
    assert.ok(after.at(-1)! >= 3500 && after.at(-1)! < 10_000, `waking 10,000 polls took ${after.at(-1)} ms`);
    assert.equal(hub.openWaiters, 0);
  } finally {
    await hub.close();
    await store.close();
  }
});

test('timeouts resolve undefined and remove the waiter; close answers the rest and is safe twice', async () => {
  const store = new MemoryStore();
  const hub = new MetadataWatchHub(store, silent);
  assert.equal(await hub.waitForChange('c', 0, 50, new AbortController().signal), undefined);
  assert.equal(hub.openWaiters, 0);
  const pending = hub.waitForChange('c', 0, 60_000, new AbortController().signal);
  await sleep(10);
  await hub.close();
  await hub.close();
  assert.equal(await pending, undefined);
  assert.equal(hub.openWaiters, 0);
  assert.equal(hub.openWatches, 0);
  assert.equal(await hub.waitForChange('c', 0, 60_000, new AbortController().signal), undefined, 'a closed hub answers at once');
});

test('a poll that knows a version the hub has not seen yet waits instead of answering with the older one', async () => {
  const store = new MemoryStore();
  const hub = new MetadataWatchHub(store, silent);
  try {
    await store.writeMetadata('c', 0, { n: 1 });
    await store.writeMetadata('c', 1, { n: 2 });
    assert.deepEqual(await hub.waitForChange('c', 1, 1000, new AbortController().signal), { version: 2, metadata: { n: 2 } });
    assert.equal(await hub.waitForChange('c', 2, 100, new AbortController().signal), undefined);
  } finally {
    await hub.close();
  }
});
