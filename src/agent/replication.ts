import { join } from 'node:path';
import type { ClusterMetadata } from '../cluster/cluster-metadata.ts';
import type { Placement } from '../cluster/placement.ts';
import type { Logger } from '../shared/logging.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import type { AgentOptions } from './agent-settings.ts';
import { handoffDelivery } from './handoff/handoff-delivery.ts';
import { HintedHandoff } from './handoff/hinted-handoff.ts';
import type { LocalPassthrough } from './influxd/local-passthrough.ts';
import type { PeerClient } from './peer/peer-client.ts';
import type { PeerDirectory } from './peer/peer-directory.ts';
import { MemberMover } from './moves/member-mover.ts';
import { replicaAccess } from './repair/replica-access.ts';
import { RepairService } from './repair/repair-service.ts';
import type { ReplicaAccess } from './repair/unit-repair.ts';
import type { MetadataOperation } from '../cluster/metadata-operations.ts';

/** What keeps replicas together: the hinted-handoff queues, anti-entropy repair, and moves of the data members. */
export class Replication {
  readonly handoff: HintedHandoff;
  readonly repair: RepairService;
  readonly mover: MemberMover;
  /** Reads and writes of any node's influxd with the agents' identity (repair, moves, plans). */
  readonly access: ReplicaAccess;

  private constructor(handoff: HintedHandoff, repair: RepairService, mover: MemberMover, access: ReplicaAccess) {
    this.handoff = handoff;
    this.repair = repair;
    this.mover = mover;
    this.access = access;
  }

  static async open(parts: {
    self: string;
    options: Pick<AgentOptions, 'dataDir' | 'hhMaxSize' | 'hhMaxAge' | 'hhReplayRate' | 'repairInterval' | 'moveRate'>;
    influxdReachable: () => boolean;
    directory: PeerDirectory;
    peers: PeerClient;
    influxd: LocalPassthrough;
    agentAuthorization: string | undefined;
    placement: () => Placement;
    metadata: () => ClusterMetadata;
    metrics: AgentMetrics;
    logger: Logger;
    /** Whether this agent has applied the manager's newest document. */
    metadataCurrent: () => boolean;
    /** Writes operations to the cluster document. */
    applyOperations: (operations: MetadataOperation[]) => Promise<void>;
  }): Promise<Replication> {
    const available = (node: string) => (node === parts.self ? parts.influxdReachable() : parts.directory.isAvailable(node));
    const access = replicaAccess(parts);
    const repair = new RepairService({
      self: parts.self,
      placement: parts.placement,
      metadata: parts.metadata,
      access,
      available,
      logger: parts.logger.child({ component: 'repair' }),
      intervalMs: parts.options.repairInterval,
    });
    const handoff = await HintedHandoff.open({
      dir: join(parts.options.dataDir, 'hinted-handoff'),
      maxBytes: parts.options.hhMaxSize,
      maxAgeMs: parts.options.hhMaxAge,
      replayBytesPerSecond: parts.options.hhReplayRate,
      delivery: handoffDelivery({ ...parts, influxdReachable: parts.influxdReachable }),
      // A database this agent does not know (yet) goes to influxd, which judges it; no data members: all local.
      owns: (target, database, measurement) => {
        if (parts.metadata().databases[database] === undefined) return true;
        const owners = parts.placement().owners(database, measurement);
        return owners.length === 0 || owners.includes(target);
      },
      logger: parts.logger.child({ component: 'hinted-handoff' }),
      events: {
        replayed: (target, points, bytes) => parts.metrics.replayed(target, points, bytes),
        dropped: (target, reason, records) => {
          parts.metrics.dropped(target, reason, records);
          // Dropped hints leave the target without points another owner has: repair brings them over.
          if (reason === 'size' || reason === 'age') repair.owe(target);
        },
      },
    });
    parts.metrics.watchHandoff(() => handoff.status());
    const mover = new MemberMover({
      self: parts.self,
      metadata: parts.metadata,
      placement: parts.placement,
      available,
      isBehind: (node, database, measurement) => handoff.isBehind(node, database, measurement) || parts.directory.isBehind(node, database, measurement),
      laggingBehind: (revision) => parts.directory.laggingBehind(revision),
      current: parts.metadataCurrent,
      apply: parts.applyOperations,
      access,
      bytesPerSecond: parts.options.moveRate,
      logger: parts.logger.child({ component: 'moves' }),
    });
    return new Replication(handoff, repair, mover, access);
  }

  /** Replays the queues, runs repair passes and carries out moves until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.handoff.run(signal), this.repair.loop(signal), this.mover.run(signal)]);
  }

  async close(): Promise<void> {
    await this.handoff.close();
  }
}
