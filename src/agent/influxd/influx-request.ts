import type { IncomingMessage } from 'node:http';
import { pickHeaders } from '../../shared/http/header-copy.ts';

/** Request headers carried to influxd, so it still decides authorization and formats the answer as asked. */
const FORWARDED_HEADERS = ['authorization', 'content-type', 'content-encoding', 'accept', 'accept-encoding', 'user-agent'];

/** The parts of an InfluxDB 1.x HTTP request the proxy looks at. */
export interface InfluxRequest {
  method: string;
  path: string;
  /** URL query parameters merged with a urlencoded POST body (body wins, as in influxd). */
  params: URLSearchParams;
  /** The raw body as received. */
  body: Buffer;
  /** Headers to carry to influxd so it still decides authorization (Authorization, content type). */
  forwardHeaders: Record<string, string>;
  /** `u` and `p` of the URL, when both are set: influxd's first choice of credentials (never the form body's). */
  urlCredentials?: { user: string; password: string };
  /** Aborted when the client goes away before its answer: every request made for it (influxd, peers) stops. */
  signal: AbortSignal;
}

/** A signal aborted when the client's connection closes before the answer was sent in full. */
export function clientGoneSignal(res: import('node:http').ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client went away'));
  });
  return controller.signal;
}

/** Reads a request body and drops it; false (the rest left unread) once it passed `limit` bytes. */
export async function drainBody(req: IncomingMessage, limit: number): Promise<boolean> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return false;
  }
  return true;
}

/** The body length a request announces (`Content-Length`), if it announces a valid one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  if (req.headers['content-length'] === undefined) return undefined;
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/**
 * Reads a request body up to `limit` bytes; undefined when larger. A body
 * of announced length (every client here sends one) is copied into one
 * buffer of that size as it arrives, so each socket chunk is garbage at
 * once and no second, joined copy is made: the bytes a write holds are its
 * body, once (docs/agent.md "Memory").
 */
export async function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared <= limit) {
    const body = Buffer.allocUnsafe(declared);
    let size = 0;
    for await (const chunk of req) {
      // Node's parser never passes more than Content-Length; a body cut short fails the loop.
      if (size + (chunk as Buffer).length > declared) return undefined;
      size += (chunk as Buffer).copy(body, size);
    }
    return body.subarray(0, size);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses method, path, parameters and forwardable headers of a request whose body was read. */
export function parseInfluxRequest(req: IncomingMessage, body: Buffer, signal: AbortSignal): InfluxRequest {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const params = new URLSearchParams(url.searchParams);
  const contentType = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value);
  }
  const forwardHeaders = pickHeaders(req.headers, FORWARDED_HEADERS);
  const [user, password] = [url.searchParams.get('u') ?? '', url.searchParams.get('p') ?? ''];
  const urlCredentials = user !== '' && password !== '' ? { urlCredentials: { user, password } } : {};
  return { method: req.method ?? 'GET', path: url.pathname, params, body, forwardHeaders, signal, ...urlCredentials };
}

/**
 * The client's credentials as an Authorization header, chosen as influxd 1.6
 * chooses (parseCredentials): `u` and `p` of the URL when both are set (as
 * Basic auth), else the client's Authorization header.
 */
export function clientAuthorization(request: InfluxRequest): Record<string, string> {
  const credentials = request.urlCredentials;
  if (credentials) return { authorization: `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}` };
  return request.forwardHeaders['authorization'] ? { authorization: request.forwardHeaders['authorization'] } : {};
}
