import { HISTORY_LIMIT, type RegistrationGuard, type CasResult, type HistoryEntry, type ManagerInfo, type MetadataWatch, type NodeRegistration, type NodeView, type Store, type VersionedMetadata } from './store.ts';

interface MemoryNode extends Omit<NodeView, 'alive'> {
  expiresAt: number;
}

interface MemoryCluster {
  current: VersionedMetadata;
  history: HistoryEntry[];
  listeners: Set<(current: VersionedMetadata) => void>;
}

/**
 * The embedded default: all state in this process, lost on restart (agents
 * re-register and push their metadata back). Liveness is computed from an
 * expiry time on read, so no timer runs per node.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #nodes = new Map<string, Map<number, MemoryNode>>();
  readonly #clusters = new Map<string, MemoryCluster>();
  readonly #managers = new Map<string, ManagerInfo>();
  readonly #now: () => number;
  /**
   * Node ids are never handed out again by a later manager process: they
   * start at (seconds since 2020) × 1024 plus a random offset below 1024, so
   * a restarted manager begins above every id the previous one gave (unless
   * it registered over 1024 nodes per second of its uptime), and a stale
   * heartbeat cannot land on a new node's id.
   */
  #nextId = idEpoch();

  /** `now` is injectable so tests can move time. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async registerNode(cluster: string, registration: NodeRegistration, ttlMs: number, guard?: RegistrationGuard): Promise<NodeView> {
    const nodes = this.#clusterNodes(cluster);
    const previous = [...nodes.values()].find((node) => node.name === registration.name);
    guard?.(previous && this.#view(previous));
    if (previous) nodes.delete(previous.id);
    const now = this.#now();
    const node: MemoryNode = {
      ...structuredClone(registration),
      id: this.#nextId++,
      cluster,
      ttlMs,
      registeredAt: new Date(now).toISOString(),
      lastHeartbeat: new Date(now).toISOString(),
      expiresAt: now + ttlMs,
    };
    nodes.set(node.id, node);
    return this.#view(node);
  }

  async heartbeatNode(cluster: string, id: number, stats: Record<string, unknown> | undefined, accept?: (node: NodeView) => boolean): Promise<NodeView | undefined> {
    const node = this.#nodes.get(cluster)?.get(id);
    const now = this.#now();
    if (!node || node.expiresAt <= now) return undefined;
    if (accept && !accept(this.#view(node))) return undefined;
    node.expiresAt = now + node.ttlMs;
    node.lastHeartbeat = new Date(now).toISOString();
    if (stats) node.stats = structuredClone(stats);
    return this.#view(node);
  }

  async deregisterNode(cluster: string, id: number): Promise<boolean> {
    return this.#nodes.get(cluster)?.delete(id) ?? false;
  }

  async listNodes(cluster?: string): Promise<NodeView[]> {
    const clusters = cluster === undefined ? [...this.#nodes.keys()].sort() : [cluster];
    return clusters.flatMap((name) => [...(this.#nodes.get(name)?.values() ?? [])].sort((a, b) => a.id - b.id).map((node) => this.#view(node)));
  }

  async pruneNodes(deadForMs: number): Promise<number> {
    const cutoff = this.#now() - deadForMs;
    let pruned = 0;
    for (const nodes of this.#nodes.values()) {
      for (const [id, node] of nodes) {
        if (node.expiresAt <= this.#now() && Date.parse(node.lastHeartbeat) < cutoff) {
          nodes.delete(id);
          pruned++;
        }
      }
    }
    return pruned;
  }

  async readMetadata(cluster: string): Promise<VersionedMetadata> {
    return structuredClone(this.#cluster(cluster).current);
  }

  async writeMetadata(cluster: string, baseVersion: number, metadata: Record<string, unknown>): Promise<CasResult> {
    const state = this.#cluster(cluster);
    if (state.current.version !== baseVersion) return { ok: false, current: structuredClone(state.current) };
    const version = baseVersion + 1;
    state.current = { version, metadata: structuredClone(metadata) };
    state.history.unshift({ version, metadata: structuredClone(metadata), writtenAt: new Date(this.#now()).toISOString() });
    state.history.length = Math.min(state.history.length, HISTORY_LIMIT);
    for (const listener of state.listeners) listener(structuredClone(state.current));
    return { ok: true, version };
  }

  async metadataHistory(cluster: string): Promise<HistoryEntry[]> {
    return structuredClone(this.#clusters.get(cluster)?.history ?? []);
  }

  async watchMetadata(cluster: string, listener: (current: VersionedMetadata) => void): Promise<MetadataWatch> {
    const state = this.#cluster(cluster);
    state.listeners.add(listener);
    return {
      initial: structuredClone(state.current),
      close: async () => {
        state.listeners.delete(listener);
      },
    };
  }

  async registerManager(info: ManagerInfo): Promise<void> {
    this.#managers.set(info.id, { ...info });
  }

  async deregisterManager(id: string): Promise<void> {
    this.#managers.delete(id);
  }

  async listManagers(): Promise<ManagerInfo[]> {
    return [...this.#managers.values()].map((info) => ({ ...info }));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    for (const state of this.#clusters.values()) state.listeners.clear();
  }

  #clusterNodes(cluster: string): Map<number, MemoryNode> {
    let nodes = this.#nodes.get(cluster);
    if (!nodes) this.#nodes.set(cluster, (nodes = new Map()));
    return nodes;
  }

  #cluster(cluster: string): MemoryCluster {
    let state = this.#clusters.get(cluster);
    if (!state) this.#clusters.set(cluster, (state = { current: { version: 0, metadata: null }, history: [], listeners: new Set() }));
    return state;
  }

  #view(node: MemoryNode): NodeView {
    const { expiresAt, ...rest } = node;
    return { ...structuredClone(rest), alive: expiresAt > this.#now() };
  }
}

const EPOCH_2020_SECONDS = 1_577_836_800;

function idEpoch(): number {
  return (Math.floor(Date.now() / 1000) - EPOCH_2020_SECONDS) * 1024 + Math.floor(Math.random() * 1024) + 1;
}
