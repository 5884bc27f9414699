import { sendInfluxJson, sendInfluxText, sendNoContent } from './influx-answer.ts';
import type { ServerResponse } from 'node:http';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { PeerDirectory } from '../peer/peer-directory.ts';
import type { Placement } from '../../cluster/placement.ts';
import { NODE_LOCAL_DATABASE, replicationFactorOf } from '../../cluster/placement.ts';
import { clientAuthorization, type InfluxRequest } from '../influxd/influx-request.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import type { Hint } from '../handoff/hint.ts';
import { countLines, joinChunks, splitLinesByMeasurement } from './line-protocol-splitter.ts';
import { combinedWriteError } from './write-errors.ts';
import { decodeWriteBody, WriteBodyError } from '../influxd/write-body.ts';
import { answerText, classify, fanOut, type Batch, type BatchOutcome, type Consistency, type OwnerAnswer } from './write-fanout.ts';
import { nowNanoseconds, stampMissingTimestamps, timestampIn } from './write-timestamps.ts';

const CONSISTENCIES = new Set<string>(['any', 'one', 'quorum', 'all']);
/**
 * Requests to one owner unanswered for over STUCK_AFTER_MS beyond which its
 * batches go straight to its queue (a blackholed peer would otherwise collect
 * sockets and memory). Quick requests never count, however many.
 */
const MAX_STUCK_PER_OWNER = 8;
const STUCK_AFTER_MS = 1000;

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) sendNoContent(res);
  else sendInfluxJson(res, status, body);
}

export interface WriteHandlerOptions {
  self: string;
  placement: () => Placement;
  metadata: () => ClusterMetadata;
  /** For a database not known here: whether it exists in the cluster after all (then it is applied here before this returns). */
  awaitDatabase?: (database: string, signal: AbortSignal) => Promise<boolean>;
  directory: PeerDirectory;
  peers: PeerClient;
  influxd: LocalPassthrough;
  /** Keeps a batch for an owner that did not store it (hinted handoff); resolves once it is on disk. */
  keep?: (owner: string, hint: Hint, stored?: Promise<boolean>) => Promise<() => void>;
  maxBodyBytes: number;
  /** Told, once its batches went out, how many points (lines) and bytes a write sent on to its owners. */
  onWritten?: (points: number, bytes: number) => void;
  logger: Logger;
}

/**
 * `POST /write`: stamps points that have no timestamp, splits the body by
 * measurement, sends each group to the owners of its (database,
 * measurement) — the local influxd directly, other nodes through their peer
 * API — and answers per `consistency` (default one) as soon as that is
 * decided (write-fanout.ts). Owners that miss a batch get it from their
 * hinted-handoff queue. Never reports success for data nobody stored or kept.
 */
export class WriteHandler {
  readonly #options: WriteHandlerOptions;
  /** Per owner, when each write in flight to it started (request number → performance.now()). */
  readonly #inFlight = new Map<string, Map<number, number>>();
  #requests = 0;

  constructor(options: WriteHandlerOptions) {
    this.#options = options;
  }

