import { chunkedPieces, chunkModeOf, chunkSizeOf } from './chunked-answer.ts';
import { sendInfluxJson, sendInfluxMsgpack } from './influx-answer.ts';
import { encodeQueryAnswer, MSGPACK_CONTENT_TYPE, wantsMsgpack } from '../../influxql/msgpack-answer.ts';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { locateStatements } from '../../influxql/influxql-splitter.ts';
import { classifyStatement, InfluxqlSyntaxError, type StatementClass } from '../../influxql/influxql-ddl.ts';
import type { QueryRouter } from './query-router.ts';
import { statementSources } from '../../influxql/influxql-sources.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { MetadataMirror } from '../metadata/metadata-mirror.ts';
import { NO_USERS_YET } from '../influxd/local-influxd.ts';
import { clientAuthorization, type InfluxRequest } from '../influxd/influx-request.ts';
import type { QueryResponse, StatementResult } from '../../influxql/query-result.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';


/**
 * A continuous query's INTO measurement is pinned to its source's owners, so
 * the CQ, which runs on every influxd, computes on the nodes holding the
 * source and writes the result there. (Regex sources with `:MEASUREMENT`
 * write to measurements of the same name: same placement unit already.)
 */
function pinsForContinuousQuery(operation: MetadataOperation): MetadataOperation[] {
  if (operation.op !== 'createContinuousQuery') return [];
  const select = /\bBEGIN\b([\s\S]*)\bEND\s*$/i.exec(operation.query)?.[1];
  if (!select) return [];
  try {
    const analysis = statementSources(select.trim(), operation.database);
    const source = analysis.sources[0];
    const into = analysis.into;
    if (!into || into.measurement.kind !== 'name' || !source || source.measurement.kind !== 'name') return [];
    return [{ op: 'pinMeasurement', database: into.database ?? operation.database, measurement: into.measurement.name, sourceDatabase: source.database ?? operation.database, sourceMeasurement: source.measurement.name }];
  } catch {
    return [];
  }
}

/** Answers to clients that asked for MessagePack (influxd encodes every answer so, errors included). */
const msgpackAnswers = new WeakSet<ServerResponse>();

function sendJson(res: ServerResponse, status: number, body: unknown, pretty: boolean): void {
  if (msgpackAnswers.has(res)) sendInfluxMsgpack(res, status, body as QueryResponse);
  else sendInfluxJson(res, status, body, pretty);
}

/**
 * `/query`: splits and classifies the statements. DDL becomes metadata
 * operations (CAS write to the manager, then applied on the local influxd)
 * answered in influxd's exact shape; other statements go to the nodes that
 * hold their data (QueryRouter). Requests that only concern the local influxd
 * go to it unchanged, streaming included. The first error stops the request,
 * as in influxd.
 */
export class QueryHandler {
  readonly #mirror: MetadataMirror;
  readonly #influxd: LocalPassthrough;
  readonly #router: QueryRouter;
  readonly #logger: Logger;

  constructor(mirror: MetadataMirror, influxd: LocalPassthrough, router: QueryRouter, logger: Logger) {
    this.#mirror = mirror;
    this.#router = router;
    this.#influxd = influxd;
    this.#logger = logger;
  }

  /**
   * The node whose influxd answers `params` exactly as this handler would,
   * if one does: one SELECT, without INTO, whose measurements (named, no
   * regex) all have that node as their chosen owner. The fast path then
   * relays such a GET byte for byte, to the local influxd or through that
   * node's agent (docs/data-plane.md, "The query hop").
   */
  answeredBy(params: URLSearchParams): string | undefined {
    const q = params.get('q')?.trim();
    if (!q) return undefined;
    try {
      const located = locateStatements(q);
      if (located.length !== 1 || classifyStatement(located[0]!).kind !== 'select') return undefined;
      return this.#router.answeredBy(located[0]!.text, params.get('db'));
    } catch {
      return undefined; // the HTTP path gives influxd's own parse error
    }
  }

  async handle(request: InfluxRequest, res: ServerResponse): Promise<void> {
    if (wantsMsgpack(request.forwardHeaders['accept'])) msgpackAnswers.add(res);
    try {
      await this.#handle(request, res);
    } catch (err) {
      // The sources reader is stricter than the statement classifier on some SELECTs: still a parse error,
      // answered with influxd's own message for the whole request (its first error may be elsewhere).
      if (!(err instanceof InfluxqlSyntaxError) || res.headersSent) throw err;
      const influxdSays = await this.#influxdParseError(request.params.get('q') ?? '', request);
      sendJson(res, 400, { error: influxdSays ?? `error parsing query: ${err.message}` }, request.params.get('pretty') === 'true');
    }
  }

