import type { EtcdKv } from './etcd-kv.ts';
import { putOp, unchangedSince } from './etcd-kv.ts';
import { translateEtcdError } from './etcd-errors.ts';

/** How many ids one reservation takes; a manager that stops loses the rest of its block (ids are never reused). */
export const ID_BLOCK_SIZE = 256;

/** How often a reservation retries when another manager moved the counter at the same time. */
const MAX_RESERVE_ATTEMPTS = 20;

/**
 * Node ids handed out from blocks reserved on the shared counter key. A
 * registration takes the next id of this process' block without touching
 * the counter, so registrations run concurrently (a counter compared in
 * every registration transaction serialized them: ~150 per second at most,
 * a minute for 10,000 agents). One reservation (one compare-and-swap) serves
 * ID_BLOCK_SIZE registrations; blocks of different managers never overlap.
 * Ids stay unique and increasing per manager, not dense across managers.
 */
export class EtcdIdBlocks {
  readonly #kv: EtcdKv;
  readonly #counterKey: string;
  #next = 0;
  #end = 0;
  /** The reservation in flight, shared by every registration that found the block empty. */
  #reserving: Promise<void> | undefined;

  constructor(kv: EtcdKv, counterKey: string) {
    this.#kv = kv;
    this.#counterKey = counterKey;
  }

  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#reserving ??= this.#reserve().finally(() => (this.#reserving = undefined));
      await this.#reserving;
    }
    return this.#next++;
  }

  async #reserve(): Promise<void> {
    for (let attempt = 0; attempt < MAX_RESERVE_ATTEMPTS; attempt++) {
      const { stored } = await this.#kv.get<number>(this.#counterKey, 'read the node id counter');
      const last = stored?.value ?? 0;
      if (await this.#kv.txn([unchangedSince(this.#counterKey, stored)], [putOp(this.#counterKey, last + ID_BLOCK_SIZE)], 'reserve node ids')) {
        this.#next = last + 1;
        this.#end = last + ID_BLOCK_SIZE + 1;
        return;
      }
    }
    throw translateEtcdError(new Error(`node id reservation lost ${MAX_RESERVE_ATTEMPTS} races in a row`), 'reserve node ids');
  }
}
