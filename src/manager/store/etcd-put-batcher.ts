import type { IRequestOp } from 'etcd3';
import type { EtcdKv } from './etcd-kv.ts';
import { putOp, unchangedSince } from './etcd-kv.ts';

/** etcd refuses a transaction with more than --max-txn-ops (default 128) operations in a branch. */
const MAX_BATCH_PUTS = 100;
/** How long the first put of a batch waits for others. */
const GATHER_MS = 20;
/** etcd refuses a request over --max-request-bytes (default 1.5 MiB); stay well below. */
const MAX_BATCH_BYTES = 512 * 1024;

interface PendingPut {
  key: string;
  expected: { modRevision: string };
  /** The put, its value serialized once when it was queued. */
  op: IRequestOp;
  bytes: number;
  resolve(revision: string | undefined): void;
  reject(err: unknown): void;
}

/**
 * Compare-and-swap puts of many keys gathered into one etcd transaction: at
 * 10,000 agents the heartbeat records are rewritten ~1,300 times a second,
 * and one raft proposal (and WAL fsync) each was the manager's and etcd's
 * largest cost. Puts that arrive while a batch is being committed form the
 * next one. A batch whose comparisons do not all hold (a record changed
 * under one of them, e.g. deregistered) is retried key by key, so each
 * caller gets its own answer: the revision written, or undefined when its
 * key changed since `expected`.
 */
export class EtcdPutBatcher {
  readonly #kv: EtcdKv;
  readonly #action: string;
  #queue: PendingPut[] = [];
  #flushing = false;

  constructor(kv: EtcdKv, action: string) {
    this.#kv = kv;
    this.#action = action;
  }

  /** Writes `value` at `key` if the key is unchanged since `expected`; the revision written, else undefined. */
  put(key: string, expected: { modRevision: string }, value: unknown): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const op = putOp(key, value);
      this.#queue.push({ key, expected, op, bytes: key.length + (op.request_put?.value?.length ?? 0), resolve, reject });
      if (!this.#flushing) {
        // Nobody waits on these writes (a heartbeat answers before its record is written), so
        // a short gathering time costs no one anything and makes the transactions fuller.
        this.#flushing = true;
        setTimeout(() => void this.#flush(), GATHER_MS);
      }
    });
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        await this.#commit(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  #takeBatch(): PendingPut[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && count < MAX_BATCH_PUTS && (count === 0 || bytes + this.#queue[count]!.bytes <= MAX_BATCH_BYTES)) {
      bytes += this.#queue[count]!.bytes;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #commit(batch: PendingPut[]): Promise<void> {
    // One key twice in a batch cannot compare both versions: the later one waits for the next batch.
    const seen = new Set<string>();
    const now: PendingPut[] = [];
    const later: PendingPut[] = [];
    for (const put of batch) {
      if (seen.has(put.key)) later.push(put);
      else {
        seen.add(put.key);
        now.push(put);
      }
    }
    this.#queue.unshift(...later);
    try {
      const revision = await this.#kv.commit(
        now.map((put) => unchangedSince(put.key, put.expected)),
        now.map((put) => put.op),
        this.#action,
      );
      if (revision !== undefined || now.length === 1) {
        for (const put of now) put.resolve(revision);
        return;
      }
      // Some comparison failed: find out which, one transaction per key.
      await Promise.all(
        now.map(async (put) => {
          try {
            put.resolve(await this.#kv.commit([unchangedSince(put.key, put.expected)], [put.op], this.#action));
          } catch (err) {
            put.reject(err);
          }
        }),
      );
    } catch (err) {
      for (const put of now) put.reject(err);
    }
  }
}
