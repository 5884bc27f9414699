import { setTimeout as sleep } from 'node:timers/promises';
import { errorTextOf } from '../../shared/http/json-http.ts';
import { isRecoverableStatus } from '../../shared/recoverable.ts';
import type { Hint } from '../handoff/hint.ts';

export type Consistency = 'any' | 'one' | 'quorum' | 'all';

/** How many of `owners` must store a batch for the write to count. */
export function requiredAcks(consistency: Consistency, owners: number): number {
  if (consistency === 'all') return owners;
  if (consistency === 'quorum') return Math.floor(owners / 2) + 1;
  return 1;
}

/** An owner's answer to one batch, as influxd (or its agent) gave it. */
export interface OwnerAnswer {
  owner: string;
  status: number;
  body: string;
}

/**
 * What an answer means for the batch: stored (a 400 partial write stored the
 * valid lines), refused (influxd's verdict on the request: auth, a missing
 * retention policy...), or failed (the owner could not store it now, or lags
 * behind the cluster's metadata: a queued copy will reach it).
 */
export function classify(answer: OwnerAnswer): 'stored' | 'refused' | 'failed' {
  if (answer.status === 204 || answer.status === 200 || answer.status === 400) return 'stored';
  if (answer.status === 404 && /database not found/.test(answer.body)) return 'failed';
  if (/retention policy not found/.test(answer.body)) return 'refused';
  if (answer.status >= 401 && !isRecoverableStatus(answer.status)) return 'refused';
  return 'failed';
}

/** One batch of a write: its owners and the bytes they get. */
export interface Batch {
  owners: string[];
  payload: Buffer;
  /** Measurements in the payload, or '*' when it was not split. */
  units: string[] | '*';
}

/** Where the fan-out sends a batch and keeps the copies owners missed. */
export interface FanOutPorts {
  /** Writes the batch to one owner; resolves with its answer (a failure to reach it is a 503 answer). */
  write(owner: string, payload: Buffer): Promise<OwnerAnswer>;
  /** Whether the client may write to the database, asked without side effects (when no owner has shown it). */
  mayWrite(): Promise<boolean>;
  /**
   * Queues a copy for an owner; resolves once it is on disk, with a function
   * that withdraws it (the owner stored the batch after all); throws when it
   * cannot be kept. `stored` is given for an owner whose write is still
   * running: it resolves with whether that write stored the batch, and the
   * copy is not replayed before it is known to be needed.
   */
  keep(owner: string, hint: Omit<Hint, 'at'>, stored?: Promise<boolean>): Promise<() => void>;
  /** Copies kept for owners are of this write: database, retention policy, precision. */
  readonly target: { database: string; retentionPolicy: string | null; precision: string | null };
}

/** What became of one batch. */
export interface BatchOutcome {
  batch: Batch;
  answers: OwnerAnswer[];
  stored: number;
  /** Owners that get a queued copy (hinted handoff). */
  kept: string[];
  needed: number;
}

/**
 * How long, once a batch has its required copies, the other owners may still
 * take before they are left to their queue: a sick replica must not slow
 * the client down (target: within 50 ms of the fastest owner).
 */
const STRAGGLER_GRACE_MS = 20;

/**
 * Sends every batch to its owners and decides as soon as each batch is
 * decided: when it has the copies `consistency` asks for (plus a short grace
 * for the rest), or when every owner answered. An owner that failed, or is
 * still busy at that moment, gets the batch in its hinted-handoff queue (on
 * disk before the client is answered): a slow replica costs the client
 * nothing, and every owner converges, even when the write is refused for
 * missing copies. `any` counts kept copies too. Copies are kept only once
 * the client's right to write is established (an owner stored it, or
 * influxd says so), since they are replayed with the agents' own identity.
 */
export async function fanOut(batches: Batch[], consistency: Consistency, ports: FanOutPorts): Promise<BatchOutcome[]> {
  let allowed: Promise<boolean> | undefined;
  const mayKeep = (answers: readonly OwnerAnswer[]) => {
    if (answers.some((answer) => classify(answer) === 'stored')) return Promise.resolve(true);
    allowed ??= ports.mayWrite().catch(() => false);
    return allowed;
  };
  const settledAnswers = batches.map(() => [] as OwnerAnswer[]);
  const pending = batches.map((batch, index) =>
    batch.owners.map((owner) =>
      ports.write(owner, batch.payload).then((answer) => {
        settledAnswers[index]!.push(answer);
        return answer;
      }),
    ),
  );
  const outcomes = await Promise.all(
    batches.map(async (batch, index) => {
      const needed = requiredAcks(consistency, batch.owners.length);
      const answers = await untilDecided(pending[index]!, settledAnswers[index]!, needed);
      const answered = new Set(answers.map((answer) => answer.owner));
      const failed = answers.filter((answer) => classify(answer) === 'failed').map((answer) => answer.owner);
      const busy = batch.owners.filter((owner) => !answered.has(owner));
      return { batch, answers, failed, busy, needed };
    }),
  );
  const everyAnswer = outcomes.flatMap((outcome) => outcome.answers);
  const results: BatchOutcome[] = [];
  for (const [index, { batch, answers, failed, busy, needed }] of outcomes.entries()) {
    const missing = [...failed, ...busy];
    const kept: string[] = [];
    if (missing.length > 0 && (await mayKeep(everyAnswer))) {
      const hint = { database: ports.target.database, retentionPolicy: ports.target.retentionPolicy, precision: ports.target.precision, units: batch.units, body: batch.payload };
      await Promise.all(
        missing.map(async (owner) => {
          try {
            const running = busy.includes(owner) ? pending[index]![batch.owners.indexOf(owner)]!.then((answer) => classify(answer) === 'stored', () => false) : undefined;
            const withdraw = await ports.keep(owner, hint, running);
            kept.push(owner);
            // A busy owner that stores the batch after all needs no replay (and is not behind for it).
            if (busy.includes(owner)) void pending[index]![batch.owners.indexOf(owner)]!.then((answer) => classify(answer) === 'stored' && withdraw(), () => undefined);
          } catch {
            // Not kept (queue refused it): the owner stays without this batch until repair; counted as missing.
          }
        }),
      );
    }
    const stored = answers.filter((answer) => classify(answer) === 'stored').length;
    results.push({ batch, answers, stored, kept, needed });
  }
  return results;
}

/**
 * The answers of a batch once it is decided: every owner answered, or the
 * stored ones reached `needed` and the grace for the others ran out.
 */
async function untilDecided(pending: Promise<OwnerAnswer>[], settled: OwnerAnswer[], needed: number): Promise<OwnerAnswer[]> {
  const all = Promise.all(pending).then(() => undefined);
  const enough = new Promise<void>((resolve) => {
    const check = () => {
      if (settled.filter((answer) => classify(answer) === 'stored').length >= needed) resolve();
    };
    for (const promise of pending) void promise.then(check);
  });
  await Promise.race([all, enough]);
  if (settled.length < pending.length) await Promise.race([all, sleep(STRAGGLER_GRACE_MS)]);
  return [...settled];
}

/** The text of an owner's error answer. */
export function answerText(answer: OwnerAnswer): string {
  return errorTextOf(answer.body);
}
