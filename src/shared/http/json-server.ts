import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { nodeHttp, nodeHttps } from '../node-builtins.ts';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { httpStatusOf, messageOf } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { HostPort } from '../config/parsers.ts';
import { drainRequest, errorReply, sendReply, type JsonReply } from './json-http.ts';
import type { Principal, Router } from './router.ts';

export interface JsonServerOptions {
  router: Router;
  listen: HostPort;
  logger: Logger;
  /**
   * Who a request comes from, for every route that is not public; undefined
   * means no valid credential, answered 401 (with `challenge` as
   * WWW-Authenticate) before the handler runs. Without it, every route is open.
   */
  authenticate?: (req: IncomingMessage) => Principal | undefined;
  /** The 401 answer's error text and WWW-Authenticate values. */
  challenge?: { error: string; schemes: string[] };
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string; key: string };
  /** Called once per answered request, for metrics. */
  onAnswered?: (route: string, method: string, status: number, seconds: number) => void;
  /**
   * Meets every new connection (after TLS) before the HTTP server does, and
   * gives it (or an in-process one) to `serve` for anything it does not
   * handle itself: the agent's raw relay of peer queries.
   */
  front?: ConnectionFront;
}

/** How long a request head may take to arrive (slow-loris protection). */
export const HEADERS_TIMEOUT_MS = 20_000;
/** How long a connection may idle between requests. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** See JsonServerOptions.front. */
export interface ConnectionFront {
  accept(connection: Socket, serve: (connection: Duplex) => void): void;
  /** Idle connections close now, busy ones after their answer. */
  close(): void;
  /** Every connection ends now. */
  destroy(): void;
}

/** A running JSON API server. */
export interface JsonServer {
  /** The bound address (port resolved when 0 was asked). */
  readonly address: HostPort;
  /** `https` when serving TLS. */
  readonly scheme: 'http' | 'https';
  readonly server: Server;
  /** Stops accepting connections and resolves once requests in flight have finished. Safe twice. */
  close(): Promise<void>;
  /** Closes every connection now (see closeWithin for a drain with a deadline). */
  destroy(): void;
}

/**
 * Serves a Router over HTTP: every answer is JSON (errors `{"error": ...}`),
 * every thrown error becomes its status, and nothing a client sends can take
 * the process down.
 */
export async function startJsonServer(options: JsonServerOptions): Promise<JsonServer> {
  const { router, logger } = options;
  const server: Server = options.tls
    ? nodeHttps().createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => void dispatch(req, res))
    : nodeHttp.createServer((req, res) => void dispatch(req, res));
  // Long-polls hold requests for minutes: no overall request deadline, but
  // headers must arrive promptly (slow-loris protection).
  server.requestTimeout = 0;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxHeadersCount = 100;

  let closing: Promise<void> | undefined;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let routeLabel = 'unmatched';
    let reply: JsonReply;
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const match = router.match(method, url.pathname);
      if ('route' in match) {
        routeLabel = match.route.pattern;
        const principal = match.route.access === 'public' || !options.authenticate ? undefined : options.authenticate(req);
        if (options.authenticate && match.route.access !== 'public' && !principal) {
          reply = { status: 401, body: { error: options.challenge?.error ?? 'missing or wrong credentials' } };
          if (options.challenge) res.setHeader('www-authenticate', options.challenge.schemes);
        } else {
          reply = await match.route.handler({ req, res, params: match.params, query: url.searchParams, signal: aborted.signal, principal });
        }
      } else {
        reply = match;
      }
    } catch (err) {
      const status = httpStatusOf(err);
      if (status >= 500) logger.warn({ err, route: routeLabel, method }, 'request failed');
      reply = errorReply(status, status === 500 ? `internal error: ${messageOf(err)}` : messageOf(err));
    }
    // A body left unread (refused, or answered before it was read) may still be
    // arriving: read and drop it (bounded) so the client sees the answer, then
    // close the connection; a closing server must not keep sockets alive either.
    if (!reply.handled && !req.complete && reply.status >= 400 && reply.status !== 413) await drainRequest(req);
    const extra: Record<string, string> = reply.status === 413 || !req.complete || closing ? { connection: 'close' } : {};
    sendReply(res, reply, extra);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    options.onAnswered?.(routeLabel, method, reply.status, seconds);
  }

  if (options.front) {
    const front = options.front;
    // https serves each connection once its TLS handshake is done.
    const event = options.tls ? 'secureConnection' : 'connection';
    const [serve] = server.listeners(event) as Array<(connection: Duplex) => void>;
    server.removeListener(event, serve!);
    server.on(event, (socket: Socket) => front.accept(socket, (connection) => serve!.call(server, connection)));
  }

  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"malformed HTTP request"}');
    else socket.destroy(err);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      options.front?.close();
    });
    return closing;
  };

  return {
    address: { host: options.listen.host, port: bound.port },
    scheme: options.tls ? 'https' : 'http',
    server,
    close,
    destroy() {
      void close();
      server.closeAllConnections();
      options.front?.destroy();
    },
  };
}
