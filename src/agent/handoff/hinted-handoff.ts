import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../shared/backoff.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { decodeHint, encodeHint, type Hint } from './hint.ts';
import { SegmentLog, type LogPosition, type LogRecord } from './segment-log.ts';
import { deliverInLanes, ownedLines, type HintDelivery } from './replay-lanes.ts';

export type { DeliveryOutcome, HintDelivery, ReplayBatch } from './replay-lanes.ts';

/** What the metrics and status see. */
export interface HandoffEvents {
  replayed(target: string, points: number, bytes: number): void;
  dropped(target: string, reason: 'age' | 'size' | 'unstorable' | 'corrupt', records: number, bytes: number): void;
}

export interface HintedHandoffOptions {
  /** `<data-dir>/hinted-handoff`. */
  dir: string;
  /** Bound of one target's queue on disk (`--hh-max-size`). */
  maxBytes: number;
  /** Hints older than this are dropped on replay (`--hh-max-age`). */
  maxAgeMs: number;
  /** Replay rate per target, bytes of line protocol per second (`--hh-replay-rate`). */
  replayBytesPerSecond: number;
  delivery: HintDelivery;
  /**
   * Whether `target` still owns (is written) the unit. Lines of units it no
   * longer owns (a move of the data members ended) are left out on replay:
   * its new owners were written or hinted themselves, and a replayed stray
   * would come back after the sweep dropped the unit.
   */
  owns?: (target: string, database: string, measurement: string) => boolean;
  logger: Logger;
  events?: HandoffEvents;
}

/** One target's queue. */
export interface QueueStatus {
  target: string;
  records: number;
  bytes: number;
  /** Age of the oldest hint not replayed yet, ms; undefined when empty or not known yet. */
  oldestAgeMs: number | undefined;
  /** Points replayed to the target since this agent started. */
  replayedPoints: number;
  /** Records dropped (age, size, unstorable, corrupt) since this agent started. */
  droppedRecords: number;
}

/** A batch joins consecutive hints up to this much line protocol. */
const REPLAY_BATCH_BYTES = 2 * 1024 * 1024;
/** How often a queue whose target is away checks the node list again. */
const AVAILABILITY_POLL_MS = 250;
/**
 * Longest wait between replays a target refused (e.g. its influxd is down
 * while its agent answers): short, so a target back from a restart gets its
 * queue within seconds; a refused replay is one cheap request.
 */
const REPLAY_RETRY_CAP_MS = 3000;
/**
 * Longest a hint waits for the answer of its owner's own write, still running
 * when the hint was kept. Writes under load answer within a second or two; a
 * longer hold only delays convergence after a fault by as much (the chaos
 * suite expects replicas equal within 30 s of healing).
 */
const HOLD_MAX_MS = 5_000;
/** How often the target itself is asked whether it is back. */
const PROBE_INTERVAL_MS = 250;

class TargetQueue {
  readonly target: string;
  readonly log: SegmentLog;
  /** How many queued hints touch each unit (`db\0measurement`, `db\0*` for unsplit batches). */
  readonly units = new Map<string, number>();
  oldestAt: number | undefined;
  /** Positions (`segment:offset`) of hints withdrawn before replay: skipped, already uncounted. */
  readonly withdrawn = new Set<string>();
  /** Positions of hints whose owner's own write still runs (→ when held): not replayed before it ends. */
  readonly held = new Map<string, number>();
  /** Since this process started. */
  replayedPoints = 0;
  droppedRecords = 0;
  #wake: (() => void) | undefined;

  constructor(target: string, log: SegmentLog) {
    this.target = target;
    this.log = log;
  }

  count(hint: Hint, delta: number): void {
    for (const unit of hint.units === '*' ? ['*'] : hint.units) {
      const key = `${hint.database}\u0000${unit}`;
      const next = (this.units.get(key) ?? 0) + delta;
      if (next > 0) this.units.set(key, next);
      else this.units.delete(key);
    }
    if (this.log.pendingRecords === 0) this.units.clear();
  }

