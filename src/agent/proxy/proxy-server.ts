import { v2WriteRequest, V2_QUERY_REFUSAL } from './v2-compat.ts';
import { identifyAsInfluxd, sendInfluxJson } from './influx-answer.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHttp } from '../../shared/node-builtins.ts';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HostPort } from '../../shared/config/parsers.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { QueryHandler } from './query-handler.ts';
import type { WriteHandler } from './write-handler.ts';
import { CFLUX_VERSION } from '../../shared/version.ts';
import { clientGoneSignal, declaredLength, drainBody, parseInfluxRequest, readLimitedBody } from '../influxd/influx-request.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import { FastWritePath, type FastWritePathOptions } from './fast-path/fast-write-path.ts';
import type { PlainRequest } from './fast-path/http-head.ts';
import { ClientQueryRelays, type PeerRelayOptions } from './fast-path/peer-query-relay.ts';
import type { InfluxdEndpoint } from '../influxd/influxd-endpoint.ts';
import type { BodyBudget } from './body-budget.ts';
import { CLIENT_CLOSED_STATUS, methodLabel, proxyRouteOf, type ProxyEvents } from './proxy-events.ts';

/** The largest request head accepted (influxd's: Go's default MaxHeaderBytes). */
const MAX_HEAD_BYTES = 1024 * 1024;

export interface ProxyServerOptions {
  listen: HostPort;
  maxBodyBytes: number;
  /** Bounds the bodies read whole at once, across connections (`--max-buffered-bodies`). */
  bodyBudget: BodyBudget;
  queries: QueryHandler;
  writes: WriteHandler;
  influxd: LocalPassthrough;
  /** The local influxd, for writes relayed byte for byte (see FastWritePath). */
  influxdEndpoint: InfluxdEndpoint;
  /** This node and its peers, for queries relayed byte for byte to the one that answers them (peer-query-relay.ts). */
  peerQueries: Pick<PeerRelayOptions, 'self' | 'peers' | 'directory'>;
  /** Told about every request answered and every write sent on (metrics). */
  events?: ProxyEvents;
  /** The local influxd's version (its last known one), named on every answer as influxd does. */
  influxdVersion?: () => string | undefined;
  /** Why this node may not serve clients now (answered 503 to every request), or undefined. */
  refusal?: () => string | undefined;
  logger: Logger;
}

