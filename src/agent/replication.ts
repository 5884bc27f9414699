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
import { replicaAccess } from './repair/replica-access.ts';
import { RepairService } from './repair/repair-service.ts';

/** What keeps replicas together: the hinted-handoff queues and anti-entropy repair. */
export class Replication {
  readonly handoff: HintedHandoff;
  readonly repair: RepairService;

  private constructor(handoff: HintedHandoff, repair: RepairService) {
    this.handoff = handoff;
    this.repair = repair;
  }

  static async open(parts: {
    self: string;
    options: Pick<AgentOptions, 'dataDir' | 'hhMaxSize' | 'hhMaxAge' | 'hhReplayRate' | 'repairInterval'>;
    influxdReachable: () => boolean;
    directory: PeerDirectory;
    peers: PeerClient;
    influxd: LocalPassthrough;
    agentAuthorization: string | undefined;
    placement: () => Placement;
    metadata: () => ClusterMetadata;
    metrics: AgentMetrics;
    logger: Logger;
  }): Promise<Replication> {
    const available = (node: string) => (node === parts.self ? parts.influxdReachable() : parts.directory.isAvailable(node));
    const repair = new RepairService({
      self: parts.self,
      placement: parts.placement,
      metadata: parts.metadata,
      access: replicaAccess(parts),
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
    return new Replication(handoff, repair);
  }

  /** Replays the queues and runs repair passes until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.handoff.run(signal), this.repair.loop(signal)]);
  }

  async close(): Promise<void> {
    await this.handoff.close();
  }
}
