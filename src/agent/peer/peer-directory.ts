import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../shared/errors.ts';
import type { ManagerClient } from '../../shared/http/manager-client.ts';
import type { Logger } from '../../shared/logging.ts';

/** Where another node's agent answers, and whether the manager sees it alive. */
export interface PeerEntry {
  name: string;
  address: string;
  alive: boolean;
}

/**
 * The cluster's nodes by name, refreshed from the manager every interval.
 * When the manager cannot be reached the last list stays in use (an agent
 * keeps serving with what it knew).
 */
export class PeerDirectory {
  readonly #client: ManagerClient;
  readonly #cluster: string;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #peers = new Map<string, PeerEntry>();
  #down = new Set<string>();
  #refreshedAt = 0;
  #refreshing: Promise<void> | undefined;

  constructor(options: { client: ManagerClient; cluster: string; intervalMs: number; logger: Logger }) {
    this.#client = options.client;
    this.#cluster = options.cluster;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
  }

  get(name: string): PeerEntry | undefined {
    return this.#peers.get(name);
  }

  /**
   * The entry for `name`, asking the manager again first when the name is not
   * known yet (a node that registered since the last refresh); at most one
   * such refresh per 200 ms.
   */
  async resolve(name: string): Promise<PeerEntry | undefined> {
    if (!this.#peers.has(name) && Date.now() - this.#refreshedAt > 200) {
      await (this.#refreshing ??= this.refresh().catch(() => undefined).finally(() => (this.#refreshing = undefined)));
    }
    return this.#peers.get(name);
  }

  /** Alive at the manager and not failing our own requests right now. */
  isAvailable(name: string): boolean {
    const peer = this.#peers.get(name);
    return peer !== undefined && peer.alive && !this.#down.has(name);
  }

  /** A request to `name` failed at the network level: skip it until the next refresh. */
  markDown(name: string): void {
    this.#down.add(name);
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const reply = await this.#client.request<Array<{ name: string; 'bind-address': string; alive: boolean }>>('GET', `/nodes/${encodeURIComponent(this.#cluster)}`, signal ? { signal } : {});
    if (reply.status !== 200) throw new Error(`manager answered ${reply.status} to the node list`);
    this.#peers = new Map(reply.body.map((node) => [node.name, { name: node.name, address: node['bind-address'], alive: node.alive }]));
    this.#down = new Set();
    this.#refreshedAt = Date.now();
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.refresh(signal);
      } catch (err) {
        if (!signal.aborted) this.#logger.warn({ reason: messageOf(err) }, 'cannot refresh the node list; using the last one');
      }
      await sleep(this.#intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
