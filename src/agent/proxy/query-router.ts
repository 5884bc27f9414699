import { decodeMsgpack, MSGPACK_CONTENT_TYPE, wantsMsgpack } from '../../influxql/msgpack-answer.ts';
import { messageOf } from '../../shared/errors.ts';
import { isRecoverableStatus } from '../../shared/recoverable.ts';
import type { QueryStatementClass } from '../../influxql/influxql-ddl.ts';
import { quoteIdentifier } from '../../influxql/influxql-ddl.ts';
import { statementSources, type MeasurementSource } from '../../influxql/influxql-sources.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { PeerDirectory } from '../peer/peer-directory.ts';
import { NODE_LOCAL_DATABASE, replicationFactorOf, type Placement } from '../../cluster/placement.ts';
import { clientAuthorization, type InfluxRequest } from '../influxd/influx-request.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import { cardinalityPlan, mergeCardinality } from '../../influxql/cardinality.ts';
import { concatSeriesResults, mergeShowResults, selectOrdersDescending, showLimitOffset } from './result-merge.ts';
import type { StatementResult } from '../../influxql/query-result.ts';
import { parseInfluxJson } from '../../influxql/exact-json.ts';
import { parseJsonOrText } from '../../shared/http/json-http.ts';

/** One statement's answer, or an HTTP-level refusal to pass back as influxd gave it. */
export type RoutedAnswer = { result: StatementResult } | { status: number; body: unknown };

/** A node's answer, or the news that it could not answer at all (its agent or influxd is down). */
type NodeAnswer = RoutedAnswer | { unavailable: string; node: string };

function unavailableResult(answer: { unavailable: string }): RoutedAnswer {
  return { result: { statement_id: 0, error: answer.unavailable } };
}

/** SHOW statements whose answer is the same on every node (mirrored metadata) or only about this node. */
const LOCAL_SHOWS = new Set(['databases', 'retention-policies', 'users', 'grants', 'continuous-queries', 'queries', 'shards', 'shard-groups', 'stats', 'diagnostics', 'subscriptions']);
/** SHOW statements that fan out and merge. */
const MERGED_SHOWS = new Set(['measurements', 'tag-keys', 'tag-values', 'field-keys', 'series']);

export interface QueryRouterOptions {
  self: string;
  placement: () => Placement;
  directory: PeerDirectory;
  peers: PeerClient;
  influxd: LocalPassthrough;
  /** Writes a placement pin (SELECT ... INTO keeps its target with its source). */
  pin: (operation: MetadataOperation) => Promise<unknown>;
  /** Whether a node has writes for the unit still queued somewhere (hinted handoff): reads avoid it while another owner is current. */
  isBehind?: (node: string, database: string, measurement: string) => boolean;
}

/**
 * Sends one non-DDL statement to the nodes that hold its measurements and
 * merges their answers: SELECT/SHOW ... FROM to one available owner per
 * measurement (this node first), SHOW MEASUREMENTS/TAG/FIELD/SERIES without
 * FROM to every node (merged, LIMIT/OFFSET applied after), DELETE/DROP to
 * every owner, node-local statements to the local influxd.
 */
export class QueryRouter {
  readonly #options: QueryRouterOptions;

  constructor(options: QueryRouterOptions) {
    this.#options = options;
  }