  wake(): void {
    this.#wake?.();
  }

  /** Resolves at the next enqueue (or abort). */
  waitForWork(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * Hinted handoff: one durable queue per target node (segment-log.ts), filled
 * with write batches an owner did not store, and replayed to it in order once
 * it takes writes again, with backoff and a rate limit. Nothing queued is
 * acknowledged before it is on disk; a replay that cannot ever succeed
 * (database gone) or a hint past the age bound is dropped with an error log,
 * never blocking the queue.
 */
export class HintedHandoff {
  readonly #options: HintedHandoffOptions;
  readonly #queues = new Map<string, TargetQueue>();
  readonly #opening = new Map<string, Promise<TargetQueue>>();
  #signal: AbortSignal | undefined;
  readonly #loops: Promise<void>[] = [];

  private constructor(options: HintedHandoffOptions) {
    this.#options = options;
  }

  /** Opens every queue found under the directory (queues left by an earlier run). */
  static async open(options: HintedHandoffOptions): Promise<HintedHandoff> {
    const handoff = new HintedHandoff(options);
    await mkdir(options.dir, { recursive: true });
    for (const entry of await readdir(options.dir, { withFileTypes: true })) {
      if (entry.isDirectory()) await handoff.#queue(decodeURIComponent(entry.name));
    }
    return handoff;
  }

  async #queue(target: string): Promise<TargetQueue> {
    const existing = this.#queues.get(target);
    if (existing) return existing;
    let opening = this.#opening.get(target);
    if (!opening) {
      opening = (async () => {
        let queue!: TargetQueue;
        const pending: Hint[] = [];
        const dir = join(this.#options.dir, encodeURIComponent(target).replace(/\./g, '%2E'));
        const log = await SegmentLog.open(dir, {
          maxSegmentBytes: Math.max(1024 * 1024, Math.min(64 * 1024 * 1024, Math.floor(this.#options.maxBytes / 8))),
          onRecord: (payload) => {
            const hint = decodeHint(payload);
            if (hint) pending.push({ ...hint, body: Buffer.alloc(0) });
          },
        });
        queue = new TargetQueue(target, log);
        for (const hint of pending) queue.count(hint, 1);
        queue.oldestAt = pending[0]?.at;
        this.#queues.set(target, queue);
        if (this.#signal) this.#loops.push(this.#replayLoop(queue, this.#signal));
        return queue;
      })();
      this.#opening.set(target, opening);
    }
    return opening;
  }

  /**
   * Queues a hint for `target`; resolves once it is on disk, with a function
   * that withdraws it (the owner stored the batch after all). `stored`, for
   * an owner whose own write of the batch is still running, resolves with
   * whether that write stored it: the hint (and the queue behind it, which
   * keeps its order) is not replayed before then, and is withdrawn when it
   * did. Under load, when a replica is merely slower than the 20 ms grace,
   * this saves writing every such batch twice, and holding it twice in
   * memory (it was ~15 % of the batches at RF 2 in bench:write). Over the size
   * bound the oldest segments are dropped first (error log, metric); a hint
   * that cannot fit even then is refused (throws), so the write it belongs to
   * does not count it as kept.
   */
  async enqueue(target: string, hint: Hint, stored?: Promise<boolean>): Promise<() => void> {
    const queue = await this.#queue(target);
    const parts = encodeHint(hint);
    const size = parts[0].length + parts[1].length;
    if (size + 8 > this.#options.maxBytes) throw new Error(`hinted-handoff queue for ${target}: a batch of ${size} bytes is over --hh-max-size`);
    while (queue.log.pendingBytes + size + 8 > this.#options.maxBytes && queue.log.pendingRecords > 0) {
      const dropped = await queue.log.dropOldest();
      for (const key of queue.withdrawn) {
        const [segment, offset] = key.split(':').map(Number) as [number, number];
        if (queue.log.isConsumed({ segment, offset })) queue.withdrawn.delete(key);
      }
      this.#options.logger.error({ target, records: dropped.records, bytes: dropped.bytes, maxBytes: this.#options.maxBytes }, 'hinted-handoff queue full: oldest hints dropped (anti-entropy repair restores them from the other replicas)');
      this.#dropped(queue, 'size', dropped.records, dropped.bytes);
      if (dropped.records === 0 && dropped.bytes === 0) break;
    }
    const [position] = await queue.log.append([parts]);
    queue.count(hint, 1);
    queue.oldestAt ??= hint.at;
    const withdraw = () => this.#withdraw(queue, position!, hint);
    if (stored) {
      const key = positionKey(position!);
      queue.held.set(key, performance.now());
      void stored
        .then((yes) => yes && withdraw(), () => undefined)
        .finally(() => {
          queue.held.delete(key);
          queue.wake();
        });
    }
    queue.wake();
    return withdraw;
  }

  /**
   * The owner stored the batch after all (its request was still running when
   * the client was answered): the hint is skipped on replay, and reads stop
   * avoiding the owner for it at once. Forgotten on restart (the hint is then
   * replayed: influxd stores the same point once).
   */
  #withdraw(queue: TargetQueue, position: LogPosition, hint: Hint): void {
    const key = positionKey(position);
    if (queue.log.isConsumed(position) || queue.withdrawn.has(key)) return;
    queue.withdrawn.add(key);
    queue.count(hint, -1);
  }

  /** Replays every queue until aborted (queues created later get their loop at once). */
  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    for (const queue of this.#queues.values()) this.#loops.push(this.#replayLoop(queue, signal));
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.all(this.#loops);
  }

  /** Every queue's size and age. */
  status(): QueueStatus[] {
    const now = Date.now();
    return [...this.#queues.values()]
      .map((queue) => ({
        target: queue.target,
        records: queue.log.pendingRecords,
        bytes: queue.log.pendingBytes,
        oldestAgeMs: queue.log.pendingRecords > 0 && queue.oldestAt !== undefined ? now - queue.oldestAt : undefined,
        replayedPoints: queue.replayedPoints,
        droppedRecords: queue.droppedRecords,
      }))
      .sort((a, b) => (a.target < b.target ? -1 : 1));
  }

  /** The units each target has queued hints for: `{target: {database: [measurement...] | '*'}}`, at most `limit` names per database. */
  behind(limit = 1000): Record<string, Record<string, string[] | '*'>> {
    const out: Record<string, Record<string, string[] | '*'>> = {};
    for (const queue of this.#queues.values()) {
      if (queue.log.pendingRecords === 0) continue;
      const databases: Record<string, string[] | '*'> = {};
      for (const key of queue.units.keys()) {
        const [database, measurement] = key.split('\u0000') as [string, string];
        const current = databases[database];
        if (current === '*') continue;
        if (measurement === '*' || (current?.length ?? 0) >= limit) databases[database] = '*';
        else databases[database] = [...(current ?? []), measurement];
      }
      out[queue.target] = databases;
    }
    return out;
  }

  /** Whether `target` has queued hints for the unit. */
  isBehind(target: string, database: string, measurement: string): boolean {
    const queue = this.#queues.get(target);
    if (!queue || queue.log.pendingRecords === 0) return false;
    return queue.units.has(`${database}\u0000${measurement}`) || queue.units.has(`${database}\u0000*`);
  }

  async #replayLoop(queue: TargetQueue, signal: AbortSignal): Promise<void> {
    const { delivery, logger } = this.#options;
    let failures = 0;
    let nextAllowed = 0;
    let probedAt = -Infinity;
    while (!signal.aborted) {
      if (queue.log.pendingRecords === 0) {
        queue.oldestAt = undefined;
        await queue.waitForWork(signal);
        continue;
      }
      if (!delivery.available(queue.target)) {
        // The node list is polled often (a local check), and the target itself is asked (GET /readyz)
        // as often, so replay starts within moments of its return.
        let back = false;
        if (delivery.probe && performance.now() - probedAt >= PROBE_INTERVAL_MS) {
          probedAt = performance.now();
          back = await delivery.probe(queue.target, signal);
        }
        if (back) logger.info({ target: queue.target }, 'target answers again; replaying its queue');
        if (!back) {
          await sleep(AVAILABILITY_POLL_MS, undefined, { signal }).catch(() => undefined);
          continue;
        }
      }
      if (isHeld(queue, queue.log.cursor)) {
        await waitForHeld(queue, signal);
        continue;
      }
      let records: LogRecord[];
      try {
        records = await queue.log.read(512, REPLAY_BATCH_BYTES);
      } catch (err) {
        logger.error({ target: queue.target, reason: messageOf(err) }, 'cannot read the hinted-handoff queue');
        await sleep(5000, undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (records.length === 0) {
        await sleep(200, undefined, { signal }).catch(() => undefined);
        continue;
      }
      // Replayed in order: never past a hint whose owner may still store it.
      const firstHeld = records.findIndex((record) => isHeld(queue, startOf(record)));
      if (firstHeld === 0) {
        await waitForHeld(queue, signal);
        continue;
      }
      if (firstHeld > 0) records = records.slice(0, firstHeld);
      queue.oldestAt = decodeHint(records[0]!.payload)?.at ?? queue.oldestAt;
      const startedAt = performance.now();
      const outcome = await this.#replayRecords(queue, records, signal);
      if (outcome.retry) {
        if (failures === 0 || failures % 10 === 9) logger.warn({ target: queue.target, reason: outcome.retry, queued: queue.log.pendingRecords }, 'hinted-handoff replay failed; retrying');
        await sleep(Math.max(200, backoffDelay(failures++, { baseMs: 500, capMs: REPLAY_RETRY_CAP_MS })), undefined, { signal }).catch(() => undefined);
        continue;
      }
      failures = 0;
      // The rate limit: the next batch waits until this one's bytes fit the budget, counted from
      // when it was sent (the time it took counts toward it).
      const now = performance.now();
      nextAllowed = Math.max(startedAt, nextAllowed) + (outcome.bytes / this.#options.replayBytesPerSecond) * 1000;
      if (nextAllowed - now > 1) await sleep(nextAllowed - now, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Replays records in order, joined into batches; stops at the first batch to retry. */
  async #replayRecords(queue: TargetQueue, records: LogRecord[], signal: AbortSignal): Promise<{ bytes: number; retry?: string }> {
    const { delivery, logger, events } = this.#options;
    let bytes = 0;
    for (let i = 0; i < records.length && !signal.aborted; ) {
      if (queue.withdrawn.has(positionKey(startOf(records[i]!)))) {
        await this.#consume(queue, [records[i]!], []);
        i++;
        continue;
      }
      const first = decodeHint(records[i]!.payload);
      if (!first) {
        await this.#consume(queue, [records[i]!], []);
        logger.error({ target: queue.target }, 'unreadable hinted-handoff record dropped');
        this.#dropped(queue, 'corrupt', 1, records[i]!.size);
        i++;
        continue;
      }
      const group: LogRecord[] = [records[i]!];
      const hints: Hint[] = [first];
      let size = first.body.length;
      for (let j = i + 1; j < records.length; j++) {
        const next = queue.withdrawn.has(positionKey(startOf(records[j]!))) ? undefined : decodeHint(records[j]!.payload);
        if (!next || next.database !== first.database || next.retentionPolicy !== first.retentionPolicy || next.precision !== first.precision || size + next.body.length > REPLAY_BATCH_BYTES) break;
        group.push(records[j]!);
        hints.push(next);
        size += next.body.length;
      }
      const diskBytes = group.reduce((sum, record) => sum + record.size, 0);
      if (first.at < Date.now() - this.#options.maxAgeMs) {
        logger.error({ target: queue.target, database: first.database, records: group.length, queuedAt: new Date(first.at).toISOString() }, 'hinted-handoff hints older than --hh-max-age dropped (anti-entropy repair restores them from the other replicas)');
        this.#dropped(queue, 'age', group.length, diskBytes);
      } else {
        const owns = this.#options.owns;
        const owned = owns ? (measurement: string) => owns(queue.target, first.database, measurement) : undefined;
        const bodies = owned ? ownedLines(hints.map((hint) => hint.body), owned) : hints.map((hint) => hint.body);
        const outcome = bodies.length === 0 ? ({ result: 'ok' } as const) : await deliverInLanes(delivery, queue.target, { database: first.database, retentionPolicy: first.retentionPolicy, precision: first.precision }, bodies, signal);
        if (outcome.result === 'retry') return { bytes, retry: outcome.reason };
        if (outcome.result === 'drop') {
          logger.error({ target: queue.target, database: first.database, records: group.length, reason: outcome.reason }, 'hinted-handoff batch can never be stored; dropped');
          this.#dropped(queue, 'unstorable', group.length, diskBytes);
        } else {
          const points = bodies.reduce((sum, body) => sum + countLines(body), 0);
          queue.replayedPoints += points;
          events?.replayed(queue.target, points, size);
        }
        bytes += size;
      }
      await this.#consume(queue, group, hints);
      i += group.length;
    }
    return { bytes };
  }

  #dropped(queue: TargetQueue, reason: 'age' | 'size' | 'unstorable' | 'corrupt', records: number, bytes: number): void {
    queue.droppedRecords += records;
    this.#options.events?.dropped(queue.target, reason, records, bytes);
  }

  /** Moves past `records`; `hints` (in step with them) stop counting, unless withdrawn (uncounted then). */
  async #consume(queue: TargetQueue, records: LogRecord[], hints: Hint[]): Promise<void> {
    await queue.log.consume(records.at(-1)!.next, records.length, records.reduce((sum, record) => sum + record.size, 0));
    for (const [index, record] of records.entries()) {
      const withdrawn = queue.withdrawn.delete(positionKey(startOf(record)));
      const hint = hints[index];
      if (hint && !withdrawn) queue.count(hint, -1);
    }
    if (queue.log.pendingRecords === 0) queue.oldestAt = undefined;
  }

  /** Stops taking hints and closes every queue (appends in progress finish first). */
  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.log.close()));
  }
}

const positionKey = (position: LogPosition) => `${position.segment}:${position.offset}`;

/** Whether the hint at `position` waits for its owner's own write (for at most HOLD_MAX_MS). */
function isHeld(queue: TargetQueue, position: LogPosition): boolean {
  const since = queue.held.get(positionKey(position));
  return since !== undefined && performance.now() - since < HOLD_MAX_MS;
}

/** Until a held hint is settled (the queue is woken), HOLD_MAX_MS at most. */
async function waitForHeld(queue: TargetQueue, signal: AbortSignal): Promise<void> {
  const oldest = Math.min(...queue.held.values());
  const cap = sleep(Math.max(1, HOLD_MAX_MS - (performance.now() - oldest)), undefined, { signal }).catch(() => undefined);
  await Promise.race([queue.waitForWork(signal), cap]);
}
/** Where a record starts (a record never spans segments). */
const startOf = (record: LogRecord): LogPosition => ({ segment: record.next.segment, offset: record.next.offset - record.size });

function countLines(body: Buffer): number {
  let lines = 0;
  for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++;
  return body.length > 0 && body.at(-1) !== 10 ? lines + 1 : lines;
}
