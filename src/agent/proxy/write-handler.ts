import type { ServerResponse } from 'node:http';
import { messageOf } from '../../shared/errors.ts';
import { errorTextOf } from '../../shared/http/json-http.ts';
import { isRecoverableStatus } from '../../shared/recoverable.ts';
import type { Logger } from '../../shared/logging.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { PeerDirectory } from '../peer/peer-directory.ts';
import type { Placement } from '../../cluster/placement.ts';
import { NODE_LOCAL_DATABASE, replicationFactorOf } from '../../cluster/placement.ts';
import { clientAuthorization, type InfluxRequest } from '../influxd/influx-request.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import { describeInvalidLines, joinChunks, splitLinesByMeasurement } from './line-protocol-splitter.ts';
import { decodeWriteBody } from '../influxd/write-body.ts';

export type Consistency = 'any' | 'one' | 'quorum' | 'all';
const CONSISTENCIES = new Set<string>(['any', 'one', 'quorum', 'all']);

/** How many of `owners` must store a batch for the write to count. */
function requiredAcks(consistency: Consistency, owners: number): number {
  if (consistency === 'all') return owners;
  if (consistency === 'quorum') return Math.floor(owners / 2) + 1;
  return 1;
}

interface OwnerAnswer {
  owner: string;
  status: number;
  body: string;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
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
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * `POST /write`: splits the body by measurement, sends each group to the
 * owners of its (database, measurement) — the local influxd directly, other
 * nodes through their peer API — and answers per `consistency` (default
 * one). Never reports success for data nobody stored.
 */
export class WriteHandler {
  readonly #options: WriteHandlerOptions;

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
      const tooLarge = (err as { code?: string }).code === 'TOO_LARGE';
      return send(res, tooLarge ? 413 : 400, { error: messageOf(err) });
    }
    const forwardParams = new URLSearchParams();
    for (const name of ['db', 'rp', 'precision']) {
      const value = params.get(name);
      if (value !== null) forwardParams.set(name, value);
    }
    const authorization = clientAuthorization(request)['authorization'];
    const placement = this.#options.placement();

    // When every member owns every unit (RF >= members, or no members yet) nothing needs
    // splitting: the body goes as it came to all of them, and influxd reports bad lines itself.
    const members = placement.members;
    const everyoneOwnsAll = database === NODE_LOCAL_DATABASE || members.length === 0 || replicationFactorOf(placement.metadata, database) >= members.length;
    const split = everyoneOwnsAll ? { groups: new Map(), invalid: [], lineCount: 0 } : splitLinesByMeasurement(body);
    const batches = new Map<string, { owners: string[]; chunks: Buffer[] }>();
    if (everyoneOwnsAll) {
      const owners = database === NODE_LOCAL_DATABASE || members.length === 0 ? [this.#options.self] : [...members];
      batches.set('all', { owners, chunks: [body] });
    }
    for (const group of split.groups.values()) {
      const owners = placement.owners(database, group.measurement);
      const targets = owners.length === 0 ? [this.#options.self] : owners;
      const key = targets.join('\u0000');
      let batch = batches.get(key);
      if (!batch) batches.set(key, (batch = { owners: targets, chunks: [] }));
      batch.chunks.push(group.body);
    }

    // One owner set and no line refused here (the usual case): send the body as it came, no copy.
    const whole = batches.size === 1 && split.invalid.length === 0;
    const outcomes = await Promise.all(
      [...batches.values()].map(async (batch) => {
        const payload = whole ? body : joinChunks(batch.chunks);
        const answers = await Promise.all(batch.owners.map((owner) => this.#writeTo(owner, forwardParams, payload, authorization, request.signal)));
        return { owners: batch.owners, answers };
      }),
    );

    // A verdict of influxd on the request (auth, unknown database...) is the answer, as influxd gave it.
    // A 400 "partial write" stored the valid lines and is judged below; 5xx means that owner could not store.
    for (const { answers } of outcomes) {
      const refused = answers.find((answer) => answer.status >= 401 && !isRecoverableStatus(answer.status));
      if (refused) return this.#relay(res, refused);
    }
    const failures: string[] = [];
    const partialErrors: string[] = [];
    for (const { owners, answers } of outcomes) {
      // A 400 "partial write" stored the valid lines: it counts as stored.
      const stored = answers.filter((answer) => answer.status === 204 || answer.status === 400);
      // Every owner of a batch refuses the same lines: one report per batch.
      const partial = answers.find((answer) => answer.status === 400);
      if (partial) partialErrors.push(errorTextOf(partial.body));
      const needed = requiredAcks(consistency as Consistency, owners.length);
      if (stored.length < needed) {
        const why = answers.filter((answer) => answer.status !== 204 && answer.status !== 400).map((answer) => `${answer.owner}: ${errorTextOf(answer.body)}`);
        failures.push(`${stored.length} of ${owners.length} owners stored the batch, consistency ${consistency} needs ${needed} (${why.join('; ')})`);
      }
    }
    if (failures.length > 0) {
      this.#options.logger.warn({ database, failures }, 'write failed consistency');
      return send(res, 503, { error: `write failed: ${failures.join('; ')}` });
    }
    if (split.invalid.length > 0 || partialErrors.length > 0) {
      // influxd's shape: `partial write: unable to parse '<line>': <reason>` lines, then ` dropped=N`.
      const fromOwners = [...new Set(partialErrors.map((error) => error.replace(/^partial write: /, '').replace(/ dropped=\d+$/, '')))];
      const lines = [describeInvalidLines(split.invalid), ...fromOwners].filter((text) => text !== '');
      const dropped = split.invalid.length + partialErrors.reduce((sum, error) => sum + Number(/dropped=(\d+)$/.exec(error)?.[1] ?? 0), 0);
      return send(res, 400, { error: `partial write: ${lines.join('\n')} dropped=${dropped}` });
    }
    send(res, 204);
  }

  async #writeTo(owner: string, params: URLSearchParams, payload: Buffer, authorization: string | undefined, signal: AbortSignal): Promise<OwnerAnswer> {
    try {
      if (owner === this.#options.self) return { owner, ...(await this.#options.influxd.write(params, payload, authorization, signal)) };
      const peer = await this.#options.directory.resolve(owner);
      if (!peer) return { owner, status: 503, body: JSON.stringify({ error: `node ${owner} is not known to the manager` }) };
      if (!this.#options.directory.isAvailable(owner)) return { owner, status: 503, body: JSON.stringify({ error: `node ${owner} is not alive` }) };
      return { owner, ...(await this.#options.peers.write(peer.address, params, payload, authorization, signal)) };
    } catch (err) {
      // The client went away: not the owner's failure.
      if (owner !== this.#options.self && !signal.aborted) this.#options.directory.markDown(owner);
      return { owner, status: 503, body: JSON.stringify({ error: messageOf(err) }) };
    }
  }

  #relay(res: ServerResponse, answer: OwnerAnswer): void {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  }
}
