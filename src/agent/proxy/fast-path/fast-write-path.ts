import type { Socket } from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { HEAD_END, MAX_HEAD_BYTES, plainRequestOf, type PlainRequest } from './http-head.ts';
import type { Logger } from '../../../shared/logging.ts';
import type { InfluxdEndpoint } from '../../influxd/influxd-endpoint.ts';
import { AnswerRelay, type Outcome } from './answer-relay.ts';
import { LinkPool, RelayLink, type LinkUser } from './relay-links.ts';

const MAX_IDLE_UPSTREAMS = 16;
/** How long an answer may go without a byte (undici's default header and body timeouts). */
const RESPONSE_TIMEOUT_MS = 300_000;
const EMPTY = Buffer.alloc(0);
/** Parsed URL parameters of recent request targets: a client repeats the same one. */
const PARAMS_CACHE_SIZE = 64;
/** Methods of requests lent to the HTTP server one at a time (HEAD answers have no body to frame by). */
const LENT_METHODS = new Set(['GET', 'POST']);

/** What a request relayed straight to influxd (or to the peer that answers it) is. */
export type RelayedRoute = 'write' | 'query';

/** Where a `GET` is relayed raw, and how (see FastWritePathOptions.routeQuery). */
export interface QueryRelay {
  /** Connections to whoever answers: the local influxd, or a peer agent. */
  links: LinkPool;
  /** The head to send: the client's, or one rewritten for the peer API. */
  head: Buffer;
  /** Who answers, for errors and logs. */
  source: string;
  /** Adds `X-Clusterflux-Version` to the answer (influxd's answers; an agent's carry it already). */
  versionHeader: boolean;
  /** Answer statuses that count as no answer: the request then takes the HTTP server's path. */
  retryOn?(status: number): boolean;
  /** How long the answer may go without a byte before the relay gives up (default 300 s). */
  answerTimeoutMs?: number;
  /** Told how the relay ended, and the seconds since its head went out. */
  settled?(outcome: Outcome, seconds: number): void;
}

export interface FastWritePathOptions {
  /** The local influxd (plain or TLS connections, as its URL says). */
  influxd: InfluxdEndpoint;
  /** Whether a write with these URL parameters and body length has the local influxd as its only owner. */
  streamsLocally(params: URLSearchParams, contentLength: number): boolean;
  /** How long a connection may idle between requests. */
  idleTimeoutMs: number;
  /** How long a started request head may take to arrive. */
  headTimeoutMs: number;
  /**
   * Whether `request` (a plain GET or POST this path does not relay) is lent
   * to the HTTP server over an in-process connection, the client's
   * connection staying here for the requests after it (the writes a one-node
   * cluster relays, the queries any cluster may); else the connection goes to
   * the HTTP server for good.
   */
  lendsRequest(request: PlainRequest): boolean;
  /**
   * Where a `GET` without a body (`target` and `head` as the client sent
   * them) is relayed byte for byte, if anywhere: a query the local influxd
   * answers exactly as the agent would (`local`: the pool of influxd
   * connections), or one a peer agent answers whole. Should the relay fail
   * before its answer starts, the request goes to the HTTP server as it came,
   * whose path tries the next owner.
   */
  routeQuery?(target: string, head: Buffer, local: LinkPool): QueryRelay | undefined;
  /** Called once for every write or query relayed on this path, with its body's length. */
  onRelayed?: (route: RelayedRoute, bodyBytes: number) => void;
  /** Called once the answer to a relayed write or query went to the client (or could not): its status (undefined: none sent) and the seconds since its head arrived. */
  onAnswered?: (route: RelayedRoute, status: number | undefined, seconds: number) => void;
  logger: Logger;
}

/**
 * The write fast path: a client connection whose requests are
 * `POST /write` for data only the local influxd owns, or `GET /query` of one
 * SELECT the local influxd answers as written, is relayed byte for byte
 * to influxd (request head and body as sent, influxd's answer with an
 * `X-Clusterflux-Version` header added), with no HTTP machinery in between.
 * While this node is the only data member, other plain requests (GET and
 * POST: queries, `/ping`...) are lent to Node's HTTP server one at a time
 * through an in-process connection, and the client's connection stays here.
 * Otherwise, and for anything unusual (an `Expect`, a chunked upload,
 * HTTP/1.0...), the connection goes, with the bytes already read, to the HTTP
 * server for good.
 */
