import { rootCertificates } from 'node:tls';
import { Etcd3, type Lease } from 'etcd3';
import type { Logger } from '../../shared/logging.ts';
import { translateEtcdError } from './etcd-errors.ts';
import { EtcdKeys } from './etcd-keys.ts';
import { EtcdKv, deleteOp, putOp, unchangedSince } from './etcd-kv.ts';
import { EtcdLeaseKeeper } from './etcd-lease-keeper.ts';
import { EtcdNodeRegistry } from './etcd-node-registry.ts';
import { HISTORY_LIMIT, type RegistrationGuard, type CasResult, type HistoryEntry, type ManagerInfo, type MetadataWatch, type NodeRegistration, type NodeView, type Store, type VersionedMetadata } from './store.ts';

export interface EtcdStoreOptions {
  endpoints: string[];
  /** Key prefix, default `/clusterflux/`. */
  prefix: string;
  /** Deadline of every unary etcd call, in ms. */
  callTimeoutMs: number;
  logger: Logger;
  /** TLS towards etcd (https endpoints): trusted CAs (else Node's defaults) and a client certificate for --client-cert-auth. */
  tls?: { ca?: string; cert?: string; key?: string };
}

interface StoredMetadata {
  version: number;
  metadata: Record<string, unknown>;
  writtenAt: string;
}

