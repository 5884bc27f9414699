import { membersDuring, moveProgress } from './member-moves.ts';
import type { ClusterMetadata } from './cluster-metadata.ts';

/**
 * What an operator asks of a running cluster (the manager's status page and
 * `cflux status`, like `influxd-ctl show`), built from what the manager
 * holds: the node records with the stats each agent's heartbeat carries, and
 * the cluster document with its history. Pure: both the manager and the CLI
 * build it from the same JSON.
 */
export interface NodeRecordJson {
  id: number;
  name: string;
  hostname?: string;
  ip?: string[];
  'bind-address': string;
  'proxy-address'?: string;
  version?: string;
  alive: boolean;
  'last-heartbeat': string;
  stats?: Record<string, unknown>;
}

export interface NodeOverview {
  id: number;
  name: string;
  alive: boolean;
  /** The agent's readiness as its last heartbeat said (undefined: an agent too old to say). */
  ready: boolean | undefined;
  dataMember: boolean;
  agentVersion: string;
  influxdVersion: string | undefined;
  peerAddress: string;
  proxyAddress: string;
  lastHeartbeat: string;
  cpuPercent: number | undefined;
  memoryUsedBytes: number | undefined;
  /** Measurements (units) its influxd holds, its shards' bytes on disk, points written since influxd started. */
  units: number | undefined;
  diskBytes: number | undefined;
  pointsWritten: number | undefined;
  metadataRevision: number | undefined;
  /** Why it is not ready, and its recent warnings and errors (newest first). */
  problems: string[];
}

export interface QueueOverview {
  from: string;
  to: string;
  records: number;
  bytes: number;
  oldestAgeMs: number | undefined;
}

export interface ClusterOverview {
  cluster: string;
  version: number;
  revision: number;
  databases: string[];
  users: number;
  replicationFactor: number;
  dataMembers: string[];
  nodes: NodeOverview[];
  queues: QueueOverview[];
  move: { id: string; kind: string; target: string[]; phase: string; unitsDone: number; units: number; points: number; startedAt: string } | undefined;
  history: Array<{ version: number; writtenAt: string; bytes: number }>;
}

const numberOr = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const textOr = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function clusterOverview(input: {
  cluster: string;
  document: { version: number; metadata: ClusterMetadata | null };
  nodes: readonly NodeRecordJson[];
  /** The manager's last versions (GET /clusters/:cluster/history). */
  history: ReadonlyArray<{ version: number; writtenAt: string; metadata: unknown }>;
}): ClusterOverview {
  const metadata = input.document.metadata;
  const members = metadata ? membersDuring(metadata) : [];
  const nodes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id)).map((node): NodeOverview => {
    const stats = node.stats ?? {};
    const data = (stats['data'] ?? {}) as Record<string, unknown>;
    const problems = [...((stats['notReady'] as unknown[] | undefined) ?? []), ...((stats['recentErrors'] as unknown[] | undefined) ?? [])].filter((entry): entry is string => typeof entry === 'string');
    return {
      id: node.id,
      name: node.name,
      alive: node.alive,
      ready: typeof stats['ready'] === 'boolean' ? stats['ready'] : undefined,
      dataMember: members.includes(node.name),
      // A registration's `version` is its influxd's; the agent says its own in its stats.
      agentVersion: textOr(stats['cfluxVersion']) ?? '',
      influxdVersion: textOr(stats['influxdVersion']) ?? node.version,
      peerAddress: node['bind-address'],
      proxyAddress: node['proxy-address'] ?? '',
      lastHeartbeat: node['last-heartbeat'],
      cpuPercent: numberOr(stats['cpuPercent']),
      memoryUsedBytes: numberOr(stats['cgroupMemoryUsedBytes']) ?? numberOr(stats['memoryUsedBytes']),
      units: numberOr(data['units']),
      diskBytes: numberOr(data['diskBytes']),
      pointsWritten: numberOr(data['pointsWritten']),
      metadataRevision: numberOr(stats['metadataRevision']),
      problems,
    };
  });
  const queues: QueueOverview[] = [];
  for (const node of input.nodes) {
    const handoff = node.stats?.['hintedHandoff'] as { queues?: Array<Record<string, unknown>> } | undefined;
    for (const queue of handoff?.queues ?? []) {
      const records = numberOr(queue['records']) ?? 0;
      if (records === 0) continue;
      queues.push({ from: node.name, to: String(queue['target'] ?? '?'), records, bytes: numberOr(queue['bytes']) ?? 0, oldestAgeMs: numberOr(queue['oldestAgeMs']) });
    }
  }
  const move = metadata?.settings.move;
  const progress = move ? moveProgress(move) : undefined;
  return {
    cluster: input.cluster,
    version: input.document.version,
    revision: metadata?.revision ?? 0,
    databases: metadata ? Object.keys(metadata.databases).sort() : [],
    users: metadata ? Object.keys(metadata.users).length : 0,
    replicationFactor: metadata?.settings.replicationFactor ?? 0,
    dataMembers: metadata?.settings.dataMembers ?? [],
    nodes,
    queues,
    move: move && progress ? { id: move.id, kind: move.kind, target: move.target, phase: move.phase, unitsDone: progress.done, units: progress.units, points: progress.points, startedAt: move.startedAt } : undefined,
    history: input.history.map((entry) => ({ version: entry.version, writtenAt: entry.writtenAt, bytes: Buffer.byteLength(JSON.stringify(entry.metadata)) })),
  };
}
