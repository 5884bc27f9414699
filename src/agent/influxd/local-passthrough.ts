import type { IncomingMessage, ServerResponse } from 'node:http';
import { pickHeaders } from '../../shared/http/header-copy.ts';
import { parseJsonOrText } from '../../shared/http/json-http.ts';
import { CFLUX_VERSION } from '../../shared/version.ts';
import { streamAnswer } from '../../shared/http/answer-stream.ts';
import type { InfluxRequest } from './influx-request.ts';
import type { InfluxdEndpoint } from './influxd-endpoint.ts';
import { readBodyText, type HttpResponse, readBodyBytes } from '../../shared/http/http-client.ts';

/** Response headers of influxd worth handing back to the client. */
export const RETURNED_HEADERS = ['content-type', 'content-encoding', 'x-influxdb-version', 'x-influxdb-build', 'x-influxdb-error', 'request-id', 'x-request-id'];
/** Request headers a streamed write carries to influxd. */
const STREAMED_WRITE_HEADERS = ['authorization', 'content-type', 'content-encoding', 'content-length'];

/**
 * Client requests to the local influxd, over the endpoint's keep-alive pool:
 * forwarded unchanged or streamed, with influxd's answer (status, InfluxDB
 * headers, body) streamed back with backpressure (streamAnswer), so a slow client
 * slows influxd's answer instead of filling the agent's memory.
 */
export class LocalPassthrough {
  readonly #endpoint: InfluxdEndpoint;

  constructor(endpoint: InfluxdEndpoint) {
    this.#endpoint = endpoint;
  }

  async forward(request: InfluxRequest, res: ServerResponse, override?: { params?: URLSearchParams }): Promise<void> {
    const params = override?.params ?? request.params;
    const isForm = request.method === 'POST' && (request.forwardHeaders['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    // influxd reads u and p from the URL only (a form body's never count): the URL's stay there.
    const inUrl = isForm ? urlCredentialsOf(request) : params;
    const query = inUrl.size === 0 ? '' : `?${inUrl.toString()}`;
    const body = isForm ? Buffer.from(withoutCredentials(params).toString()) : request.body;
    const upstream = await this.#endpoint.request({
      method: request.method,
      path: `${request.path}${query}`,
      headers: request.forwardHeaders,
      // influxd reads a body only on POST; anything else it answers without reading one.
      body: request.method === 'POST' ? body : null,
      signal: request.signal,
    });
    await relayAnswer(upstream, res);
  }

  /** Runs one statement; influxd's status and its answer as text (for readers that must keep exact numbers). */
  async queryText(params: URLSearchParams, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const { status, body } = await this.queryBytes(params, headers, signal);
    return { status, body: body.toString('utf8') };
  }

  /** Runs one statement; influxd's status, content type and answer as bytes (a MessagePack answer, when `headers` ask for one). */
  async queryBytes(params: URLSearchParams, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; contentType: string; body: Buffer }> {
    const upstream = await this.#endpoint.request({
      method: 'POST',
      path: '/query',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
      ...(signal ? { signal } : {}),
    });
    return { status: upstream.statusCode, contentType: String(upstream.headers['content-type'] ?? ''), body: await readBodyBytes(upstream.body) };
  }

  /** Runs one statement for a client (its own credentials and parameters); returns influxd's status and parsed body. */
  async query(params: URLSearchParams, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    const { status, body } = await this.queryText(params, headers, signal);
    // Not JSON (e.g. chunked or CSV output): handed back as text.
    return { status, body: parseJsonOrText(body) };
  }

  /**
   * Streams a request (its body unread) to influxd and influxd's answer
   * back: no buffering. For writes whose only owner is this node, and for
   * peer writes (`override`: the influxd path and the client's own
   * credentials instead of the peer token).
   */
  async pipe(req: IncomingMessage, res: ServerResponse, override?: { path: string; authorization: string | undefined }): Promise<void> {
    const headers = pickHeaders(req.headers, STREAMED_WRITE_HEADERS);
    if (override) {
      delete headers['authorization'];
      if (override.authorization !== undefined) headers['authorization'] = override.authorization;
    }
    const upstream = await this.#endpoint.request({ method: 'POST', path: override?.path ?? req.url ?? '/write', headers, body: req });
    await relayAnswer(upstream, res, req);
  }

  /** POST /write with the given parameters and line-protocol body; influxd's status and body. */
  async write(params: URLSearchParams, body: Buffer, authorization: string | undefined, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const upstream = await this.#endpoint.request({
      method: 'POST',
      path: `/write?${params}`,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...(authorization ? { authorization } : {}) },
      body,
      ...(signal ? { signal } : {}),
    });
    return { status: upstream.statusCode, body: await readBodyText(upstream.body) };
  }
}

/** influxd's answer to the client: status, the headers worth keeping, and the body streamed with backpressure. */
async function relayAnswer(upstream: HttpResponse, res: ServerResponse, streamed?: IncomingMessage): Promise<void> {
  // influxd answered before it read the whole body (a refusal): the rest of the body is still on the
  // client's connection, so it cannot carry another request: close it after this answer.
  const unread = streamed !== undefined && !streamed.complete;
  res.writeHead(upstream.statusCode, { ...pickHeaders(upstream.headers, RETURNED_HEADERS), 'x-clusterflux-version': CFLUX_VERSION, ...(unread ? { connection: 'close' } : {}) });
  await streamAnswer(upstream.body, res);
}

/** The URL's `u` and `p` (when both were set) as parameters. */
function urlCredentialsOf(request: InfluxRequest): URLSearchParams {
  const credentials = request.urlCredentials;
  return credentials ? new URLSearchParams({ u: credentials.user, p: credentials.password }) : new URLSearchParams();
}

/** Every parameter but `u` and `p`. */
function withoutCredentials(params: URLSearchParams): URLSearchParams {
  const rest = new URLSearchParams(params);
  rest.delete('u');
  rest.delete('p');
  return rest;
}