export class FastWritePath {
  readonly options: FastWritePathOptions;
  /** Connections to the local influxd. */
  readonly links: LinkPool;
  readonly #paramsByTarget = new Map<string, URLSearchParams>();
  readonly #connections = new Set<RelayedConnection>();
  #closing = false;
  /** One timer for every connection's deadlines: cheaper than a timer per request. */
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: FastWritePathOptions) {
    this.options = options;
    this.links = new LinkPool(() => options.influxd.connect(), MAX_IDLE_UPSTREAMS);
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of this.#connections) connection.enforceDeadline(now);
    }, 250);
    this.#sweeper.unref();
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Whether a write to `target` (`/write?...`) with a body of `length` bytes may be relayed. */
  relays(target: string, length: number): boolean {
    const query = target.indexOf('?');
    if ((query < 0 ? target : target.slice(0, query)) !== '/write') return false;
    let params = this.#paramsByTarget.get(target);
    if (!params) {
      if (this.#paramsByTarget.size >= PARAMS_CACHE_SIZE) this.#paramsByTarget.clear();
      params = new URLSearchParams(query < 0 ? '' : target.slice(query + 1));
      this.#paramsByTarget.set(target, params);
    }
    return this.options.streamsLocally(params, length);
  }

  /** Where a bodiless GET to `target` is relayed, if it is (see FastWritePathOptions.routeQuery). */
  queryRelay(target: string, head: Buffer): QueryRelay | undefined {
    return this.options.routeQuery?.(target, head, this.links);
  }

  /** Takes a new client connection; `serve` gives a connection (the client's, or an in-process one) to the HTTP server. */
  accept(client: Socket, serve: (connection: Duplex) => void): void {
    if (this.#closing) {
      client.destroy();
      return;
    }
    const forget = () => {
      this.#connections.delete(connection);
      this.#stopSweeperWhenDone();
    };
    const connection = new RelayedConnection(this, client, serve, (socket) => {
      forget();
      serve(socket);
    });
    this.#connections.add(connection);
    connection.start(forget);
  }

  /** Stops taking connections: idle ones close now, busy ones after their answer. Safe twice. */
  close(): void {
    this.#closing = true;
    this.links.closeIdle();
    for (const connection of this.#connections) connection.closeIfIdle();
    this.#stopSweeperWhenDone();
  }

  /** Ends every connection on this path now, and its deadline timer. */
  destroy(): void {
    this.close();
    for (const connection of this.#connections) connection.destroy();
    clearInterval(this.#sweeper);
  }

  /** Once closing and no connection is left, the deadline timer has nothing to watch. */
  #stopSweeperWhenDone(): void {
    if (this.#closing && this.#connections.size === 0) clearInterval(this.#sweeper);
  }
}

/** One client connection while it is on the fast path. */
class RelayedConnection implements LinkUser {
  readonly #path: FastWritePath;
  readonly #client: Socket;
  readonly #handOver: (socket: Socket) => void;
  readonly #serve: (connection: Duplex) => void;
  /** The in-process connection to the HTTP server of the lent request in progress, or kept from the last one. */
  #inner: RelayLink | undefined;
  /** When the kept in-process connection's last answer ended (performance.now() ms). */
  #innerIdleSince = 0;
  /** Bytes read from the client and not used yet (a head in progress, a pipelined request). */
  #pending: Buffer = EMPTY;
  #mode: 'head' | 'body' | 'answer' | 'gone' = 'head';
  #bodyLeft = 0;
  #link: RelayLink | undefined;
  /** When the current wait (idle, head, influxd's answer) began, in performance.now() ms. */
  #since = performance.now();
  #answer: AnswerRelay | undefined;
  /** When the head of the write being relayed arrived (performance.now() ms). */
  #relayStarted = 0;
  /** The head of the query being relayed (as the client sent it), kept until its answer starts. */
  #queryHead: Buffer | undefined;
  /** Where the query being relayed went. */
  #query: QueryRelay | undefined;
  #forgotten: () => void = () => {};
  readonly #onData = (chunk: Buffer) => this.#clientData(chunk);
  readonly #onGone = () => this.#abort();
  /** The client half-closed: no more requests will come. */
  #clientEnded = false;
  readonly #onEnd = () => {
    this.#clientEnded = true;
    if (this.#mode === 'head') this.#awaitHead();
    else if (this.#mode === 'body') this.#client.destroy(); // a body cut short: influxd must not store part of it
    // A lent request: the HTTP server sees the client leave as on the client's own connection (it
    // cancels what the request started, e.g. a query on every node).
    else if (this.#mode === 'answer' && this.#link !== undefined && this.#link === this.#inner) this.#link.socket.end();
  };

  constructor(path: FastWritePath, client: Socket, serve: (connection: Duplex) => void, handOver: (socket: Socket) => void) {
    this.#path = path;
    this.#client = client;
    this.#serve = serve;
    this.#handOver = handOver;
  }

  /** Starts reading requests; `forgotten` is called when the connection closes on this path. */
  start(forgotten: () => void): void {
    this.#forgotten = forgotten;
    this.#client.setNoDelay(true);
    this.#client.on('data', this.#onData);
    this.#client.on('error', this.#onGone);
    this.#client.on('close', this.#onGone);
    this.#client.on('end', this.#onEnd);
    this.#awaitHead();
  }

  /** Ends a connection that has waited too long: idle, sending a head, or for influxd's answer. */
  enforceDeadline(now: number): void {
    const waited = now - this.#since;
    if (this.#mode === 'head') {
      const limit = this.#pending.length === 0 ? this.#path.options.idleTimeoutMs : this.#path.options.headTimeoutMs;
      if (waited > limit) this.#client.destroy();
    } else if (this.#mode === 'answer' && waited > (this.#query?.answerTimeoutMs ?? RESPONSE_TIMEOUT_MS)) {
      this.#link?.socket.destroy();
    }
  }

  linkData(chunk: Buffer): void {
    // The answer deadline counts from the last byte: a long chunked answer that keeps coming is alive.
    if (this.#mode === 'answer') this.#since = performance.now();
    this.#answer?.onData(chunk);
  }

  linkDrain(): void {
    if (this.#mode === 'body') this.#client.resume();
  }

  linkClosed(): void {
    this.#answer?.onClose();
  }

  closeIfIdle(): void {
    if (this.#mode === 'head' && this.#pending.length === 0) this.#client.destroy();
  }

  destroy(): void {
    this.#client.destroy();
  }

  #clientData(chunk: Buffer): void {
    if (this.#mode === 'body') {
      this.#forwardBody(chunk);
      return;
    }
    if (this.#mode === 'gone') return; // the rest of a body influxd did not wait for
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#mode === 'head') this.#awaitHead();
    else this.#client.pause(); // a pipelined request (or a body's excess) waits for the answer to the current one
  }

  /** Looks for a complete request head in the bytes read so far; waits for more when there is none. */
  #awaitHead(): void {
    const end = this.#pending.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#pending.length > MAX_HEAD_BYTES) return this.#giveToHttpServer();
      const idle = this.#pending.length === 0;
      if (this.#clientEnded || (idle && this.#path.closing)) {
        this.#client.end();
        return;
      }
      if (idle) this.#since = performance.now();
      this.#client.resume();
      return;
    }
    const headBytes = this.#pending.subarray(0, end + HEAD_END.length);
    const request = plainRequestOf(headBytes);
    if (!request) return this.#giveToHttpServer();
    const write = request.method === 'POST' && request.hasContentLength && this.#path.relays(request.target, request.contentLength);
    // A query the local influxd (or one peer) answers as written skips the HTTP server too (a lent one paid for both).
    const query = write || request.method !== 'GET' || request.contentLength !== 0 ? undefined : this.#path.queryRelay(request.target, headBytes);
    const route: RelayedRoute | undefined = write ? 'write' : query ? 'query' : undefined;
    if (!route && !(LENT_METHODS.has(request.method) && this.#path.options.lendsRequest(request))) return this.#giveToHttpServer();
    this.#pending = this.#pending.subarray(headBytes.length);
    const link = query ? query.links.take(this) : route ? this.#path.links.take(this) : this.#innerLink();
    this.#startRelay(headBytes, request.contentLength, link, route, query);
  }

  /**
   * The in-process connection to the HTTP server for a lent request: the one
   * the previous lent request used while it is young enough, else a new one.
   * A new connection per request cost ~0.6 ms a query (a parser, a socket,
   * the server's connection setup). Reused only within half the server's
   * keep-alive timeout, so the server never closes it as a request goes in.
   */
  #innerLink(): RelayLink {
    const kept = this.#inner;
    if (kept && !kept.socket.destroyed && kept.user === undefined && performance.now() - this.#innerIdleSince < this.#path.options.idleTimeoutMs / 2) {
      kept.user = this;
      kept.lastError = undefined;
      return kept;
    }
    kept?.socket.destroy();
    const [outside, inside] = duplexPair();
    // A client that leaves must be seen leaving by the HTTP server (it then cancels what the request
    // started: a query on every node); the pair alone would only pass on an end, and a half-closed
    // connection keeps its request running.
    outside.once('close', () => inside.destroy());
    const link = new RelayLink(outside, (closed) => {
      if (this.#inner === closed) this.#inner = undefined;
    });
    link.user = this;
    this.#inner = link;
    this.#serve(inside);
    return link;
  }

  #giveToHttpServer(): void {
    this.#mode = 'gone';
    this.#inner?.socket.destroy();
    this.#client.removeListener('data', this.#onData);
    this.#client.removeListener('error', this.#onGone);
    this.#client.removeListener('close', this.#onGone);
    this.#client.removeListener('end', this.#onEnd);
    this.#client.pause();
    if (this.#pending.length > 0) this.#client.unshift(this.#pending);
    this.#pending = EMPTY;
    this.#handOver(this.#client);
    this.#client.resume();
  }

  /** Sends a request on over `link`: to influxd or a peer (a `route`), or lent to the HTTP server. */
  #startRelay(head: Buffer, bodyLength: number, link: RelayLink, route: RelayedRoute | undefined, query: QueryRelay | undefined): void {
    if (route) {
      this.#relayStarted = performance.now();
      this.#path.options.onRelayed?.(route, bodyLength);
    }
    const upstream = link.socket;
    this.#link = link;
    // A query that fails before its answer starts is given to the HTTP server (the next owner) as it came.
    this.#queryHead = query ? head : undefined;
    this.#query = query;
    const from = query
      ? { source: query.source, versionHeader: query.versionHeader, retryElsewhere: true, ...(query.retryOn ? { retryOn: query.retryOn } : {}) }
      : route
        ? { source: 'influxd', versionHeader: true }
        : { source: 'the agent', versionHeader: false };
    this.#answer = new AnswerRelay(upstream, this.#client, from, (outcome, reason) => this.#answered(link, route, outcome, reason));
    // The head and the body bytes that came with it leave in one system call.
    upstream.cork();
    upstream.write(query ? query.head : head);
    this.#mode = 'body';
    this.#bodyLeft = bodyLength;
    const already = this.#pending;
    this.#pending = EMPTY;
    const flowing = this.#forwardBody(already);
    upstream.uncork();
    // Read on unless influxd's connection asked to wait ('drain' resumes).
    if (this.#mode === 'body' && flowing) this.#client.resume();
  }

  /**
   * Sends the body bytes of the current request on; what follows it is the
   * next request. False when influxd's connection is backed up (the client
   * is then paused until 'drain').
   */
  #forwardBody(chunk: Buffer): boolean {
    const take = Math.min(this.#bodyLeft, chunk.length);
    this.#bodyLeft -= take;
    const flowing = take === 0 || this.#link!.socket.write(take === chunk.length ? chunk : chunk.subarray(0, take));
    if (take < chunk.length) this.#pending = Buffer.concat([this.#pending, chunk.subarray(take)]);
    if (this.#bodyLeft === 0) {
      this.#mode = 'answer';
      this.#since = performance.now();
      if (this.#pending.length > 0) this.#client.pause();
    } else if (!flowing) {
      this.#client.pause();
    }
    return flowing;
  }

  /** The answer went to the client (or could not): reuse or drop both connections. */
  #answered(link: RelayLink, route: RelayedRoute | undefined, outcome: Outcome, reason?: string): void {
    const query = this.#query;
    this.#query = undefined;
    query?.settled?.(outcome, (performance.now() - this.#relayStarted) / 1000);
    if (outcome === 'unanswered' && this.#queryHead) {
      this.#path.options.logger.warn({ reason: link.lastError ?? reason }, `query relay to ${query?.source ?? 'influxd'} failed; the query takes the routed path`);
      this.#answer = undefined;
      this.#link = undefined;
      link.user = undefined;
      link.socket.destroy();
      const head = this.#queryHead;
      this.#queryHead = undefined;
      // Lent, so the connection stays here: a dashboard's next queries are relayed raw again.
      const request = plainRequestOf(head);
      if (request && this.#path.options.lendsRequest(request)) return this.#startRelay(head, 0, this.#innerLink(), undefined, undefined);
      this.#pending = Buffer.concat([head, this.#pending]);
      return this.#giveToHttpServer();
    }
    this.#queryHead = undefined;
    if (route) this.#path.options.onAnswered?.(route, this.#answer?.status, (performance.now() - this.#relayStarted) / 1000);
    this.#answer = undefined;
    this.#link = undefined;
    // A client that went away is not influxd's failure.
    if (reason && this.#mode !== 'gone') this.#path.options.logger.warn({ reason: link.lastError ?? reason }, route ? `${route} relay to ${query?.source ?? 'the local influxd'} failed` : 'lent request failed');
    const bodySent = this.#mode === 'answer';
    if (outcome === 'reuse' && bodySent && route) (query?.links ?? this.#path.links).release(link, this.#path.closing);
    else if (outcome === 'reuse' && bodySent && link === this.#inner && !this.#path.closing) {
      link.user = undefined;
      this.#innerIdleSince = performance.now();
    } else {
      link.user = undefined;
      link.socket.destroy();
    }
    if (outcome === 'failed' || !bodySent) {
      // influxd answered before reading the whole body (or failed): like influxd, close the connection.
      this.#mode = 'gone';
      this.#client.end();
      this.#client.resume(); // read and drop the rest of the body until the client closes
      return;
    }
    this.#mode = 'head';
    this.#awaitHead();
  }

  #abort(): void {
    this.#forgotten();
    this.#mode = 'gone';
    this.#link?.socket.destroy();
    this.#inner?.socket.destroy();
  }
}