  /** Whether this node is the only owner of every unit: it is the only data member, or there are none yet. */
  onlyLocalOwner(): boolean {
    const members = this.#options.placement().members;
    return members.length === 0 || (members.length === 1 && members[0] === this.#options.self);
  }

  /**
   * Whether a write can be streamed to the local influxd untouched: this node
   * is the only owner of everything in the database (a single member, no
   * members yet, or `_internal`) and the parameters are ones influxd judges
   * the same way. Then nothing is buffered or split.
   */
  streamsLocally(params: URLSearchParams, contentLength: number | undefined): boolean {
    const database = params.get('db');
    if (!database || !CONSISTENCIES.has((params.get('consistency') ?? 'one').toLowerCase())) return false;
    if (contentLength === undefined || contentLength > this.#options.maxBodyBytes) return false;
    if (database === NODE_LOCAL_DATABASE) return true;
    if (!(database in this.#options.metadata().databases)) return false;
    return this.onlyLocalOwner();
  }

  async handle(request: InfluxRequest, res: ServerResponse): Promise<void> {
    const { params } = request;
    const database = params.get('db');
    if (!database) return send(res, 400, { error: 'database is required' });
    const consistency = (params.get('consistency') ?? 'one').toLowerCase();
    if (!CONSISTENCIES.has(consistency)) return send(res, 400, { error: `invalid consistency "${consistency}": use any, one, quorum or all` });
    if (database !== NODE_LOCAL_DATABASE && !(database in this.#options.metadata().databases)) {
      // Created a moment ago through another agent (read-your-DDL)? Ask the manager before answering 404.
      const known = (await this.#options.awaitDatabase?.(database, request.signal)) ?? false;
      if (!known) return send(res, 404, { error: `database not found: "${database}"` });
    }
    let body: Buffer;
    try {
      body = await decodeWriteBody(request.body, request.forwardHeaders['content-encoding'], this.#options.maxBodyBytes);
    } catch (err) {
      if (!(err instanceof WriteBodyError)) throw err;
      return send(res, err.httpStatus, { error: err.influxdText });
    }
    // One time for every point without one, before the copies part ways.
    const stamp = timestampIn(params.get('precision'), nowNanoseconds());
    if (stamp !== undefined) body = stampMissingTimestamps(body, stamp);
    const forwardParams = new URLSearchParams();
    for (const name of ['db', 'rp', 'precision']) {
      const value = params.get(name);
      if (value !== null) forwardParams.set(name, value);
    }
    const authorization = clientAuthorization(request)['authorization'];
    const { batches, invalid, points } = this.#batches(database, body);

    const outcomes = await fanOut(batches, consistency as Consistency, {
      target: { database, retentionPolicy: params.get('rp'), precision: params.get('precision') },
      // Not cancelled when the client leaves: a copy cut short on one owner would leave the replicas apart.
      write: (owner, payload) => this.#writeTo(owner, forwardParams, payload, authorization),
      mayWrite: async () => (await this.#options.influxd.write(new URLSearchParams({ db: database }), Buffer.alloc(0), authorization, request.signal)).status === 204,
      keep: async (owner, hint, stored) => {
        if (!this.#options.keep) throw new Error('no hinted handoff');
        return this.#options.keep(owner, { ...hint, at: Date.now() }, stored);
      },
    });
    this.#options.onWritten?.(points, batches.reduce((bytes, batch) => bytes + batch.payload.length, 0));
    this.#answer(res, database, consistency, outcomes, invalid, body);
  }

  /**
   * The write's batches: one per owner set (the body unsplit when every
   * member owns every unit), and the points (lines) they hold together.
   */
  #batches(database: string, body: Buffer): { batches: Batch[]; invalid: ReturnType<typeof splitLinesByMeasurement>['invalid']; points: number } {
    const placement = this.#options.placement();
    const members = placement.members;
    // When every member owns every unit (RF >= members, or no members yet) nothing needs
    // splitting: the body goes as it came to all of them, and influxd reports bad lines itself.
    if (database === NODE_LOCAL_DATABASE || members.length === 0 || replicationFactorOf(placement.metadata, database) >= members.length) {
      const owners = database === NODE_LOCAL_DATABASE || members.length === 0 ? [this.#options.self] : [...members];
      return { batches: [{ owners, payload: body, units: '*' }], invalid: [], points: countLines(body) };
    }
    const split = splitLinesByMeasurement(body);
    const byOwners = new Map<string, { owners: string[]; chunks: Buffer[]; units: string[] }>();
    for (const group of split.groups.values()) {
      const owners = placement.owners(database, group.measurement);
      const targets = owners.length === 0 ? [this.#options.self] : owners;
      const key = targets.join('\u0000');
      let batch = byOwners.get(key);
      if (!batch) byOwners.set(key, (batch = { owners: targets, chunks: [], units: [] }));
      batch.chunks.push(group.body);
      batch.units.push(group.measurement);
    }
    // One owner set and no line refused here (the usual case): the body as it came, no copy.
    const whole = byOwners.size === 1 && split.invalid.length === 0;
    const batches = [...byOwners.values()].map((batch) => ({ owners: batch.owners, payload: whole ? body : joinChunks(batch.chunks), units: batch.units }));
    return { batches, invalid: split.invalid, points: split.lineCount - split.invalid.length };
  }

  #answer(res: ServerResponse, database: string, consistency: string, outcomes: BatchOutcome[], invalid: ReturnType<typeof splitLinesByMeasurement>['invalid'], body: Buffer): void {
    const answers = outcomes.flatMap((outcome) => outcome.answers);
    // influxd's verdict on the request (auth, a missing retention policy...) is the answer, as influxd gave it.
    const refusals = answers.filter((answer) => classify(answer) === 'refused');
    const authRefusal = refusals.find((answer) => answer.status === 401 || answer.status === 403);
    if (authRefusal) return relay(res, authRefusal);
    if (refusals.length > 0 && refusals.length === answers.length) return relay(res, refusals[0]!);
    // Every owner lags the metadata or says the database is gone: influxd's 404.
    if (answers.length > 0 && answers.every((answer) => answer.status === 404)) return relay(res, answers[0]!);
    const failures: string[] = [];
    const partialErrors: string[] = [];
    for (const { batch, answers: batchAnswers, stored, kept, needed } of outcomes) {
      // Every owner of a batch refuses the same lines: one report per batch.
      const partial = batchAnswers.find((answer) => answer.status === 400);
      if (partial) partialErrors.push(answerText(partial));
      const counted = consistency === 'any' ? stored + kept.length : stored;
      if (counted < needed) {
        const why = batchAnswers.filter((answer) => classify(answer) !== 'stored').map((answer) => `${answer.owner}: ${answerText(answer)}`);
        const queued = kept.length > 0 ? `; queued for ${kept.join(', ')}` : '';
        failures.push(`${stored} of ${batch.owners.length} owners stored the batch, consistency ${consistency} needs ${needed} (${why.join('; ')}${queued})`);
      }
    }
    if (failures.length > 0) {
      this.#options.logger.warn({ database, failures }, 'write failed consistency');
      return send(res, 503, { error: `write failed: ${failures.join('; ')}` });
    }
    if (invalid.length > 0 || partialErrors.length > 0) {
      // No owner stored a point: every answer is a 400 that is not a partial write (or there was nothing to send).
      const nothingStored = answers.every((answer) => answer.status === 400 && !answerText(answer).startsWith('partial write:'));
      return send(res, 400, { error: combinedWriteError(body, invalid, partialErrors, nothingStored) });
    }
    send(res, 204);
  }

  async #writeTo(owner: string, params: URLSearchParams, payload: Buffer, authorization: string | undefined): Promise<OwnerAnswer> {
    // Only writes an owner has left unanswered for a while count: a healthy owner under load has
    // many in flight, each answered quickly; a hung one collects slow ones.
    const started = performance.now();
    const inFlight = this.#inFlight.get(owner) ?? new Map<number, number>();
    this.#inFlight.set(owner, inFlight);
    let stuck = 0;
    for (const since of inFlight.values()) if (started - since > STUCK_AFTER_MS) stuck++;
    if (stuck >= MAX_STUCK_PER_OWNER) return { owner, status: 503, body: JSON.stringify({ error: `node ${owner} has ${stuck} writes unanswered for over ${STUCK_AFTER_MS} ms` }) };
    const key = this.#requests++;
    inFlight.set(key, started);
    try {
      if (owner === this.#options.self) return { owner, ...(await this.#options.influxd.write(params, payload, authorization)) };
      const peer = await this.#options.directory.resolve(owner);
      if (!peer) return { owner, status: 503, body: JSON.stringify({ error: `node ${owner} is not known to the manager` }) };
      if (!this.#options.directory.isAvailable(owner)) return { owner, status: 503, body: JSON.stringify({ error: `node ${owner} is not alive` }) };
      return { owner, ...(await this.#options.peers.write(peer.address, params, payload, authorization)) };
    } catch (err) {
      if (owner !== this.#options.self) this.#options.directory.markDown(owner);
      return { owner, status: 503, body: JSON.stringify({ error: messageOf(err) }) };
    } finally {
      inFlight.delete(key);
    }
  }
}

function relay(res: ServerResponse, answer: OwnerAnswer): void {
  sendInfluxText(res, answer.status, answer.body);
}
