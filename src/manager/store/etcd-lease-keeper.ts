import type { Etcd3 } from 'etcd3';
import { StoreUnavailableError } from '../../shared/errors.ts';
import { translateEtcdError } from './etcd-errors.ts';

type KeepAliveStream = Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>;

interface Pending {
  resolve(ttlSeconds: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * How many keepalive streams a manager keeps open. etcd renews the leases of
 * one stream one after the other, each waiting for its turn at the lessor;
 * at 10,000 agents (2,000 heartbeats a second) one stream queued them for
 * seconds while etcd's CPU idled. A lease always goes over the same stream.
 */
export const KEEPALIVE_STREAMS = 64;

/**
 * Sends one-off lease keepalives (node heartbeats) over a few shared gRPC
 * streams, so 10,000 agents heartbeating cost KEEPALIVE_STREAMS streams, not 10,000.
 */
export class EtcdLeaseKeeper {
  readonly #lanes: KeepAliveLane[];

  constructor(client: Etcd3, timeoutMs: number, streams = KEEPALIVE_STREAMS) {
    this.#lanes = Array.from({ length: streams }, () => new KeepAliveLane(client, timeoutMs));
  }

  /** Refreshes a lease; resolves to its remaining TTL in seconds, 0 when it expired. */
  keepAlive(leaseId: string): Promise<number> {
    return this.#lanes[laneOf(leaseId, this.#lanes.length)]!.keepAlive(leaseId);
  }

  close(): void {
    for (const lane of this.#lanes) lane.close();
  }
}

/** Lease ids are decimal int64 strings handed out in sequence: their last digits spread them evenly. */
function laneOf(leaseId: string, lanes: number): number {
  return Number(leaseId.slice(-6)) % lanes || 0;
}

/**
 * One keepalive stream. etcd answers keepalives on a stream in order, so per
 * lease id the oldest pending request takes the next answer.
 */
class KeepAliveLane {
  readonly #client: Etcd3;
  readonly #timeoutMs: number;
  #stream: Promise<KeepAliveStream> | undefined;
  readonly #pending = new Map<string, Pending[]>();

  constructor(client: Etcd3, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /** Refreshes a lease; resolves to its remaining TTL in seconds, 0 when it expired. */
  async keepAlive(leaseId: string): Promise<number> {
    let stream: KeepAliveStream;
    try {
      stream = await this.#openStream();
    } catch (err) {
      throw translateEtcdError(err, 'refresh a node lease');
    }
    return new Promise<number>((resolve, reject) => {
      const entry: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#remove(leaseId, entry);
          reject(new StoreUnavailableError(`etcd did not answer a lease keepalive within ${this.#timeoutMs} ms`));
          this.#reset(new StoreUnavailableError('lease keepalive stream timed out'));
        }, this.#timeoutMs),
      };
      const queue = this.#pending.get(leaseId) ?? [];
      queue.push(entry);
      this.#pending.set(leaseId, queue);
      try {
        stream.write({ ID: leaseId });
      } catch (err) {
        this.#remove(leaseId, entry);
        clearTimeout(entry.timer);
        reject(translateEtcdError(err, 'refresh a node lease'));
      }
    });
  }

  close(): void {
    this.#reset(new StoreUnavailableError('store closed'));
  }

  #openStream(): Promise<KeepAliveStream> {
    if (this.#stream) return this.#stream;
    const opening = this.#client.leaseClient.leaseKeepAlive().then((stream) => {
      stream.on('data', (response: { ID: string; TTL: string }) => {
        const queue = this.#pending.get(String(response.ID));
        const entry = queue?.shift();
        if (queue && queue.length === 0) this.#pending.delete(String(response.ID));
        if (!entry) return;
        clearTimeout(entry.timer);
        entry.resolve(Number(response.TTL));
      });
      const fail = (err?: unknown) => {
        if (this.#stream === opening) this.#reset(new StoreUnavailableError('lease keepalive stream ended', { cause: err }));
      };
      stream.on('error', fail);
      stream.on('end', fail);
      return stream;
    });
    // A failed open must not be cached: the next heartbeat tries again.
    opening.catch(() => {
      if (this.#stream === opening) this.#stream = undefined;
    });
    this.#stream = opening;
    return opening;
  }

  #reset(reason: Error): void {
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.then((s) => s.end(), () => undefined);
    for (const queue of this.#pending.values()) {
      for (const entry of queue) {
        clearTimeout(entry.timer);
        entry.reject(reason);
      }
    }
    this.#pending.clear();
  }

  #remove(leaseId: string, entry: Pending): void {
    const queue = this.#pending.get(leaseId);
    const index = queue?.indexOf(entry) ?? -1;
    if (queue && index >= 0) queue.splice(index, 1);
    if (queue && queue.length === 0) this.#pending.delete(leaseId);
  }
}