  /** Whether the local influxd alone answers this statement (no members yet, or node-local and mirrored statements). */
  isLocalOnly(statementClass: QueryStatementClass): boolean {
    if (this.#options.placement().members.length === 0) return true;
    if (statementClass.kind === 'show') return LOCAL_SHOWS.has(statementClass.show);
    return statementClass.kind === 'kill-query' || statementClass.kind === 'other' || statementClass.kind === 'drop-shard';
  }

  /**
   * The one node that answers this statement exactly as written (no split,
   * no merge, no side effects elsewhere), when there is one: then its answer
   * can be streamed through, `chunked=true` included.
   */
  async singleTarget(statement: string, statementClass: QueryStatementClass, request: InfluxRequest): Promise<string | undefined> {
    if (this.isLocalOnly(statementClass)) return this.#options.self;
    const readsOnly = statementClass.kind === 'select' || statementClass.kind === 'explain' || (statementClass.kind === 'show' && statementClass.hasFrom);
    if (!readsOnly) return undefined;
    const analysis = statementSources(statement, request.params.get('db'));
    if (analysis.into) return undefined;
    const database = databaseOf(analysis);
    if (database === null || database === NODE_LOCAL_DATABASE) return this.#options.self;
    const measurements = await this.#expand(database, analysis.sources, request);
    // Unanswerable as a whole: the routed path gives the error.
    if (!Array.isArray(measurements)) return undefined;
    const nodes = new Set(measurements.map((entry) => this.#chooseOwner(database, entry.name, new Set())));
    if (nodes.size === 0) return this.#options.self;
    return nodes.size === 1 && !nodes.has(undefined) ? [...nodes][0] : undefined;
  }

  /**
   * singleTarget without I/O, for a SELECT: the node that answers it as
   * written, if one does. Only plain measurement names are judged (a regex
   * needs a SHOW on every node first); SELECT ... INTO never is (it writes).
   */
  answeredBy(statement: string, db: string | null): string | undefined {
    const analysis = statementSources(statement, db);
    if (analysis.into) return undefined;
    const database = databaseOf(analysis);
    if (database === null || database === NODE_LOCAL_DATABASE) return this.#options.self;
    let node: string | undefined;
    for (const source of analysis.sources) {
      const owner = source.measurement.kind === 'name' ? this.#chooseOwner(database, source.measurement.name, new Set()) : undefined;
      if (owner === undefined || (node !== undefined && owner !== node)) return undefined;
      node = owner;
    }
    return node;
  }

  /** Streams `request` as it came from `node` (see singleTarget); false when the node could not be reached. */
  async stream(node: string, request: InfluxRequest, res: import('node:http').ServerResponse): Promise<boolean> {
    if (node === this.#options.self) {
      try {
        await this.#options.influxd.forward(request, res);
        return true;
      } catch (err) {
        if (res.headersSent) throw err;
        return false; // local influxd down: the buffered path tries the next owner
      }
    }
    const peer = await this.#options.directory.resolve(node);
    if (!peer) return false;
    const params = new URLSearchParams(request.params);
    params.delete('u');
    params.delete('p');
    try {
      await this.#options.peers.pipeQuery(peer.address, params, clientAuthorization(request)['authorization'], res, request.signal, request.forwardHeaders['accept']);
      return true;
    } catch (err) {
      if (res.headersSent || request.signal.aborted) throw err;
      this.#options.directory.markDown(node);
      return false;
    }
  }

  /**
   * `statement` on every available node. Data members that do not answer
   * (unavailable here, or failing) are skipped while fewer of them are
   * missing than the database's replication factor: every unit then still
   * has a replica among the answers. Otherwise the answer could silently lack
   * units: it fails, naming who is missing.
   */
  async #everyNode(statement: string, database: string, request: InfluxRequest): Promise<{ results: StatementResult[] } | { failed: RoutedAnswer }> {
    const asked = this.#availableNodes();
    const nodeAnswers = await Promise.all(asked.map((node) => this.#runOn(node, statement, request)));
    const down = nodeAnswers.filter((answer): answer is { unavailable: string; node: string } => 'unavailable' in answer);
    const unheard = this.#unheardMembers(database, asked, down);
    if (unheard) return { failed: { result: { statement_id: 0, error: down[0]?.unavailable ?? unheard } } };
    const answers = nodeAnswers.filter((answer): answer is RoutedAnswer => !('unavailable' in answer));
    const failed = answers.find((answer) => !('result' in answer) || answer.result.error);
    if (failed) return { failed };
    return { results: answers.map((answer) => (answer as { result: StatementResult }).result) };
  }

  /**
   * Why the answers of `asked` (less `down`) may lack units of `database`:
   * as many data members unheard from as its replication factor (a unit
   * could live on those alone). Undefined when every unit has a replica among
   * the answers (during a move, the old members hold every unit whole).
   */
  #unheardMembers(database: string, asked: readonly string[], down: ReadonlyArray<{ node: string }>): string | undefined {
    const placement = this.#options.placement();
    const members = placement.metadata.settings.dataMembers;
    const heard = new Set(asked.filter((node) => !down.some((answer) => answer.node === node)));
    const unheard = members.filter((member) => !heard.has(member));
    const replicas = Math.min(replicationFactorOf(placement.metadata, database), members.length);
    if (unheard.length === 0 || unheard.length < replicas) return undefined;
    return `nodes ${unheard.join(', ')} are not available: measurements of database "${database}" held only there cannot be read now`;
  }

  /** Throws InfluxqlSyntaxError for a statement whose sources cannot be read (as influxd, a request is parsed whole before anything runs). */
  checkSources(statement: string, statementClass: QueryStatementClass, request: InfluxRequest): void {
    if (!this.isLocalOnly(statementClass)) statementSources(statement, request.params.get('db'));
  }

  async run(statement: string, statementClass: QueryStatementClass, request: InfluxRequest): Promise<RoutedAnswer> {
    if (this.isLocalOnly(statementClass)) return settle(await this.#runOn(this.#options.self, statement, request));
    const analysis = statementSources(statement, request.params.get('db'));
    // Fully qualified sources name their database even when the request has no `db`.
    const database = databaseOf(analysis);
    if (database === null || database === NODE_LOCAL_DATABASE) return settle(await this.#runOn(this.#options.self, statement, request));

    if (statementClass.kind === 'delete' || statementClass.kind === 'drop-series' || statementClass.kind === 'drop-measurement') {
      const names = analysis.sources.every((source) => source.measurement.kind === 'name');
      // Every owner, reachable or not: skipping one would let the data come back from it.
      const targets = names && analysis.sources.length > 0 ? this.#ownersOfAll(database, analysis.sources, true) : [...new Set([...this.#options.placement().members, this.#options.self])];
      return firstError((await Promise.all(targets.map((node) => this.#runOn(node, statement, request)))).map(settle));
    }
    if (statementClass.kind === 'show' && statementClass.show.endsWith('cardinality')) {
      const plan = cardinalityPlan(statement);
      const answers = await this.#everyNode(plan.fanOut, database, request);
      return 'results' in answers ? { result: mergeCardinality(plan, answers.results) } : answers.failed;
    }
    if (statementClass.kind === 'show' && MERGED_SHOWS.has(statementClass.show) && !analysis.hasFrom) {
      const { limit, offset, stripped } = showLimitOffset(statement);
      const answers = await this.#everyNode(stripped, database, request);
      if (!('results' in answers)) return answers.failed;
      return { result: mergeShowResults(statementClass.show as never, answers.results, { ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}) }) };
    }
    if (analysis.into && analysis.sources.length > 0) return this.#selectInto(statement, database, analysis.sources, analysis.into, request);

    // SELECT / EXPLAIN / SHOW ... FROM: one available owner per measurement; a node that
    // cannot answer is excluded and its measurements go to their next owner.
    const measurements = await this.#expand(database, analysis.sources, request);
    if (!Array.isArray(measurements)) return measurements.failed;
    const excluded = new Set<string>();
    let lastFailure: RoutedAnswer | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const assignment = new Map<string, Array<{ source: MeasurementSource; name: string }>>();
      // A node holding every measurement answers the statement as written (subqueries included).
      const common = this.#commonOwner(database, measurements.map((entry) => entry.name), excluded);
      for (const entry of measurements) {
        const node = common ?? this.#chooseOwner(database, entry.name, excluded);
        if (node === undefined) return lastFailure ?? { result: { statement_id: 0, error: `no available owner for measurement "${entry.name}" of database "${database}"` } };
        const list = assignment.get(node) ?? [];
        list.push(entry);
        assignment.set(node, list);
      }
      const span = analysis.fromListSpan;
      if (assignment.size > 1 && (!span || analysis.sourceSpans.some((s) => s.source === null))) {
        return { result: { statement_id: 0, error: 'this statement reads measurements held by different nodes through a subquery, which ClusterFlux cannot split yet' } };
      }
      const plans = assignment.size <= 1
        ? [{ node: assignment.keys().next().value ?? this.#options.self, text: statement }]
        : [...assignment.entries()].map(([node, entries]) => ({ node, text: statement.slice(0, span!.start) + entries.map(({ source, name }) => qualified(source, name)).join(', ') + statement.slice(span!.end) }));
      const answers = await Promise.all(plans.map((plan) => this.#runOn(plan.node, plan.text, request)));
      const down = answers.filter((answer): answer is { unavailable: string; node: string } => 'unavailable' in answer);
      if (down.length > 0) {
        for (const answer of down) excluded.add(answer.node);
        lastFailure = unavailableResult(down[0]!);
        continue;
      }
      const routed = answers as RoutedAnswer[];
      const failed = routed.find((answer) => !('result' in answer) || answer.result.error);
      if (failed) return failed;
      const results = routed.map((answer) => (answer as { result: StatementResult }).result);
      if (results.length === 1) return { result: results[0]! };
      if (statementClass.kind === 'show') {
        const { limit, offset } = showLimitOffset(statement);
        return { result: mergeShowResults(statementClass.show as never, results, { ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}) }) };
      }
      return { result: concatSeriesResults(results, { descending: selectOrdersDescending(statement) }) };
    }
    return lastFailure ?? { result: { statement_id: 0, error: 'no node could answer' } };
  }

  async #selectInto(statement: string, database: string, sources: readonly MeasurementSource[], into: NonNullable<ReturnType<typeof statementSources>['into']>, request: InfluxRequest): Promise<RoutedAnswer> {
    const first = sources[0]!;
    // influxd refuses the statement itself when the client lacks a privilege: ask it that answer
    // (nothing runs) before the pin changes the cluster document.
    if (!(await this.#mayRunInto(database, sources, into, request))) return settle(await this.#runOn(this.#options.self, statement, request));
    if (into.measurement.kind === 'name' && first.measurement.kind === 'name') {
      await this.#options.pin({ op: 'pinMeasurement', database: into.database ?? database, measurement: into.measurement.name, sourceDatabase: first.database ?? database, sourceMeasurement: first.measurement.name });
    }
    // Every owner of the source runs it, so each replica writes the target locally.
    const targets = first.measurement.kind === 'name' ? this.#ownersOfAll(database, [first], false, true) : this.#availableNodes();
    const answers = await Promise.all(targets.map((node) => this.#runOn(node, statement, request)));
    return firstError(answers.map(settle));
  }

  /**
   * Whether the client may run a SELECT ... INTO, asked of the local influxd
   * with its credentials and without side effects: READ on every source
   * database (SHOW MEASUREMENTS ... LIMIT 1) and WRITE on the target (an
   * empty write, which influxd authorizes and then stores nothing).
   */
  async #mayRunInto(database: string, sources: readonly MeasurementSource[], into: NonNullable<ReturnType<typeof statementSources>['into']>, request: InfluxRequest): Promise<boolean> {
    const authorization = clientAuthorization(request);
    const readable = [...new Set(sources.map((source) => source.database ?? database))];
    for (const name of readable) {
      const { status, body } = await this.#options.influxd.query(new URLSearchParams({ q: `SHOW MEASUREMENTS ON ${quoteIdentifier(name)} LIMIT 1` }), authorization, request.signal);
      if (status !== 200 || (body as { results?: Array<{ error?: string }> }).results?.[0]?.error !== undefined) return false;
    }
    const written = await this.#options.influxd.write(new URLSearchParams({ db: into.database ?? database }), Buffer.alloc(0), authorization['authorization'], request.signal);
    return written.status === 204;
  }

  /**
   * Measurement names a statement's sources stand for (regexes resolved by
   * asking every node); the error when a node's answer is one, or when the
   * nodes that answered may not hold every matching measurement (#everyNode).
   */
  async #expand(database: string, sources: readonly MeasurementSource[], request: InfluxRequest): Promise<Array<{ source: MeasurementSource; name: string }> | { failed: RoutedAnswer }> {
    const expanded: Array<{ source: MeasurementSource; name: string }> = [];
    const seen = new Set<string>();
    for (const source of sources) {
      let names: string[];
      if (source.measurement.kind === 'name') {
        names = [source.measurement.name];
      } else {
        const show = `SHOW MEASUREMENTS ON ${quoteIdentifier(source.database ?? database)} WITH MEASUREMENT =~ /${source.measurement.pattern}/`;
        const answers = await this.#everyNode(show, source.database ?? database, request);
        if (!('results' in answers)) return answers;
        names = answers.results.flatMap((result) => (result.series ?? []).flatMap((series) => (series.values ?? []).map((row) => String(row[0]))));
      }
      for (const name of names) {
        const key = `${source.database ?? database}\u0000${source.retentionPolicy ?? ''}\u0000${name}`;
        if (!seen.has(key)) expanded.push({ source, name });
        seen.add(key);
      }
    }
    return expanded;
  }

  /** An available node owning every one of `measurements` (this node first), if there is one. */
  #commonOwner(database: string, measurements: readonly string[], excluded: ReadonlySet<string>): string | undefined {
    if (measurements.length < 2) return undefined;
    const placement = this.#options.placement();
    let common = placement.readOwners(database, measurements[0]!).filter((owner) => !excluded.has(owner));
    for (const name of measurements.slice(1)) {
      const owners = new Set(placement.readOwners(database, name));
      common = common.filter((owner) => owners.has(owner));
      if (common.length === 0) return undefined;
    }
    // Only an owner current on every measurement answers the statement whole.
    common = common.filter((owner) => measurements.every((name) => !this.#behind(owner, database, name)));
    if (common.includes(this.#options.self)) return this.#options.self;
    return common.find((owner) => this.#options.directory.isAvailable(owner));
  }

  /**
   * The owner that answers reads of a unit: one with no hints queued for it
   * (anywhere in the cluster) while such an owner is available, this node
   * first; an owner that is behind only when no current one is.
   */
  #chooseOwner(database: string, measurement: string, excluded: ReadonlySet<string>): string | undefined {
    // During a move of the data members, only owners that hold the unit whole (placement.ts).
    const owners = this.#options.placement().readOwners(database, measurement).filter((owner) => !excluded.has(owner));
    const available = (owner: string) => owner === this.#options.self || this.#options.directory.isAvailable(owner);
    const current = owners.filter((owner) => available(owner) && !this.#behind(owner, database, measurement));
    const candidates = current.length > 0 ? current : owners.filter(available);
    if (candidates.includes(this.#options.self)) return this.#options.self;
    return candidates[0];
  }

  #behind(node: string, database: string, measurement: string): boolean {
    return this.#options.isBehind?.(node, database, measurement) ?? false;
  }

  /** Owners of every named source: every node a change must reach (`forReads`: those holding the units whole, during a move). */
  #ownersOfAll(database: string, sources: readonly MeasurementSource[], includeUnavailable = false, forReads = false): string[] {
    const nodes = new Set<string>();
    const placement = this.#options.placement();
    for (const source of sources) {
      if (source.measurement.kind !== 'name') continue;
      const unitDatabase = source.database ?? database;
      for (const owner of forReads ? placement.readOwners(unitDatabase, source.measurement.name) : placement.owners(unitDatabase, source.measurement.name)) {
        if (includeUnavailable || owner === this.#options.self || this.#options.directory.isAvailable(owner)) nodes.add(owner);
      }
    }
    return [...nodes];
  }

  #availableNodes(): string[] {
    const members = this.#options.placement().members;
    const nodes = members.filter((member) => member === this.#options.self || this.#options.directory.isAvailable(member));
    if (!nodes.includes(this.#options.self)) nodes.push(this.#options.self);
    return nodes;
  }

  async #runOn(node: string, statement: string, request: InfluxRequest): Promise<NodeAnswer> {
    const params = new URLSearchParams();
    for (const name of ['db', 'rp', 'epoch', 'params']) {
      const value = request.params.get(name);
      if (value !== null) params.set(name, value);
    }
    params.set('q', statement);
    const authorization = clientAuthorization(request)['authorization'];
    try {
      let status: number;
      let body: unknown;
      if (wantsMsgpack(request.forwardHeaders['accept'])) {
        // MessagePack keeps what JSON loses (whole floats, times); the merged answer is encoded back from it.
        const headers = { accept: MSGPACK_CONTENT_TYPE, ...(authorization ? { authorization } : {}) };
        let answer: { status: number; contentType: string; body: Buffer };
        if (node === this.#options.self) answer = await this.#options.influxd.queryBytes(params, headers, request.signal);
        else {
          const peer = await this.#options.directory.resolve(node);
          if (!peer) return { result: { statement_id: 0, error: `node ${node} is not known to the manager` } };
          answer = await this.#options.peers.queryBytes(peer.address, params, authorization, MSGPACK_CONTENT_TYPE, request.signal);
        }
        status = answer.status;
        body = answer.contentType.startsWith(MSGPACK_CONTENT_TYPE) ? decodeMsgpack(answer.body) : parseInfluxJson(answer.body.toString('utf8'));
      } else if (node === this.#options.self) {
        // Read as text and parsed here: int64 values and nanosecond times must stay exact in a merged answer.
        const answer = await this.#options.influxd.queryText(params, authorization ? { authorization } : {}, request.signal);
        status = answer.status;
        body = parseJsonOrText(answer.body, parseInfluxJson);
      } else {
        const peer = await this.#options.directory.resolve(node);
        if (!peer) return { result: { statement_id: 0, error: `node ${node} is not known to the manager` } };
        const answer = await this.#options.peers.query(peer.address, params, authorization, request.signal);
        status = answer.status;
        body = parseInfluxJson(answer.body); // not JSON: that node failed (caught below)
      }
      if (isRecoverableStatus(status)) return { unavailable: `node ${node} could not answer (${status}): ${JSON.stringify(body).slice(0, 200)}`, node };
      if (status !== 200) return { status, body };
      const result = (body as { results?: StatementResult[] }).results?.[0];
      return { result: result ?? { statement_id: 0 } };
    } catch (err) {
      // The client went away: not the node's failure.
      if (node !== this.#options.self && !request.signal.aborted) this.#options.directory.markDown(node);
      return { unavailable: `node ${node} could not answer: ${messageOf(err)}`, node };
    }
  }
}

/** `"db"."rp"."m"` for one measurement of a source. */
/** The database a statement reads: named in it, else the first fully qualified source's, else none. */
function databaseOf(analysis: ReturnType<typeof statementSources>): string | null {
  return analysis.database ?? analysis.sources.find((source) => source.database !== null)?.database ?? null;
}

function qualified(source: MeasurementSource, name: string): string {
  const parts = [source.database === null ? '' : quoteIdentifier(source.database), source.retentionPolicy === null ? '' : quoteIdentifier(source.retentionPolicy), quoteIdentifier(name)];
  return source.database === null ? (source.retentionPolicy === null ? parts[2]! : `${parts[1]}.${parts[2]}`) : parts.join('.');
}

/** A node answer as a statement answer (an unavailable node becomes an error result). */
function settle(answer: NodeAnswer): RoutedAnswer {
  return 'unavailable' in answer ? unavailableResult(answer) : answer;
}

function firstError(answers: RoutedAnswer[]): RoutedAnswer {
  return answers.find((answer) => !('result' in answer) || answer.result.error) ?? answers[0] ?? { result: { statement_id: 0 } };
}
