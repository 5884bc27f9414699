import type { ICompare, IRequestOp } from 'etcd3';
import type { CommitOrRead, EtcdKv } from './etcd-kv.ts';
import { putOp, unchangedSince } from './etcd-kv.ts';

/** etcd refuses a transaction with more than --max-txn-ops (default 128) comparisons or operations in a branch. */
const MAX_BATCH_OPS = 100;
/** etcd refuses a request over --max-request-bytes (default 1.5 MiB); stay well below. */
const MAX_BATCH_BYTES = 512 * 1024;

/** One compare-and-swap: its comparisons, what it writes when they hold, and the key to read when they do not. */
export interface TxnUnit {
  /** The keys it compares; two units on one key never share a batch (one transaction cannot compare two versions of a key). */
  keys: string[];
  compare: ICompare[];
  success: IRequestOp[];
  /** Read when a comparison fails (the caller learns what it lost to); none when omitted. */
  readOnFailure?: string;
}

interface Pending extends TxnUnit {
  bytes: number;
  resolve(outcome: CommitOrRead<unknown>): void;
  reject(err: unknown): void;
}

/**
 * Independent compare-and-swaps gathered into one etcd transaction: one raft
 * proposal (and WAL fsync) for many of them, where each of their own was the
 * manager's and etcd's largest cost at 10,000 agents (heartbeat records
 * rewritten ~1,300 times a second, registrations at hundreds a second).
 * Units that arrive while a batch is being committed form the next one. A
 * batch whose comparisons do not all hold (a record changed under one of
 * them) is retried unit by unit, so each caller gets its own answer.
 */
export class EtcdTxnBatcher {
  readonly #kv: EtcdKv;
  readonly #action: string;
  /** How long the first unit of a batch waits for others. */
  readonly #gatherMs: number;
  #queue: Pending[] = [];
  #flushing = false;

  constructor(kv: EtcdKv, action: string, gatherMs: number) {
    this.#kv = kv;
    this.#action = action;
    this.#gatherMs = gatherMs;
  }

  /** Commits `unit` (in a batch): the revision written, or what `readOnFailure` held when a comparison failed. */
  commit<T>(unit: TxnUnit): Promise<CommitOrRead<T>> {
    return new Promise<CommitOrRead<unknown>>((resolve, reject) => {
      const bytes = [...unit.compare, ...unit.success].reduce((sum, item) => sum + approximateBytes(item), 0);
      this.#queue.push({ ...unit, bytes, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        setTimeout(() => void this.#flush(), this.#gatherMs);
      }
    }) as Promise<CommitOrRead<T>>;
  }

  /** Writes `value` at `key` if the key is unchanged since `expected`; the revision written, else undefined. */
  async put(key: string, expected: { modRevision: string }, value: unknown): Promise<string | undefined> {
    const outcome = await this.commit({ keys: [key], compare: [unchangedSince(key, expected)], success: [putOp(key, value)] });
    return outcome.committed ? outcome.revision : undefined;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commitBatch(this.#takeBatch());
    } finally {
      this.#flushing = false;
    }
  }

  /** The next batch in arrival order, within etcd's limits; a unit whose key is already in it waits for the next one. */
  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const later: Pending[] = [];
    const keys = new Set<string>();
    let ops = 0;
    let bytes = 0;
    let taken = 0;
    for (const unit of this.#queue) {
      const size = Math.max(unit.compare.length, unit.success.length);
      if (batch.length > 0 && (ops + size > MAX_BATCH_OPS || bytes + unit.bytes > MAX_BATCH_BYTES)) break;
      taken++;
      if (unit.keys.some((key) => keys.has(key))) {
        later.push(unit);
        continue;
      }
      for (const key of unit.keys) keys.add(key);
      batch.push(unit);
      ops += size;
      bytes += unit.bytes;
    }
    this.#queue = [...later, ...this.#queue.slice(taken)];
    return batch;
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.#commitAlone(batch[0]!);
    let revision: string | undefined;
    try {
      revision = await this.#kv.commit(batch.flatMap((unit) => unit.compare), batch.flatMap((unit) => unit.success), this.#action);
    } catch (err) {
      for (const unit of batch) unit.reject(err);
      return;
    }
    if (revision !== undefined) {
      for (const unit of batch) unit.resolve({ committed: true, revision });
      return;
    }
    // Some comparison failed: find out which, one transaction per unit.
    await Promise.all(batch.map((unit) => this.#commitAlone(unit)));
  }

  async #commitAlone(unit: Pending): Promise<void> {
    try {
      unit.resolve(await this.#kv.commitOrRead(unit.compare, unit.success, this.#action, unit.readOnFailure));
    } catch (err) {
      unit.reject(err);
    }
  }
}

/** A comparison's or operation's size on the wire, near enough for the request-size bound. */
function approximateBytes(item: ICompare | IRequestOp): number {
  const put = 'request_put' in item ? item.request_put : undefined;
  if (put) return (put.key?.length ?? 0) + (put.value?.length ?? 0) + 16;
  const key = 'key' in item ? item.key : undefined;
  return (key instanceof Buffer ? key.length : 0) + 32;
}
