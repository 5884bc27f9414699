import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent as UndiciAgent } from 'undici';
import { pickHeaders } from '../../shared/http/header-copy.ts';
import { RETURNED_HEADERS } from '../influxd/local-passthrough.ts';
import { CLIENT_AUTHORIZATION_HEADER, METADATA_REVISION_HEADER } from './peer-api.ts';
import { trustedCertificates } from '../../shared/http/trusted-certificates.ts';

/** What another agent (or the local influxd) answered. */
export interface PeerAnswer {
  status: number;
  body: string;
}

/**
 * Calls other agents' peer APIs over keep-alive connection pools (undici):
 * the data path, where per-request cost shows.
 */
export class PeerClient {
  readonly #dispatcher: UndiciAgent;
  readonly #token: string | undefined;
  /** The revision of the cluster document this agent has applied, sent with every request (read-your-DDL). */
  readonly #revision: (() => number) | undefined;
  /** `https` when the peers serve TLS (this agent does: all agents of a cluster do or none). */
  readonly #scheme: 'http' | 'https';
  #closing: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  /**
   * `token`: the peer token (none with --insecure-peer). `tls`: dial peers
   * over HTTPS, trusting `ca` besides Node's defaults and checking each
   * certificate against `servername` (one shared peer certificate) or else
   * the peer's own host.
   */
  constructor(options: { token?: string; tls?: { ca?: string; servername?: string }; revision?: () => number } = {}) {
    this.#token = options.token;
    this.#revision = options.revision;
    this.#scheme = options.tls ? 'https' : 'http';
    const ca = trustedCertificates(options.tls?.ca);
    const connect = options.tls ? { ...(ca ? { ca } : {}), ...(options.tls.servername ? { servername: options.tls.servername } : {}) } : undefined;
    this.#dispatcher = new UndiciAgent({ connections: 16, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 60_000, ...(connect ? { connect } : {}) });
  }

  /** POST /peer/v1/write on the agent at `address` (host:port). */
  write(address: string, params: URLSearchParams, body: Buffer, clientAuthorization: string | undefined, signal?: AbortSignal): Promise<PeerAnswer> {
    return this.#post(address, `/peer/v1/write?${params}`, body, 'text/plain; charset=utf-8', clientAuthorization, signal);
  }

  /** POST /peer/v1/query on the agent at `address`; params travel as a form body. */
  query(address: string, params: URLSearchParams, clientAuthorization: string | undefined, signal?: AbortSignal): Promise<PeerAnswer> {
    return this.#post(address, '/peer/v1/query', Buffer.from(params.toString()), 'application/x-www-form-urlencoded', clientAuthorization, signal);
  }

  /**
   * POST /peer/v1/query and stream the answer straight to `res` (status,
   * content type and body as influxd produced them: chunked output stays
   * chunked). Throws before anything was written when the peer cannot be reached.
   */
  async pipeQuery(address: string, params: URLSearchParams, clientAuthorization: string | undefined, res: ServerResponse, signal?: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (clientAuthorization !== undefined) headers[CLIENT_AUTHORIZATION_HEADER] = clientAuthorization;
    if (this.#revision) headers[METADATA_REVISION_HEADER] = String(this.#revision());
    const response = await this.#dispatcher.request({ origin: `${this.#scheme}://${address}`, path: '/peer/v1/query', method: 'POST', headers, body: params.toString(), ...(signal ? { signal } : {}) });
    if (response.statusCode >= 500) {
      await response.body.dump();
      throw new Error(`peer ${address} answered ${response.statusCode}`);
    }
    res.writeHead(response.statusCode, pickHeaders(response.headers, [...RETURNED_HEADERS, 'x-clusterflux-version']));
    await pipeline(response.body, res);
  }

  async #post(address: string, path: string, body: Buffer, contentType: string, clientAuthorization: string | undefined, signal: AbortSignal | undefined): Promise<PeerAnswer> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (clientAuthorization !== undefined) headers[CLIENT_AUTHORIZATION_HEADER] = clientAuthorization;
    if (this.#revision) headers[METADATA_REVISION_HEADER] = String(this.#revision());
    const response = await this.#dispatcher.request({ origin: `${this.#scheme}://${address}`, path, method: 'POST', headers, body, ...(signal ? { signal } : {}) });
    return { status: response.statusCode, body: await response.body.text() };
  }

  /** Lets requests in flight finish, then closes the pools. */
  close(): Promise<void> {
    this.#closing ??= this.#dispatcher.close().catch(() => undefined);
    return this.#closing;
  }

  /** Aborts requests in flight and closes every connection now. */
  destroy(): Promise<void> {
    this.#destroying ??= this.#dispatcher.destroy().catch(() => undefined);
    return this.#destroying;
  }
}
