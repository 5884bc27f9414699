import type { Etcd3, ICompare, IKeyValue, IRequestOp } from 'etcd3';
import { translateEtcdError } from './etcd-errors.ts';
import { prefixRangeEnd } from './etcd-keys.ts';

/** Keys per range request when reading a prefix. */
const PAGE_SIZE = 1000;

/** A key's value and the revision needed to compare-and-swap it. */
export interface StoredValue<T> {
  value: T;
  modRevision: string;
}

/**
 * Thin typed access to etcd's raw KV API (range, txn) with JSON values. Every
 * failure leaves here as a StoreUnavailableError.
 */
export class EtcdKv {
  readonly client: Etcd3;

  constructor(client: Etcd3) {
    this.client = client;
  }

  /** Reads one key; `revision` is the store revision the read saw. */
  async get<T>(key: string, action: string): Promise<{ stored: StoredValue<T> | undefined; revision: string }> {
    try {
      const response = await this.client.kv.range({ key: Buffer.from(key) });
      const kv = response.kvs[0];
      return { stored: kv ? decode<T>(kv) : undefined, revision: response.header.revision };
    } catch (err) {
      throw translateEtcdError(err, action);
    }
  }

  /**
   * Reads every key under a prefix, in key order, in pages (one etcd answer
   * must stay under gRPC's 4 MiB message limit: 10,000 node records do not).
   */
  async getPrefix<T>(prefix: string, action: string): Promise<Array<{ key: string } & StoredValue<T>>> {
    const entries: Array<{ key: string } & StoredValue<T>> = [];
    const start = Buffer.from(prefix);
    const end = prefixRangeEnd(start);
    let from = start;
    let revision: string | undefined;
    try {
      for (;;) {
        // Later pages read at the first page's revision: one consistent view.
        const response = await this.client.kv.range({ key: from, range_end: end, limit: PAGE_SIZE, ...(revision ? { revision } : {}) });
        revision ??= response.header.revision;
        for (const kv of response.kvs) entries.push({ key: kv.key.toString('utf8'), ...decode<T>(kv) });
        const last = response.kvs.at(-1);
        if (!response.more || !last) return entries;
        from = Buffer.concat([last.key, Buffer.from([0])]);
      }
    } catch (err) {
      throw translateEtcdError(err, action);
    }
  }

  /** Runs a transaction; true when every comparison held and `success` ran. */
  async txn(compare: ICompare[], success: IRequestOp[], action: string, failure: IRequestOp[] = []): Promise<boolean> {
    return (await this.commit(compare, success, action, failure)) !== undefined;
  }

  /** Runs a transaction; the store revision it wrote at when `success` ran, else undefined. */
  async commit(compare: ICompare[], success: IRequestOp[], action: string, failure: IRequestOp[] = []): Promise<string | undefined> {
    try {
      const response = await this.client.kv.txn({ compare, success, failure });
      return response.succeeded ? response.header.revision : undefined;
    } catch (err) {
      throw translateEtcdError(err, action);
    }
  }

  /**
   * Runs a transaction that reads `key` (if given) when a comparison fails: a
   * compare-and-swap that learns what it lost to in the same round trip.
   */
  async commitOrRead<T>(compare: ICompare[], success: IRequestOp[], action: string, key?: string): Promise<CommitOrRead<T>> {
    try {
      const failure = key === undefined ? [] : [{ request_range: { key: Buffer.from(key) } }];
      const response = await this.client.kv.txn({ compare, success, failure });
      if (response.succeeded) return { committed: true, revision: response.header.revision };
      const kv = response.responses[0]?.response_range?.kvs[0];
      return { committed: false, current: kv ? decode<T>(kv) : undefined };
    } catch (err) {
      throw translateEtcdError(err, action);
    }
  }
}

/** What {@link EtcdKv.commitOrRead} found: the revision written, or the key as it is when a comparison failed. */
export type CommitOrRead<T> = { committed: true; revision: string } | { committed: false; current: StoredValue<T> | undefined };

function decode<T>(kv: IKeyValue): StoredValue<T> {
  return { value: JSON.parse(kv.value.toString('utf8')) as T, modRevision: kv.mod_revision };
}

/** Comparison: the key is unchanged since it was read (or still absent). */
export function unchangedSince(key: string, stored: { modRevision: string } | undefined): ICompare {
  return stored
    ? { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: stored.modRevision }
    : { key: Buffer.from(key), target: 'Version', result: 'Equal', version: 0 };
}

export function putOp(key: string, value: unknown, lease?: string): IRequestOp {
  const request: IRequestOp['request_put'] = { key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) };
  if (lease !== undefined) request.lease = lease;
  return { request_put: request };
}

export function deleteOp(key: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(key) } };
}
