import { ConcurrencyLimit } from '../../shared/concurrency-limit.ts';
import { translateEtcdError } from './etcd-errors.ts';
import type { EtcdKeys } from './etcd-keys.ts';
import { deleteOp, putOp, unchangedSince, type EtcdKv, type StoredValue } from './etcd-kv.ts';
import { EtcdIdBlocks } from './etcd-id-blocks.ts';
import type { EtcdLeaseKeeper } from './etcd-lease-keeper.ts';
import { EtcdTxnBatcher } from './etcd-txn-batcher.ts';
import type { NodeRegistration, NodeView, RegistrationGuard } from './store.ts';

/** A node record as stored in etcd: the view without `alive`, plus its lease. */
interface StoredNode extends Omit<NodeView, 'alive'> {
  leaseId: string;
}

/** A node record this process heartbeated recently, with the revision it was written or read at. */
interface CachedRecord {
  record: StoredNode;
  modRevision: string;
  writtenAt: number;
  /** A background rewrite is in flight. */
  writing: boolean;
}

/** Registrations in flight per manager process (each a few etcd calls). */
const REGISTRATIONS_AT_ONCE = 64;

/** How often a registration retries when another manager changed the same keys. */
const MAX_CAS_ATTEMPTS = 20;

/**
 * Node registrations in etcd: ids from blocks reserved on a counter key,
 * liveness as one lease per node (the `alive/` key disappears with it),
 * records kept without a lease so dead nodes stay listed until pruned.
 */
export class EtcdNodeRegistry {
  readonly #kv: EtcdKv;
  readonly #keys: EtcdKeys;
  readonly #leases: EtcdLeaseKeeper;
  /** Node records this process heartbeated recently, with the mod revision they were read at. */
  readonly #records = new Map<string, CachedRecord>();
  readonly #ids: EtcdIdBlocks;
  readonly #registrations = new ConcurrencyLimit(REGISTRATIONS_AT_ONCE);
  /** Heartbeat record rewrites, many per etcd transaction. */
  readonly #recordWrites: EtcdTxnBatcher;
  /** Registration transactions, many per etcd transaction when they arrive together. */
  readonly #registrationWrites: EtcdTxnBatcher;

  constructor(kv: EtcdKv, keys: EtcdKeys, leases: EtcdLeaseKeeper) {
    this.#kv = kv;
    this.#keys = keys;
    this.#leases = leases;
    this.#ids = new EtcdIdBlocks(kv, keys.nodeIdCounter());
    // Nobody waits on a record rewrite (a heartbeat answers before its record is written),
    // so gathering for 20 ms costs no one anything and makes the transactions fuller;
    // a registration is waited for, so it gathers for 2 ms only (and whatever arrives while a batch commits).
    this.#recordWrites = new EtcdTxnBatcher(kv, 'record a heartbeat', 20);
    this.#registrationWrites = new EtcdTxnBatcher(kv, 'register a node', 2);
  }

  /** Registrations run concurrently, up to REGISTRATIONS_AT_ONCE: a burst of them queues here, not as etcd calls racing their deadlines. */
  register(cluster: string, registration: NodeRegistration, ttlMs: number, guard?: RegistrationGuard): Promise<NodeView> {
    return this.#registrations.run(() => this.#register(cluster, registration, ttlMs, guard));
  }