/** The client-facing InfluxDB 1.x endpoint (`--listen`, default :8087). */
export class ProxyServer {
  readonly #options: ProxyServerOptions;
  // influxd (Go) takes request heads up to 1 MiB: long GET queries must fit here too.
  readonly #server = nodeHttp.createServer({ maxHeaderSize: MAX_HEAD_BYTES }, (req, res) => void this.#dispatch(req, res));
  readonly #fastWrites: FastWritePath;
  readonly #queryRelays: ClientQueryRelays;
  #closing: Promise<void> | undefined;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#server.headersTimeout = 20_000;
    this.#server.requestTimeout = 0;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // A request Node cannot parse still gets a status and a JSON error, as every other answer.
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({ error: tooLarge ? 'request header fields too large' : 'malformed HTTP request' });
      const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      else socket.destroy();
    });
    this.#queryRelays = new ClientQueryRelays({
      ...options.peerQueries,
      answeredBy: (params) => options.queries.answeredBy(params),
      ...(options.events ? { onRelayed: (to: 'local' | 'peer') => options.events!.relayedQuery(to) } : {}),
    });
    this.#fastWrites = new FastWritePath({
      influxd: options.influxdEndpoint,
      streamsLocally: (params, length) => !options.refusal?.() && options.writes.streamsLocally(params, length),
      // With one data member every write may be relayed: anything else is lent so that the next write still is.
      // With more, queries are lent: a dashboard's regex or multi-owner query must not keep its
      // connection off the raw path for the simple ones after it. Writes are not (their body would
      // cross the in-process connection too, for nothing).
      lendsRequest: (request) => !options.refusal?.() && (options.writes.onlyLocalOwner() || isQueryOrBodilessGet(request)),
      routeQuery: (target, head, local) => (options.refusal?.() ? undefined : this.#queryRelays.route(target, head, local)),
      idleTimeoutMs: this.#server.keepAliveTimeout,
      headTimeoutMs: this.#server.headersTimeout,
      ...(options.events ? fastPathReports(options.events) : {}),
      logger: options.logger,
    });
    // Every new connection meets the fast path first; it hands anything else to the
    // HTTP server's own connection handler, which then owns the connection.
    const [httpConnectionListener] = this.#server.listeners('connection') as Array<(connection: Duplex) => void>;
    this.#server.removeListener('connection', httpConnectionListener!);
    this.#server.on('connection', (socket: Socket) => this.#fastWrites.accept(socket, (connection) => httpConnectionListener!.call(this.#server, connection)));
  }

  async start(): Promise<HostPort> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.listen.port, this.#options.listen.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return { host: this.#options.listen.host, port: (this.#server.address() as AddressInfo).port };
  }

  /** Stops taking connections; resolves once every request in flight was answered. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      this.#fastWrites.close();
      this.#queryRelays.closeIdle();
    });
    return this.#closing;
  }

  /** Ends every client connection now, on both paths. */
  destroy(): void {
    void this.close();
    this.#server.closeAllConnections();
    this.#fastWrites.destroy();
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = clientGoneSignal(res);
    identifyAsInfluxd(res, this.#options.influxdVersion?.());
    this.#reportWhenDone(req, res);
    let release: (() => void) | undefined;
    try {
      const refusal = this.#options.refusal?.();
      if (refusal) {
        // The body is read (and dropped) first: answering while the client still sends it
        // breaks its pipe (EPIPE) instead of telling it why.
        const drained = await drainBody(req, this.#options.maxBodyBytes);
        sendInfluxJson(res, 503, { error: `this node does not serve: ${refusal}` }, false, drained ? {} : { connection: 'close' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://proxy');
      if (req.method === 'POST' && url.pathname === '/write') {
        const length = declaredLength(req);
        if (this.#options.writes.streamsLocally(url.searchParams, length)) {
          this.#options.events?.relayed(length ?? 0, false);
          return await this.#options.influxd.pipe(req, res);
        }
      }
      // Room for the body first: waiting unread holds the client back (TCP), the memory stays bounded.
      release = await this.#options.bodyBudget.take(bodyBytesOf(req, this.#options.maxBodyBytes), gone);
      const body = await readLimitedBody(req, this.#options.maxBodyBytes);
      if (body === undefined) {
        // influxd's text; the limit is --max-body-size.
        sendInfluxJson(res, 413, { error: 'Request Entity Too Large' }, false, { connection: 'close' });
        return;
      }
      const request = parseInfluxRequest(req, body, gone);
      if (request.path === '/health') {
        // influxd 1.6 has no /health; the proxy answers in the shape later influxd versions use.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: 'clusterflux', message: 'ready for queries and writes', status: 'pass', checks: [], version: CFLUX_VERSION }));
      } else if (request.path === '/api/v2/write' && request.method === 'POST') {
        const translated = v2WriteRequest(request);
        if ('error' in translated) sendInfluxJson(res, translated.status, { error: translated.error });
        else await this.#options.writes.handle(translated, res);
      } else if (request.path === '/api/v2/query') {
        // InfluxDB 1.8 answers 403 while Flux is off; here it is never on.
        sendInfluxJson(res, 403, { error: V2_QUERY_REFUSAL });
      } else if (request.path.startsWith('/api/v2/')) {
        sendInfluxJson(res, 404, { error: `${request.path} is not part of the InfluxDB 1.x API; of the v2 API only /api/v2/write (and /health) are served` });
      } else if (request.path === '/query') await this.#options.queries.handle(request, res);
      else if (request.path === '/write' && request.method === 'POST') await this.#options.writes.handle(request, res);
      else await this.#options.influxd.forward(request, res);
    } catch (err) {
      // The client left: what it started was cancelled, and nobody is there to answer.
      if (gone.aborted) return void res.destroy();
      // The path only: the query string may carry a password (p=...).
      this.#options.logger.warn({ reason: messageOf(err), path: (req.url ?? '').split('?')[0] }, 'proxy request failed');
      if (!res.headersSent) {
        sendInfluxJson(res, 502, { error: `proxy: ${messageOf(err)}` });
      } else {
        res.destroy();
      }
    } finally {
      release?.();
    }
  }

  /** Reports the request once its answer is done or its connection gone: route, method, status and time taken. */
  #reportWhenDone(req: IncomingMessage, res: ServerResponse): void {
    const events = this.#options.events;
    if (!events) return;
    const started = performance.now();
    // The path as sent (no URL parsing here: a malformed target must still be answered, and counted as `other`).
    const path = (req.url ?? '/').split('?', 1)[0]!;
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_STATUS;
      events.answered(proxyRouteOf(path), methodLabel(req.method ?? 'GET'), status, (performance.now() - started) / 1000);
    });
  }
}

/** The bytes a request's body will hold: its Content-Length, or the limit when it has none announced (chunked). */
function bodyBytesOf(req: IncomingMessage, limit: number): number {
  const declared = declaredLength(req);
  if (declared !== undefined) return Math.min(declared, limit);
  return req.headers['transfer-encoding'] === undefined ? 0 : limit;
}

/** A `GET /query` or `POST /query` (its small form body lent along), or a bodiless GET (`/ping`...). */
function isQueryOrBodilessGet(request: PlainRequest): boolean {
  const path = request.target.split('?', 1)[0];
  return (request.method === 'GET' && request.contentLength === 0) || (request.method === 'POST' && path === '/query');
}

/** What the fast path reports: its writes relayed (all `POST /write`) and their answers. */
function fastPathReports(events: ProxyEvents): Required<Pick<FastWritePathOptions, 'onRelayed' | 'onAnswered'>> {
  return {
    // Queries are counted where they are routed (ClientQueryRelays), by where they went.
    onRelayed: (route, bytes) => (route === 'write' ? events.relayed(bytes, true) : undefined),
    onAnswered: (route, status, seconds) => events.answered(route, route === 'write' ? 'POST' : 'GET', status ?? CLIENT_CLOSED_STATUS, seconds),
  };
}
