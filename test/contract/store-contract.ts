import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { NodeRegistration, Store, VersionedMetadata } from '../../src/manager/store/store.ts';

/** Everything a store contract run needs from its backend. */
export interface StoreFixture {
  /** A fresh, empty store (for etcd: a new key prefix). */
  create(): Promise<Store>;
  /** Shortest TTL the backend supports reliably, in ms. */
  shortTtlMs: number;
  /** Time after the TTL until `alive` turns false (etcd checks leases every 500 ms). */
  expiryGraceMs: number;
}

export function registration(name: string, extra: Partial<NodeRegistration> = {}): NodeRegistration {
  return {
    name,
    hostname: `${name}.example`,
    ip: ['10.0.0.1', 'fd00::1'],
    bindAddress: '10.0.0.1:8888',
    proxyAddress: '10.0.0.1:8087',
    version: '1.6.7',
    stats: { cpu: 0.5 },
    ...extra,
  };
}

/**
 * One suite, every backend: MemoryStore and EtcdStore must behave the same
 * for everything the manager API relies on.
 */
export function storeContract(backend: string, fixture: StoreFixture): void {
  describe(`Store contract: ${backend}`, () => {
    const withStore = (name: string, body: (store: Store) => Promise<void>) =>
      test(name, async () => {
        const store = await fixture.create();
        try {
          await body(store);
        } finally {
          await store.close();
        }
      });

    withStore('registration hands out unique positive ids and lists the node alive', async (store) => {
      const a = await store.registerNode('c1', registration('a'), 15_000);
      const b = await store.registerNode('c1', registration('b'), 15_000);
      assert.ok(Number.isSafeInteger(a.id) && a.id > 0);
      assert.notEqual(a.id, b.id);
      const nodes = await store.listNodes('c1');
      assert.deepEqual(nodes.map((n) => [n.name, n.alive, n.cluster]), [['a', true, 'c1'], ['b', true, 'c1']]);
      assert.deepEqual(nodes[0]!.ip, ['10.0.0.1', 'fd00::1']);
      assert.equal(nodes[0]!.bindAddress, '10.0.0.1:8888');
    });

    withStore('concurrent registrations never share an id', async (store) => {
      const views = await Promise.all(Array.from({ length: 30 }, (_, i) => store.registerNode('c', registration(`n${i}`), 15_000)));
      assert.equal(new Set(views.map((v) => v.id)).size, 30);
    });

    withStore('concurrent registrations of one name leave exactly one live record for it', async (store) => {
      const views = await Promise.all(Array.from({ length: 8 }, (_, i) => store.registerNode('race', registration('same', { hostname: `h${i}` }), 15_000)));
      const nodes = await store.listNodes('race');
      assert.equal(nodes.length, 1, `records: ${JSON.stringify(nodes.map((n) => n.id))}`);
      assert.ok(views.some((v) => v.id === nodes[0]!.id));
      const beats = await Promise.all(views.map((v) => store.heartbeatNode('race', v.id, undefined)));
      assert.deepEqual(beats.map((b) => b !== undefined), views.map((v) => v.id === nodes[0]!.id));
    });

    withStore('listing reads past one page (etcd answers are paged at 1,000 keys)', async (store) => {
      await Promise.all(Array.from({ length: 1050 }, (_, i) => store.registerNode('big', registration(`n${i}`), 15_000)));
      const nodes = await store.listNodes('big');
      assert.equal(nodes.length, 1050);
      assert.equal(new Set(nodes.map((n) => n.id)).size, 1050);
      assert.ok(nodes.every((n) => n.alive));
    });

    withStore('the same name replaces the earlier record', async (store) => {
      const first = await store.registerNode('c1', registration('a'), 15_000);
      const second = await store.registerNode('c1', registration('a', { hostname: 'new' }), 15_000);
      assert.notEqual(first.id, second.id);
      const nodes = await store.listNodes('c1');
      assert.deepEqual(nodes.map((n) => [n.id, n.hostname]), [[second.id, 'new']]);
      assert.equal(await store.heartbeatNode('c1', first.id, undefined), undefined);
    });

    withStore('clusters are separate, names with / and unicode round-trip', async (store) => {
      const odd = 'team a/prod ü%2F';
      await store.registerNode(odd, registration('a'), 15_000);
      await store.registerNode('other', registration('a'), 15_000);
      assert.deepEqual((await store.listNodes(odd)).map((n) => n.cluster), [odd]);
      const all = await store.listNodes();
      assert.deepEqual(all.map((n) => n.cluster).sort(), ['other', odd].sort());
    });

    withStore('heartbeat refreshes, stores stats, and 404s unknown ids', async (store) => {
      const node = await store.registerNode('c1', registration('a'), fixture.shortTtlMs);
      await sleep(20);
      const beat = await store.heartbeatNode('c1', node.id, { load: 3 });
      assert.ok(beat);
      assert.deepEqual(beat.stats, { load: 3 });
      assert.ok(beat.lastHeartbeat > node.lastHeartbeat);
      assert.equal(await store.heartbeatNode('c1', 999_999, undefined), undefined);
      assert.equal(await store.heartbeatNode('other', node.id, undefined), undefined);
    });

    withStore('a node that stops heartbeating turns alive=false and cannot heartbeat again', async (store) => {
      const node = await store.registerNode('c1', registration('a'), fixture.shortTtlMs);
      const keeper = await store.registerNode('c1', registration('b'), fixture.shortTtlMs);
      const deadline = Date.now() + fixture.shortTtlMs + fixture.expiryGraceMs + 2000;
      let nodes = await store.listNodes('c1');
      while (Date.now() < deadline) {
        await store.heartbeatNode('c1', keeper.id, undefined);
        nodes = await store.listNodes('c1');
        if (nodes.find((n) => n.id === node.id)?.alive === false) break;
        await sleep(200);
      }
      assert.equal(nodes.find((n) => n.id === node.id)?.alive, false, 'expired node still alive');
      assert.equal(nodes.find((n) => n.id === keeper.id)?.alive, true, 'heartbeating node died');
      assert.equal(await store.heartbeatNode('c1', node.id, undefined), undefined);
      assert.equal(await store.pruneNodes(0), 1);
      assert.deepEqual((await store.listNodes('c1')).map((n) => n.id), [keeper.id]);
    });

    withStore('deregistration removes the node', async (store) => {
      const node = await store.registerNode('c1', registration('a'), 15_000);
      assert.equal(await store.deregisterNode('c1', node.id), true);
      assert.equal(await store.deregisterNode('c1', node.id), false);
      assert.deepEqual(await store.listNodes('c1'), []);
      const again = await store.registerNode('c1', registration('a'), 15_000);
      assert.ok(again.id > node.id);
    });

    withStore('metadata starts at version 0 and CAS writes version+1', async (store) => {
      assert.deepEqual(await store.readMetadata('c1'), { version: 0, metadata: null });
      assert.deepEqual(await store.writeMetadata('c1', 0, { databases: {} }), { ok: true, version: 1 });
      assert.deepEqual(await store.writeMetadata('c1', 1, { databases: { a: {} } }), { ok: true, version: 2 });
      assert.deepEqual(await store.readMetadata('c1'), { version: 2, metadata: { databases: { a: {} } } });
    });

    withStore('a stale CAS is refused with the newest document and writes nothing', async (store) => {
      await store.writeMetadata('c1', 0, { n: 1 });
      const stale = await store.writeMetadata('c1', 0, { n: 'lost' });
      assert.deepEqual(stale, { ok: false, current: { version: 1, metadata: { n: 1 } } });
      const future = await store.writeMetadata('c1', 7, { n: 'lost' });
      assert.equal(future.ok, false);
      assert.deepEqual(await store.readMetadata('c1'), { version: 1, metadata: { n: 1 } });
    });

    withStore('concurrent CAS writes on one version: exactly one wins', async (store) => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.writeMetadata('c1', 0, { writer: i })));
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.equal((await store.readMetadata('c1')).version, 1);
    });

    withStore('history keeps the last 10 versions, newest first', async (store) => {
      for (let v = 0; v < 13; v++) assert.equal((await store.writeMetadata('c1', v, { v: v + 1 })).ok, true);
      const history = await store.metadataHistory('c1');
      assert.deepEqual(history.map((h) => h.version), [13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
      assert.deepEqual(history[0]!.metadata, { v: 13 });
      assert.ok(!Number.isNaN(Date.parse(history[0]!.writtenAt)));
      assert.deepEqual(await store.metadataHistory('empty'), []);
    });

    withStore('a watch sees every later write, and nothing after close', async (store) => {
      await store.writeMetadata('c1', 0, { n: 1 });
      const seen: VersionedMetadata[] = [];
      const watch = await store.watchMetadata('c1', (current) => seen.push(current));
      assert.deepEqual(watch.initial, { version: 1, metadata: { n: 1 } });
      await store.writeMetadata('c1', 1, { n: 2 });
      await store.writeMetadata('c1', 2, { n: 3 });
      await waitFor(() => seen.length >= 2);
      assert.deepEqual(seen, [{ version: 2, metadata: { n: 2 } }, { version: 3, metadata: { n: 3 } }]);
      await watch.close();
      await store.writeMetadata('c1', 3, { n: 4 });
      await sleep(100);
      assert.equal(seen.length, 2);
    });

    withStore('managers list themselves until they deregister', async (store) => {
      const info = { id: 'm-1', hostname: 'h', listen: '0.0.0.0:8000', version: '0.1.0', pid: 1, startedAt: new Date().toISOString() };
      await store.registerManager(info, 15_000);
      assert.deepEqual(await store.listManagers(), [info]);
      await store.deregisterManager('m-1');
      assert.deepEqual(await store.listManagers(), []);
    });

    withStore('ping answers and close is safe twice', async (store) => {
      await store.ping();
      await store.close();
      await store.close();
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