  async #register(cluster: string, registration: NodeRegistration, ttlMs: number, guard: RegistrationGuard | undefined): Promise<NodeView> {
    const nameKey = this.#keys.name(cluster, registration.name);
    // The id and the lease are taken once and kept across retries; the lease of a registration
    // that did not commit is revoked. It is granted while the rest is prepared.
    let id: number | undefined;
    const leasing = this.#grantLease(ttlMs);
    leasing.catch(() => undefined); // awaited below; a refused registration must not leave it unhandled
    let committed = false;
    // The first attempt takes the name to be new, without reading it: most registrations are
    // an agent's first, and one etcd call less each is what lets 10,000 register in seconds.
    // A transaction that finds the name taken reads it in its failure branch, so the next
    // attempt knows what it replaces without a read of its own.
    let previousName: StoredValue<number> | undefined;
    try {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const previousId = previousName?.value;
        const previous = previousId === undefined ? undefined : (await this.#kv.get<StoredNode>(this.#keys.node(cluster, previousId), 'read a node')).stored;
        if (guard) {
          // The guard judges the record as it is now; the transaction below fails if the name moves meanwhile.
          const alive = previous !== undefined && (await this.#kv.get<number>(this.#keys.alive(cluster, previous.value.id), 'check a node is alive')).stored !== undefined;
          guard(previous && view(previous.value, alive));
        }
        id ??= await this.#ids.next();
        const leaseId = await leasing;
        const now = new Date().toISOString();
        const record: StoredNode = { ...registration, id, cluster, ttlMs, registeredAt: now, lastHeartbeat: now, leaseId };
        const nodeKey = this.#keys.node(cluster, id);
        const replaced = previousId === undefined ? [] : [deleteOp(this.#keys.node(cluster, previousId)), deleteOp(this.#keys.alive(cluster, previousId))];
        const outcome = await this.#registrationWrites.commit<number>({
          // Only the name is compared: registrations of different names never conflict, so they run concurrently.
          keys: [nameKey, nodeKey],
          compare: [unchangedSince(nameKey, previousName), unchangedSince(nodeKey, undefined)],
          success: [putOp(nodeKey, record), putOp(nameKey, id), putOp(this.#keys.alive(cluster, id), id, leaseId), ...replaced],
          readOnFailure: nameKey,
        });
        if (!outcome.committed) {
          previousName = outcome.current;
          continue;
        }
        committed = true;
        // The first heartbeats need neither a read nor a rewrite: the record was just written.
        this.#records.set(recordKey(cluster, id), { record, modRevision: outcome.revision, writtenAt: Date.now(), writing: false });
        if (previous) {
          this.#records.delete(recordKey(cluster, previous.value.id));
          // Awaited: the old id's heartbeats (here or at another manager) must see a dead lease from now on.
          await this.#revokeLease(previous.value.leaseId);
        }
        return view(record, true);
      }
    } finally {
      if (!committed) void leasing.then((leaseId) => this.#revokeLease(leaseId), () => undefined);
    }
    throw translateEtcdError(new Error(`node registration lost ${MAX_CAS_ATTEMPTS} races in a row`), 'register a node');
  }

  /**
   * A heartbeat is one lease keep-alive on the shared stream. The record
   * (last heartbeat, stats) is rewritten only every TTL/2, so at default
   * settings (5 s heartbeats, 15 s TTL) every second heartbeat writes the
   * record, instead of three round trips for each. Liveness stays exact: it is the lease.
   */
  async heartbeat(cluster: string, id: number, stats: Record<string, unknown> | undefined, accept?: (node: NodeView) => boolean): Promise<NodeView | undefined> {
    const cacheKey = recordKey(cluster, id);
    let cached = this.#records.get(cacheKey);
    if (!cached) {
      const { stored } = await this.#kv.get<StoredNode>(this.#keys.node(cluster, id), 'read a node');
      if (!stored) return undefined;
      cached = { record: stored.value, modRevision: stored.modRevision, writtenAt: 0, writing: false };
      this.#records.set(cacheKey, cached);
    }
    if (accept && !accept(view(cached.record, true))) return undefined;
    // A replaced, deregistered or expired node's lease is revoked or gone: TTL 0.
    if ((await this.#leases.keepAlive(cached.record.leaseId)) <= 0) {
      this.#records.delete(cacheKey);
      return undefined;
    }
    const record: StoredNode = { ...cached.record, lastHeartbeat: new Date().toISOString(), ...(stats ? { stats } : {}) };
    cached.record = record;
    if (!cached.writing && Date.now() - cached.writtenAt >= record.ttlMs / 2) this.#writeRecord(cacheKey, this.#keys.node(cluster, id), cached);
    return view(record, true);
  }

  /**
   * Rewrites a node record in the background: the heartbeat's answer does not
   * wait for it (liveness is the lease, settled above; the record only keeps
   * the last heartbeat and stats for listings). Compared on the record's
   * revision, so a write racing a deregistration cannot bring the record back;
   * then the cache entry is dropped and the next heartbeat reads etcd again.
   */
  #writeRecord(cacheKey: string, key: string, entry: CachedRecord): void {
    entry.writing = true;
    entry.writtenAt = Date.now();
    this.#recordWrites.put(key, { modRevision: entry.modRevision }, entry.record).then(
      (revision) => {
        entry.writing = false;
        if (revision !== undefined) entry.modRevision = revision;
        else if (this.#records.get(cacheKey) === entry) this.#records.delete(cacheKey);
      },
      () => {
        // etcd unavailable: try again at the next heartbeat.
        entry.writing = false;
        entry.writtenAt = 0;
      },
    );
  }

  async deregister(cluster: string, id: number): Promise<boolean> {
    const key = this.#keys.node(cluster, id);
    const { stored } = await this.#kv.get<StoredNode>(key, 'read a node');
    if (!stored) return false;
    await this.#deleteNode(stored.value);
    return true;
  }

  async list(cluster?: string): Promise<NodeView[]> {
    const nodesBase = this.#keys.nodesOf();
    const aliveBase = this.#keys.aliveOf();
    const [records, aliveKeys] = await Promise.all([
      this.#kv.getPrefix<StoredNode>(this.#keys.nodesOf(cluster), 'list nodes'),
      this.#kv.getPrefix<number>(this.#keys.aliveOf(cluster), 'list live nodes'),
    ]);
    const alive = new Set(aliveKeys.map(({ key }) => key.slice(aliveBase.length)));
    return records
      .filter(({ key }) => this.#keys.parseNodeKey(nodesBase, key) !== undefined)
      .map(({ key, value }) => view(value, alive.has(key.slice(nodesBase.length))))
      .sort((a, b) => (a.cluster === b.cluster ? a.id - b.id : a.cluster < b.cluster ? -1 : 1));
  }

  async prune(deadForMs: number): Promise<number> {
    const cutoff = Date.now() - deadForMs;
    const dead = (await this.list()).filter((node) => !node.alive && Date.parse(node.lastHeartbeat) < cutoff);
    for (const node of dead) {
      const { stored } = await this.#kv.get<StoredNode>(this.#keys.node(node.cluster, node.id), 'read a node');
      if (stored) await this.#deleteNode(stored.value);
    }
    return dead.length;
  }

  async #deleteNode(record: StoredNode): Promise<void> {
    this.#records.delete(recordKey(record.cluster, record.id));
    const nameKey = this.#keys.name(record.cluster, record.name);
    const { stored: name } = await this.#kv.get<number>(nameKey, 'look up the node name');
    const ops = [deleteOp(this.#keys.node(record.cluster, record.id)), deleteOp(this.#keys.alive(record.cluster, record.id))];
    const revoked = this.#revokeLease(record.leaseId);
    // The name key is removed only while it still points at this node (a newer
    // registration of the same name owns it otherwise).
    if (name && name.value === record.id) {
      await this.#kv.txn([unchangedSince(nameKey, name)], [...ops, deleteOp(nameKey)], 'deregister a node', ops);
    } else {
      await this.#kv.txn([], ops, 'deregister a node');
    }
    await revoked;
  }

  async #grantLease(ttlMs: number): Promise<string> {
    try {
      // etcd counts lease TTLs in whole seconds.
      const response = await this.#kv.client.leaseClient.leaseGrant({ TTL: Math.max(1, Math.ceil(ttlMs / 1000)) });
      return response.ID;
    } catch (err) {
      throw translateEtcdError(err, 'grant a node lease');
    }
  }

  /** Best effort: an orphaned lease expires on its own within its TTL. */
  async #revokeLease(leaseId: string): Promise<void> {
    try {
      await this.#kv.client.leaseClient.leaseRevoke({ ID: leaseId });
    } catch {
      // ignored on purpose, see above
    }
  }
}

/** The key of a node's entry in the record cache. */
function recordKey(cluster: string, id: number): string {
  return `${cluster}\u0000${id}`;
}

function view(record: StoredNode, alive: boolean): NodeView {
  const { leaseId: _leaseId, ...rest } = record;
  return { ...rest, alive };
}
