/**
 * How a hinted-handoff queue hands its hints to their target: the delivery
 * port the agent wires, and the split of one replayed batch into concurrent
 * lanes (hinted-handoff.ts decides what to replay and when).
 */
import { messageOf } from '../../shared/errors.ts';
import { joinChunks, splitLinesByMeasurement } from '../proxy/line-protocol-splitter.ts';

/** How a replayed batch ended at its target. */
export type DeliveryOutcome = { result: 'ok' } | { result: 'drop'; reason: string } | { result: 'retry'; reason: string };

/** A batch of hints for one target, joined (same database, retention policy and precision). */
export interface ReplayBatch {
  database: string;
  retentionPolicy: string | null;
  precision: string | null;
  body: Buffer;
}

/** Where hints go on replay (the agent wires peers and its own influxd). */
export interface HintDelivery {
  /** Whether the target takes writes now (alive at the manager; this node: influxd reachable). */
  available(target: string): boolean;
  /**
   * Asks a target that is not available whether it is back (its own
   * readiness), so replay starts before the node list says so.
   */
  probe?(target: string, signal: AbortSignal): Promise<boolean>;
  /** 'ok': stored (lines influxd refuses are its verdict); 'drop': can never be stored (database gone); 'retry': later. */
  deliver(target: string, batch: ReplayBatch, signal: AbortSignal): Promise<DeliveryOutcome>;
}

/** Concurrent requests one replayed batch is split into (by measurement), like a client writing with several connections. */
const REPLAY_LANES = 4;
/** Smaller batches go whole. */
const LANE_MIN_BYTES = 256 * 1024;

/**
 * Delivers consecutive hints' bodies as up to {@link REPLAY_LANES}
 * concurrent requests, their lines split by measurement (each measurement in
 * one lane, so the writes of one point keep their queue order). Small batches,
 * and any with a line the splitter refuses (influxd judges it), go whole.
 * The worst outcome wins: a lane to retry retries the whole batch (lanes
 * already stored are written again, which influxd takes as the same points),
 * a lane that can never be stored drops it.
 */
export async function deliverInLanes(delivery: HintDelivery, target: string, batch: Omit<ReplayBatch, 'body'>, bodies: Buffer[], signal: AbortSignal): Promise<DeliveryOutcome> {
  const deliverOne = async (body: Buffer): Promise<DeliveryOutcome> => {
    try {
      return await delivery.deliver(target, { ...batch, body }, signal);
    } catch (err) {
      return { result: 'retry', reason: messageOf(err) };
    }
  };
  const whole = () => (bodies.length === 1 ? bodies[0]! : Buffer.concat(bodies.map((body) => (body.at(-1) === 10 ? body : Buffer.concat([body, Buffer.from('\n')])))));
  if (bodies.reduce((sum, body) => sum + body.length, 0) < LANE_MIN_BYTES) return deliverOne(whole());
  const laneOf = new Map<string, number>();
  const lanes: Buffer[][] = Array.from({ length: REPLAY_LANES }, () => []);
  for (const body of bodies) {
    const split = splitLinesByMeasurement(body);
    if (split.invalid.length > 0) return deliverOne(whole());
    for (const group of split.groups.values()) {
      let lane = laneOf.get(group.measurement);
      if (lane === undefined) laneOf.set(group.measurement, (lane = laneOf.size % REPLAY_LANES));
      lanes[lane]!.push(group.body);
    }
  }
  const used = lanes.filter((chunks) => chunks.length > 0);
  if (used.length < 2) return deliverOne(whole());
  const outcomes = await Promise.all(used.map((chunks) => deliverOne(joinChunks(chunks))));
  return outcomes.find((outcome) => outcome.result === 'retry') ?? outcomes.find((outcome) => outcome.result === 'drop') ?? { result: 'ok' };
}

/**
 * The lines of units the target still owns. Bodies the splitter refuses go
 * whole (influxd judges their lines); nothing is left when no unit is owned.
 */
export function ownedLines(bodies: Buffer[], owned: (measurement: string) => boolean): Buffer[] {
  const kept: Buffer[] = [];
  for (const body of bodies) {
    const split = splitLinesByMeasurement(body);
    if (split.invalid.length > 0) {
      kept.push(body);
      continue;
    }
    const groups = [...split.groups.values()];
    if (groups.every((group) => owned(group.measurement))) kept.push(body);
    else for (const group of groups) if (owned(group.measurement)) kept.push(group.body);
  }
  return kept;
}
