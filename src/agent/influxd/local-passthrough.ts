import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { InfluxRequest } from './influx-request.ts';
import { CFLUX_VERSION } from '../../shared/version.ts';

/** Response headers of influxd worth handing back to the client. */
const RETURNED_HEADERS = ['content-type', 'content-encoding', 'x-influxdb-version', 'x-influxdb-build', 'x-influxdb-error', 'request-id', 'x-request-id'];

/**
 * Sends a request to the local influxd unchanged (keep-alive pool) and
 * streams its answer back: status, InfluxDB headers and body.
 */
export class LocalPassthrough {
  readonly #pool: Pool;

  constructor(influxdUrl: string) {
    this.#pool = new Pool(influxdUrl, { connections: 16, keepAliveTimeout: 30_000 });
  }

  async forward(request: InfluxRequest, res: ServerResponse, override?: { params?: URLSearchParams }): Promise<void> {
    const params = override?.params ?? request.params;
    const isForm = request.method === 'POST' && (request.forwardHeaders['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const query = isForm ? '' : `?${params.toString()}`;
    const body = isForm ? Buffer.from(params.toString()) : request.body;
    const upstream = await this.#pool.request({
      method: request.method as 'GET' | 'POST',
      path: `${request.path}${query}`,
      headers: request.forwardHeaders,
      body: request.method === 'GET' || request.method === 'HEAD' ? null : body,
    });
    const headers: Record<string, string> = {};
    for (const name of RETURNED_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers['x-clusterflux-version'] = CFLUX_VERSION;
    res.writeHead(upstream.statusCode, headers);
    for await (const chunk of upstream.body) res.write(chunk);
    res.end();
  }

  /** Runs one statement for a client (its own credentials and parameters); returns influxd's status and parsed body. */
  async query(params: URLSearchParams, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const upstream = await this.#pool.request({
      method: 'POST',
      path: '/query',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });
    const text = await upstream.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (e.g. chunked or CSV output): handed back as text
    }
    return { status: upstream.statusCode, body };
  }

  /**
   * Streams a request (its body unread) to influxd and influxd's answer
   * back: no buffering. For writes whose only owner is this node, and for
   * peer writes (`override`: the influxd path and the client's own
   * credentials instead of the peer token).
   */
  async pipe(req: IncomingMessage, res: ServerResponse, override?: { path: string; authorization: string | undefined }): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'content-encoding', 'content-length']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    if (override) {
      delete headers['authorization'];
      if (override.authorization !== undefined) headers['authorization'] = override.authorization;
    }
    const upstream = await this.#pool.request({ method: 'POST', path: override?.path ?? req.url ?? '/write', headers, body: req });
    const answer: Record<string, string> = { 'x-clusterflux-version': CFLUX_VERSION };
    for (const name of RETURNED_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === 'string') answer[name] = value;
    }
    res.writeHead(upstream.statusCode, answer);
    for await (const chunk of upstream.body) res.write(chunk);
    res.end();
  }

  /** POST /write with the given parameters and line-protocol body; influxd's status and body. */
  async write(params: URLSearchParams, body: Buffer, authorization: string | undefined): Promise<{ status: number; body: string }> {
    const upstream = await this.#pool.request({
      method: 'POST',
      path: `/write?${params}`,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...(authorization ? { authorization } : {}) },
      body,
    });
    return { status: upstream.statusCode, body: await upstream.body.text() };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
