/**
 * The manager's state: node registrations with TTL liveness, one versioned
 * metadata document per cluster with compare-and-swap writes, and the list of
 * running managers. Two implementations keep one contract (see
 * test/contract/store-contract.ts, run by test/integration/store-contract.test.ts): MemoryStore and EtcdStore.
 */

/** What an agent sends when it registers. */
export interface NodeRegistration {
  name: string;
  hostname: string;
  ip: string[];
  bindAddress: string;
  proxyAddress: string;
  version: string;
  stats: Record<string, unknown>;
}

/** A stored node. `alive` is false once its TTL ran out without a heartbeat. */
export interface NodeView extends NodeRegistration {
  id: number;
  cluster: string;
  /** Liveness TTL in ms that the node was registered with. */
  ttlMs: number;
  registeredAt: string;
  lastHeartbeat: string;
  alive: boolean;
}

/** A cluster's metadata document; version 0 and `null` mean none yet. */
export interface VersionedMetadata {
  version: number;
  metadata: Record<string, unknown> | null;
}

export interface HistoryEntry {
  version: number;
  metadata: Record<string, unknown>;
  writtenAt: string;
}

/** Called with the record a registration would replace; throws to refuse it. */
export type RegistrationGuard = (previous: NodeView | undefined) => void;

export type CasResult = { ok: true; version: number } | { ok: false; current: VersionedMetadata };

/** A running manager, listed under `cflux` by GET /nodes. */
export interface ManagerInfo {
  id: string;
  hostname: string;
  listen: string;
  version: string;
  pid: number;
  startedAt: string;
}

/** An open watch on one cluster's metadata; `initial` is the state the watch starts from. */
export interface MetadataWatch {
  initial: VersionedMetadata;
  close(): Promise<void>;
}

/** How many versions `metadataHistory` keeps. */
export const HISTORY_LIMIT = 10;

export interface Store {
  readonly kind: 'memory' | 'etcd';
  /**
   * Registers a node; an earlier record with the same name in the cluster is
   * replaced. `guard` sees that earlier record (or undefined) just before the
   * write and may throw to refuse the registration (a name held by a live
   * node elsewhere).
   */
  registerNode(cluster: string, registration: NodeRegistration, ttlMs: number, guard?: RegistrationGuard): Promise<NodeView>;
  /**
   * Refreshes liveness; undefined when the id is unknown, its TTL expired, or
   * `accept` refuses the record (a heartbeat from another registration).
   */
  heartbeatNode(cluster: string, id: number, stats: Record<string, unknown> | undefined, accept?: (node: NodeView) => boolean): Promise<NodeView | undefined>;
  /** Removes a node; false when the id is unknown. */
  deregisterNode(cluster: string, id: number): Promise<boolean>;
  /** Nodes of one cluster, or of every cluster, ordered by cluster then id. */
  listNodes(cluster?: string): Promise<NodeView[]>;
  /** Removes records of nodes whose last heartbeat is older than `deadForMs`; returns how many. */
  pruneNodes(deadForMs: number): Promise<number>;
  readMetadata(cluster: string): Promise<VersionedMetadata>;
  /** Stores `metadata` as version baseVersion+1 if the stored version is baseVersion. */
  writeMetadata(cluster: string, baseVersion: number, metadata: Record<string, unknown>): Promise<CasResult>;
  /** Up to HISTORY_LIMIT versions, newest first. */
  metadataHistory(cluster: string): Promise<HistoryEntry[]>;
  /**
   * Calls `listener` with every version stored after `initial`. No write can
   * fall between `initial` and the first notification.
   */
  watchMetadata(cluster: string, listener: (current: VersionedMetadata) => void): Promise<MetadataWatch>;
  /** Lists this manager under `cflux` for as long as it runs (held by its own lease). */
  registerManager(info: ManagerInfo, ttlMs: number): Promise<void>;
  deregisterManager(id: string): Promise<void>;
  listManagers(): Promise<ManagerInfo[]>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