/** Store on etcd v3: what several manager replicas share. */
export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly #client: Etcd3;
  readonly #kv: EtcdKv;
  readonly #keys: EtcdKeys;
  readonly #leases: EtcdLeaseKeeper;
  readonly #nodes: EtcdNodeRegistry;
  readonly #logger: Logger;
  readonly #managerLeases = new Map<string, Lease>();
  #closed = false;
  /** A pending re-registration after a lost manager lease (cancelled by close()). */
  #reRegister: NodeJS.Timeout | undefined;

  constructor(options: EtcdStoreOptions) {
    this.#logger = options.logger;
    const tls = options.tls;
    this.#client = new Etcd3({
      hosts: options.endpoints,
      ...(tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(tls.ca ?? rootCertificates.join('\n')),
              ...(tls.cert !== undefined && tls.key !== undefined ? { certChain: Buffer.from(tls.cert), privateKey: Buffer.from(tls.key) } : {}),
            },
          }
        : {}),
      dialTimeout: options.callTimeoutMs,
      // Unary calls get a deadline so a dead etcd answers 503 instead of hanging;
      // streams (watch, keepalive) live as long as they are needed.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: new Date(Date.now() + options.callTimeoutMs) }),
    });
    this.#kv = new EtcdKv(this.#client);
    this.#keys = new EtcdKeys(options.prefix);
    this.#leases = new EtcdLeaseKeeper(this.#client, options.callTimeoutMs);
    this.#nodes = new EtcdNodeRegistry(this.#kv, this.#keys, this.#leases);
  }

  registerNode(cluster: string, registration: NodeRegistration, ttlMs: number, guard?: RegistrationGuard): Promise<NodeView> {
    return this.#nodes.register(cluster, registration, ttlMs, guard);
  }

  heartbeatNode(cluster: string, id: number, stats: Record<string, unknown> | undefined, accept?: (node: NodeView) => boolean): Promise<NodeView | undefined> {
    return this.#nodes.heartbeat(cluster, id, stats, accept);
  }

  deregisterNode(cluster: string, id: number): Promise<boolean> {
    return this.#nodes.deregister(cluster, id);
  }

  listNodes(cluster?: string): Promise<NodeView[]> {
    return this.#nodes.list(cluster);
  }

  pruneNodes(deadForMs: number): Promise<number> {
    return this.#nodes.prune(deadForMs);
  }

  async readMetadata(cluster: string): Promise<VersionedMetadata> {
    const { stored } = await this.#kv.get<StoredMetadata>(this.#keys.metadata(cluster), 'read cluster metadata');
    return toVersioned(stored?.value);
  }

  async writeMetadata(cluster: string, baseVersion: number, metadata: Record<string, unknown>): Promise<CasResult> {
    const key = this.#keys.metadata(cluster);
    const { stored } = await this.#kv.get<StoredMetadata>(key, 'read cluster metadata');
    const current = toVersioned(stored?.value);
    if (current.version !== baseVersion) return { ok: false, current };
    const version = baseVersion + 1;
    const document: StoredMetadata = { version, metadata, writtenAt: new Date().toISOString() };
    const expired = version - HISTORY_LIMIT;
    const committed = await this.#kv.txn(
      [unchangedSince(key, stored)],
      [putOp(key, document), putOp(this.#keys.history(cluster, version), document), ...(expired > 0 ? [deleteOp(this.#keys.history(cluster, expired))] : [])],
      'write cluster metadata',
    );
    if (committed) return { ok: true, version };
    // Another manager wrote between our read and the transaction: report its version.
    return { ok: false, current: await this.readMetadata(cluster) };
  }

  async metadataHistory(cluster: string): Promise<HistoryEntry[]> {
    const entries = await this.#kv.getPrefix<StoredMetadata>(this.#keys.historyOf(cluster), 'read metadata history');
    return entries
      .map(({ value }) => ({ version: value.version, metadata: value.metadata, writtenAt: value.writtenAt }))
      .sort((a, b) => b.version - a.version)
      .slice(0, HISTORY_LIMIT);
  }

  async watchMetadata(cluster: string, listener: (current: VersionedMetadata) => void): Promise<MetadataWatch> {
    const key = this.#keys.metadata(cluster);
    // Get first, then watch from the revision after the get: no write can fall between.
    const { stored, revision } = await this.#kv.get<StoredMetadata>(key, 'read cluster metadata');
    let watcher;
    try {
      watcher = await this.#client
        .watch()
        .key(key)
        .startRevision(String(BigInt(revision) + 1n))
        .create();
    } catch (err) {
      throw translateEtcdError(err, 'watch cluster metadata');
    }
    watcher.on('put', (kv) => {
      try {
        listener(toVersioned(JSON.parse(kv.value.toString('utf8')) as StoredMetadata));
      } catch (err) {
        this.#logger.error({ err, cluster }, 'unreadable metadata in etcd');
      }
    });
    watcher.on('delete', () => listener({ version: 0, metadata: null }));
    watcher.on('disconnected', (err) => this.#logger.warn({ cluster, reason: err.message }, 'metadata watch disconnected'));
    watcher.on('connected', () => this.#logger.debug({ cluster }, 'metadata watch connected'));
    return {
      initial: toVersioned(stored?.value),
      close: async () => {
        await watcher.cancel().catch(() => undefined);
      },
    };
  }

  async registerManager(info: ManagerInfo, ttlMs: number): Promise<void> {
    const lease = this.#client.lease(Math.max(1, Math.ceil(ttlMs / 1000)));
    this.#managerLeases.set(info.id, lease);
    lease.on('lost', (err) => {
      if (this.#closed || this.#managerLeases.get(info.id) !== lease) return;
      // etcd was away for longer than the TTL: list ourselves again on a new lease.
      this.#logger.warn({ reason: err.message }, 'manager lease lost; registering again');
      this.#managerLeases.delete(info.id);
      this.#reRegister = setTimeout(() => {
        this.#reRegister = undefined;
        void this.registerManager(info, ttlMs).catch(() => undefined);
      }, 1000);
      this.#reRegister.unref();
    });
    try {
      await lease.put(this.#keys.manager(info.id)).value(JSON.stringify(info));
    } catch (err) {
      throw translateEtcdError(err, 'register the manager');
    }
  }

  async deregisterManager(id: string): Promise<void> {
    const lease = this.#managerLeases.get(id);
    this.#managerLeases.delete(id);
    if (!lease) return;
    try {
      await lease.revoke();
    } catch (err) {
      throw translateEtcdError(err, 'revoke the manager lease');
    }
  }

  async listManagers(): Promise<ManagerInfo[]> {
    const entries = await this.#kv.getPrefix<ManagerInfo>(this.#keys.managersOf(), 'list managers');
    return entries.map(({ value }) => value);
  }

  async ping(): Promise<void> {
    await this.#kv.get(this.#keys.nodeIdCounter(), 'check that etcd answers');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reRegister);
    this.#leases.close();
    for (const lease of this.#managerLeases.values()) lease.release();
    this.#managerLeases.clear();
    this.#client.close();
  }
}

function toVersioned(stored: StoredMetadata | undefined): VersionedMetadata {
  return stored ? { version: stored.version, metadata: stored.metadata } : { version: 0, metadata: null };
}
