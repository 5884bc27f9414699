import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../shared/errors.ts';
import type { ManagerClient } from '../../shared/http/manager-client.ts';
import type { Logger } from '../../shared/logging.ts';

/**
 * How long a node the manager listed alive stays alive here once the manager
 * no longer lists it at all (a restarted memory store): nodes register again
 * within a heartbeat interval, and the data plane must not stop meanwhile.
 */
const UNLISTED_GRACE_MS = 30_000;

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
  /** Node names by peer address (as of the last refresh). */
  #namesByAddress = new Map<string, string>();
  /** Per target node, the units some node has queued hints for (from every node's heartbeat stats). */
  #behind = new Map<string, Map<string, Set<string> | '*'>>();
  #down = new Set<string>();
  /** Per live node, the metadata revision its last heartbeat reported. */
  #revisions = new Map<string, number>();
  #refreshedAt = 0;
  /** When the manager last listed each node alive (ms since the epoch). */
  readonly #listedAliveAt = new Map<string, number>();
  #refreshing: Promise<void> | undefined;
  readonly #answeredRecently: (address: string) => boolean;

  /**
   * `answeredRecently(address)`: whether the agent there answered us lately
   * (such a node is used even while the manager does not list it alive).
   */
  constructor(options: { client: ManagerClient; cluster: string; intervalMs: number; logger: Logger; answeredRecently?: (address: string) => boolean }) {
    this.#answeredRecently = options.answeredRecently ?? (() => false);
    this.#client = options.client;
    this.#cluster = options.cluster;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
  }

  get(name: string): PeerEntry | undefined {
    return this.#peers.get(name);
  }

  /** The name of the node whose agent is at `address`, if the last node list had one there. */
  nameAt(address: string): string | undefined {
    return this.#namesByAddress.get(address);
  }

  /**
   * The entry for `name`, asking the manager again first when the name is not
   * known yet (a node that registered since the last refresh); at most one
   * such refresh per 200 ms: within 200 ms of the last one, it waits for the
   * next rather than giving up (a node that registered just after a refresh
   * would otherwise miss a write made right after).
   */
  async resolve(name: string): Promise<PeerEntry | undefined> {
    if (!this.#peers.has(name)) {
      const wait = 200 - (Date.now() - this.#refreshedAt);
      if (wait > 0) await sleep(wait);
      if (!this.#peers.has(name)) await (this.#refreshing ??= this.refresh().catch(() => undefined).finally(() => (this.#refreshing = undefined)));
    }
    return this.#peers.get(name);
  }

  /**
   * Not failing our own requests right now, and alive at the manager or
   * answering us lately: a manager back from an outage (its node list empty,
   * or every lease expired) must not stop the data plane while it relearns
   * the nodes.
   */
  isAvailable(name: string): boolean {
    const peer = this.#peers.get(name);
    return peer !== undefined && !this.#down.has(name) && (peer.alive || this.#answeredRecently(peer.address));
  }

  /** Whether some node reported hints queued for `node` that touch the unit (as of the last refresh). */
  isBehind(node: string, database: string, measurement: string): boolean {
    const units = this.#behind.get(node)?.get(database);
    return units === '*' || (units !== undefined && units.has(measurement));
  }

  /**
   * The live nodes (as of the last refresh) whose heartbeats report a
   * metadata revision below `revision`: empty when every live agent has
   * applied at least that document (a move waits for it before copying).
   */
  laggingBehind(revision: number): string[] {
    return [...this.#revisions].filter(([, applied]) => applied < revision).map(([name]) => name);
  }

  /** When the node list was last read from the manager (ms since the epoch; 0: never). */
  get refreshedAt(): number {
    return this.#refreshedAt;
  }

  /** A request to `name` failed at the network level: skip it until the next refresh. */
  markDown(name: string): void {
    this.#down.add(name);
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const reply = await this.#client.request<Array<{ name: string; 'bind-address': string; alive: boolean; stats?: { hintedHandoff?: { behind?: unknown }; metadataRevision?: unknown } }>>('GET', `/nodes/${encodeURIComponent(this.#cluster)}`, signal ? { signal } : {});
    if (reply.status !== 200) throw new Error(`manager answered ${reply.status} to the node list`);
    const now = Date.now();
    const peers = new Map(reply.body.map((node) => [node.name, { name: node.name, address: node['bind-address'], alive: node.alive }]));
    for (const node of reply.body) if (node.alive) this.#listedAliveAt.set(node.name, now);
    // A node the manager no longer lists (a restarted memory store) keeps its last address, and stays
    // alive for UNLISTED_GRACE_MS after it was last listed alive (until it has registered again).
    for (const [name, entry] of this.#peers) {
      if (!peers.has(name)) peers.set(name, { ...entry, alive: now - (this.#listedAliveAt.get(name) ?? -Infinity) < UNLISTED_GRACE_MS });
    }
    this.#peers = peers;
    // An address a dead node held too (a node renamed, or replaced at the same address) names the live one.
    const names = new Map<string, string>();
    for (const peer of [...peers.values()].sort((a, b) => Number(b.alive) - Number(a.alive))) if (!names.has(peer.address)) names.set(peer.address, peer.name);
    this.#namesByAddress = names;
    this.#behind = mergeBehind(reply.body.filter((node) => node.alive).map((node) => node.stats?.hintedHandoff?.behind));
    this.#revisions = new Map(reply.body.filter((node) => node.alive).map((node) => [node.name, typeof node.stats?.metadataRevision === 'number' ? node.stats.metadataRevision : 0]));
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

/** Every node's report of `{target: {database: [measurement...] | '*'}}`, merged (reports of any shape are skipped). */
function mergeBehind(reports: unknown[]): Map<string, Map<string, Set<string> | '*'>> {
  const merged = new Map<string, Map<string, Set<string> | '*'>>();
  for (const report of reports) {
    if (typeof report !== 'object' || report === null) continue;
    for (const [target, databases] of Object.entries(report)) {
      if (typeof databases !== 'object' || databases === null) continue;
      const forTarget = merged.get(target) ?? new Map<string, Set<string> | '*'>();
      merged.set(target, forTarget);
      for (const [database, units] of Object.entries(databases as Record<string, unknown>)) {
        const current = forTarget.get(database);
        if (current === '*') continue;
        if (units === '*' || !Array.isArray(units)) forTarget.set(database, '*');
        else forTarget.set(database, new Set([...(current ?? []), ...units.filter((unit): unit is string => typeof unit === 'string')]));
      }
    }
  }
  return merged;
}