  async #handle(request: InfluxRequest, res: ServerResponse): Promise<void> {
    const pretty = request.params.get('pretty') === 'true';
    const q = request.params.get('q');
    if (q === null || q.trim() === '') return this.#influxd.forward(request, res);
    // Located statements keep influxd's positions (line, char) for parse errors.
    const located = locateStatements(q.trim());
    const statements = located.map((statement) => statement.text);
    const classes = located.map((statement) => classifyStatement(statement));
    const parseError = classes.find((c) => c.kind === 'error');
    const hasDdl = classes.some((c) => c.kind === 'ddl');
    // influxd's own parser has the last word on syntax: its exact message for a query ours refuses,
    // and a check of every query with DDL before anything reaches the cluster document.
    if (parseError || hasDdl) {
      const influxdSays = await this.#influxdParseError(q, request);
      if (influxdSays) return sendJson(res, 400, { error: influxdSays }, pretty);
      if (parseError && parseError.kind === 'error') return sendJson(res, 400, { error: `error parsing query: ${parseError.message}` }, pretty);
    }
    // Everything local (single node, or node-local statements): influxd answers, streaming and all.
    if (!hasDdl && classes.every((c) => c.kind !== 'ddl' && c.kind !== 'error' && this.#router.isLocalOnly(c))) return this.#influxd.forward(request, res);
    if (!hasDdl) return this.#answerRouted(request, res, statements, classes, pretty);

    // influxd decides who may change metadata: an admin-only statement with the client's credentials.
    const probe = await this.#influxd.query(new URLSearchParams({ q: 'SHOW USERS' }), clientAuthorization(request));
    const probeError = (probe.body as { results?: StatementResult[] }).results?.[0]?.error;
    // As influxd: with auth on and no users yet, the one thing anybody may do is create an admin user.
    const onlyFirstAdmin = JSON.stringify(probe.body).includes(NO_USERS_YET) && classes.every((c) => c.kind === 'ddl' && c.operation.op === 'createUser' && c.operation.admin);
    if (probe.status !== 200 && !onlyFirstAdmin) return sendJson(res, probe.status, probe.body, pretty);
    if (probeError) return sendJson(res, 200, { results: [{ statement_id: 0, error: probeError }] }, pretty);

    const results: StatementResult[] = [];
    for (const [index, statementClass] of classes.entries()) {
      let result: StatementResult;
      if (statementClass.kind === 'ddl') {
        let outcome;
        try {
          [outcome] = await this.#mirror.applyOperations([statementClass.operation, ...pinsForContinuousQuery(statementClass.operation)]);
        } catch (err) {
          this.#logger.warn({ reason: messageOf(err), operation: statementClass.operation.op }, 'DDL refused: cluster metadata unavailable');
          return sendJson(res, 503, { error: `cluster metadata unavailable, DDL not applied: ${messageOf(err)}` }, pretty);
        }
        result = { statement_id: index, ...(outcome && !outcome.ok ? { error: outcome.error } : {}) };
        if (request.method === 'GET' && !result.error) {
          result.messages = [{ level: 'warning', text: `deprecated use of '${statements[index]}' in a read only context, please use a POST request instead` }];
        }
      } else if (statementClass.kind !== 'error') {
        const answer = await this.#router.run(statements[index]!, statementClass, request);
        if (!('result' in answer)) return sendJson(res, answer.status, answer.body, pretty);
        result = { ...answer.result, statement_id: index };
      } else {
        break;
      }
      results.push(result);
      if (result.error) break;
    }
    sendJson(res, 200, { results }, pretty);
  }

  /**
   * influxd's parse error for `q`, without running any of it: influxd parses a
   * whole request before executing it, so `q` goes after a statement that
   * parses but always fails (a database that does not exist), which stops
   * execution before `q`. The probe sits on its own line, so influxd's
   * positions are moved back by one line.
   */
  async #influxdParseError(q: string, request: InfluxRequest): Promise<string | undefined> {
    const probe = `SHOW RETENTION POLICIES ON "cflux-syntax-probe-${randomUUID()}";\n`;
    try {
      const { status, body } = await this.#influxd.query(new URLSearchParams({ q: probe + q }), clientAuthorization(request), request.signal);
      const error = (body as { error?: unknown } | undefined)?.error;
      if (status !== 400 || typeof error !== 'string' || !error.startsWith('error parsing query: ')) return undefined;
      return error.replace(/ at line (\d+), char (\d+)$/, (_, line: string, char: string) => ` at line ${Math.max(1, Number(line) - 1)}, char ${char}`);
    } catch {
      return undefined; // influxd unreachable: the statement's own path reports that
    }
  }

  /** Statements routed to the nodes holding their data, answered in order; the first error stops the rest. */
  async #answerRouted(request: InfluxRequest, res: ServerResponse, statements: string[], classes: StatementClass[], pretty: boolean): Promise<void> {
    // As influxd, a request is parsed whole before anything runs: with several statements, a later one's
    // syntax error must stop the earlier ones (a single statement is read once, by the router).
    if (classes.length > 1) for (const [index, statementClass] of classes.entries()) if (statementClass.kind !== 'ddl' && statementClass.kind !== 'error') this.#router.checkSources(statements[index]!, statementClass, request);
    // One statement answered by one node as written: stream that node's answer (chunked output included).
    const only = classes[0];
    if (classes.length === 1 && only && only.kind !== 'ddl' && only.kind !== 'error') {
      const target = await this.#router.singleTarget(statements[0]!, only, request);
      if (target !== undefined && (await this.#router.stream(target, request, res))) return;
    }
    const results: StatementResult[] = [];
    for (const [index, statementClass] of classes.entries()) {
      if (statementClass.kind === 'ddl' || statementClass.kind === 'error') break;
      const answer = await this.#router.run(statements[index]!, statementClass, request);
      if (!('result' in answer)) return sendJson(res, answer.status, answer.body, pretty);
      results.push({ ...answer.result, statement_id: index });
      if (answer.result.error) break;
    }
    if (request.params.get('chunked') === 'true') {
      // influxd streams a chunked answer as JSON lines; a merged one is cut the same way.
      const pieces = chunkedPieces(results, chunkSizeOf(request.params), (index) => chunkModeOf(classes[index] as { kind: string; show?: string }));
      if (msgpackAnswers.has(res)) {
        res.writeHead(200, { 'content-type': MSGPACK_CONTENT_TYPE });
        return void res.end(Buffer.concat(pieces.map((piece) => encodeQueryAnswer(piece))));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(pieces.map((piece) => JSON.stringify(piece) + '\n').join(''));
    }
    sendJson(res, 200, { results }, pretty);
  }
}
