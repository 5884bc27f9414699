import { after, before } from 'node:test';
import { createLogger } from '../../src/shared/logging.ts';
import { EtcdStore } from '../../src/manager/store/etcd-store.ts';
import { MemoryStore } from '../../src/manager/store/memory-store.ts';
import { startEtcd, type EtcdServer } from '../helpers/servers.ts';
import { storeContract } from '../contract/store-contract.ts';

storeContract('MemoryStore', {
  create: async () => new MemoryStore(),
  shortTtlMs: 1000,
  expiryGraceMs: 0,
});

let etcd: EtcdServer;
let runs = 0;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.destroy();
});

storeContract('EtcdStore', {
  // Each test gets its own key prefix on the one etcd, so tests never see each other's keys.
  create: async () =>
    new EtcdStore({ endpoints: [etcd.endpoint], prefix: `/contract-${process.pid}-${++runs}/`, callTimeoutMs: 2000, logger: createLogger({ level: 'silent', format: 'json' }) }),
  shortTtlMs: 2000,
  expiryGraceMs: 1000,
});
