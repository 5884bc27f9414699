import type { IncomingMessage, ServerResponse } from 'node:http';
import { CfluxError } from '../errors.ts';
import { errorReply, type JsonReply } from './json-http.ts';

/** Everything a handler gets for one request. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters, percent-decoded, by name. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the client goes away before the answer is sent. */
  signal: AbortSignal;
  /** Who the request authenticated as (see JsonServerOptions.authenticate); undefined on public routes. */
  principal: Principal | undefined;
}

/** An authenticated caller: its role decides what it may do. */
export interface Principal {
  role: string;
}

/** Who may call a route: anyone, or only a caller with a valid credential. */
export type RouteAccess = 'public' | 'authenticated';

export type RouteHandler = (context: RouteContext) => Promise<JsonReply>;

export interface Route {
  method: string;
  /** e.g. `/nodes/:cluster/:id`; also the route label in metrics. */
  pattern: string;
  handler: RouteHandler;
  access: RouteAccess;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Matches a request path against route patterns. Path segments are split on
 * the raw `/` before decoding, so a cluster named `a/b` travels as `a%2Fb`
 * and stays one segment.
 */
export class Router {
  readonly #routes: Array<Route & { segments: string[] }> = [];

  /** Adds a route; it needs a valid credential unless `access` is 'public' (when the server authenticates at all). */
  add(method: string, pattern: string, handler: RouteHandler, access: RouteAccess = 'authenticated'): this {
    this.#routes.push({ method, pattern, handler, access, segments: pattern.split('/').slice(1) });
    return this;
  }

  /** The matching route, or a JSON error reply (400 bad encoding, 404, 405). */
  match(method: string, rawPath: string): RouteMatch | JsonReply {
    const rawSegments = rawPath.split('/').slice(1);
    let pathKnown = false;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, rawSegments);
      if (params === undefined) continue;
      if (params instanceof CfluxError) return errorReply(400, params.message);
      pathKnown = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    }
    return pathKnown ? errorReply(405, `method ${method} is not allowed on ${rawPath}`) : errorReply(404, `no such endpoint: ${rawPath}`);
  }
}

function matchSegments(pattern: string[], raw: string[]): Record<string, string> | CfluxError | undefined {
  if (pattern.length !== raw.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = raw[i]!;
    if (expected.startsWith(':')) {
      if (actual === '') return undefined;
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return new CfluxError('BAD_REQUEST', `path segment "${actual}" is not valid percent-encoding`);
      }
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}
