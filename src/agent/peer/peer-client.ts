import type { ServerResponse } from 'node:http';
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { nodeTls } from '../../shared/node-builtins.ts';
import { pickHeaders } from '../../shared/http/header-copy.ts';
import { HttpClient, readBodyText, type HttpRequestOptions, type HttpResponse, readBodyBytes } from '../../shared/http/http-client.ts';
import { trustedCertificates } from '../../shared/http/trusted-certificates.ts';
import { RETURNED_HEADERS } from '../influxd/local-passthrough.ts';
import { CLIENT_AUTHORIZATION_HEADER, METADATA_REVISION_HEADER } from './peer-api.ts';
import { streamAnswer } from '../../shared/http/answer-stream.ts';

/** What another agent (or the local influxd) answered. */
export interface PeerAnswer {
  status: number;
  body: string;
}

/**
 * How a request to another agent ended: `ok` (an answer below 500: the
 * agent did its part, even when influxd refused), `server_error` (a 5xx
 * answer), `unreachable` (no answer: refused, reset, timed out) or
 * `cancelled` (the caller gave up first, e.g. its client left).
 */
export type PeerOutcome = 'ok' | 'server_error' | 'unreachable' | 'cancelled';

/**
 * A peer that does not answer a write or query for this long (no byte) is
 * given up on: the write counts as failed (and is queued for it), the query
 * goes to another owner.
 */
const PEER_IDLE_TIMEOUT_MS = 30_000;

/**
 * Calls other agents' peer APIs over one keep-alive client per peer (the
 * data path, where per-request cost shows), with the peer token, the
 * client's own credentials and this agent's applied metadata revision.
 */
export class PeerClient {
  readonly #token: string | undefined;
  /** The revision of the cluster document this agent has applied, sent with every request (read-your-DDL). */
  readonly #revision: (() => number) | undefined;
  /** `https` when the peers serve TLS (this agent does: all agents of a cluster do or none). */
  readonly #scheme: 'http' | 'https';
  readonly #ca: string[] | undefined;
  readonly #servername: string | undefined;
  readonly #clients = new Map<string, HttpClient>();
  /** When each address last answered (any HTTP status: its agent is there). */
  readonly #answeredAt = new Map<string, number>();
  readonly #onRequest: ((address: string, outcome: PeerOutcome, seconds: number) => void) | undefined;
  #closed = false;

  /**
   * `token`: the peer token (none with --insecure-peer). `tls`: dial peers
   * over HTTPS, trusting `ca` besides Node's defaults and checking each
   * certificate against `servername` (one shared peer certificate) or else
   * the peer's own host. `onRequest`: told how every request ended and the
   * seconds until its answer's head arrived (or it failed).
   */
  constructor(options: { token?: string; tls?: { ca?: string; servername?: string }; revision?: () => number; onRequest?: (address: string, outcome: PeerOutcome, seconds: number) => void } = {}) {
    this.#token = options.token;
    this.#onRequest = options.onRequest;
    this.#revision = options.revision;
    this.#scheme = options.tls ? 'https' : 'http';
    this.#ca = options.tls ? trustedCertificates(options.tls.ca) : undefined;
    this.#servername = options.tls?.servername;
  }

  /** POST /peer/v1/write on the agent at `address` (host:port). */
  async write(address: string, params: URLSearchParams, body: Buffer, clientAuthorization: string | undefined, signal?: AbortSignal): Promise<PeerAnswer> {
    return this.#text(await this.#post(address, `/peer/v1/write?${params}`, body, 'text/plain; charset=utf-8', clientAuthorization, signal));
  }

  /** POST /peer/v1/replay on the agent at `address`: a hinted-handoff batch, written with that agent's own identity. */
  async replay(address: string, params: URLSearchParams, body: Buffer, signal?: AbortSignal): Promise<PeerAnswer> {
    return this.#text(await this.#post(address, `/peer/v1/replay?${params}`, body, 'text/plain; charset=utf-8', undefined, signal));
  }

  /** Whether the agent at `address` says it is ready (GET /readyz answers 200 within `timeoutMs`). */
  async ready(address: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      const response = await this.#request(address, { method: 'GET', path: '/readyz', signal: signal ? AbortSignal.any([signal, deadline]) : deadline }, signal);
      response.body.resume();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** POST /peer/v1/query on the agent at `address`; params travel as a form body. */
  async query(address: string, params: URLSearchParams, clientAuthorization: string | undefined, signal?: AbortSignal): Promise<PeerAnswer> {
    return this.#text(await this.#post(address, '/peer/v1/query', Buffer.from(params.toString()), 'application/x-www-form-urlencoded', clientAuthorization, signal));
  }

  /** POST /peer/v1/query asking for `accept` (MessagePack): status, content type and the answer's bytes. */
  async queryBytes(address: string, params: URLSearchParams, clientAuthorization: string | undefined, accept: string, signal?: AbortSignal): Promise<{ status: number; contentType: string; body: Buffer }> {
    const response = await this.#post(address, '/peer/v1/query', Buffer.from(params.toString()), 'application/x-www-form-urlencoded', clientAuthorization, signal, accept);
    return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: await readBodyBytes(response.body) };
  }

  /**
   * POST /peer/v1/query and stream the answer straight to `res` (status,
   * content type and body as influxd produced them: chunked output stays
   * chunked). Throws before anything was written when the peer cannot be reached.
   */
  async pipeQuery(address: string, params: URLSearchParams, clientAuthorization: string | undefined, res: ServerResponse, signal?: AbortSignal, accept?: string): Promise<void> {
    const response = await this.#post(address, '/peer/v1/query', Buffer.from(params.toString()), 'application/x-www-form-urlencoded', clientAuthorization, signal, accept);
    if (response.statusCode >= 500) {
      response.body.resume();
      throw new Error(`peer ${address} answered ${response.statusCode}`);
    }
    res.writeHead(response.statusCode, pickHeaders(response.headers, [...RETURNED_HEADERS, 'x-clusterflux-version']));
    await streamAnswer(response.body, res);
  }

  /**
   * A new connection to the agent at `address` (TCP, or TLS with this
   * client's trust), for code that writes its requests itself: the raw query
   * relay, which sends peerHeaderLines() with each.
   */
  connect(address: string): Duplex {
    const url = new URL(`http://${address}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 80);
    const socket = this.#scheme === 'https' ? nodeTls().connect({ host, port, ...(this.#ca ? { ca: this.#ca } : {}), ...(this.#servername ? { servername: this.#servername } : {}) }) : connectTcp({ host, port });
    socket.setNoDelay(true);
    return socket;
  }

  /** The header lines (each ending in CRLF) every request to a peer carries: the peer token and this agent's metadata revision. */
  peerHeaderLines(): string {
    return `${this.#token !== undefined ? `Authorization: Bearer ${this.#token}\r\n` : ''}${this.#revision ? `${METADATA_REVISION_HEADER}: ${this.#revision()}\r\n` : ''}`;
  }

  /** Counts an exchange written by hand (the raw query relay) as one of this client's own: metrics and answeredWithin. */
  noteAnswer(address: string, outcome: 'ok' | 'unreachable', seconds: number): void {
    if (outcome === 'ok') this.#answeredAt.set(address, performance.now());
    this.#onRequest?.(address, outcome, seconds);
  }

  /** Whether the agent at `address` answered a request within the last `ms`. */
  answeredWithin(address: string, ms: number): boolean {
    const at = this.#answeredAt.get(address);
    return at !== undefined && performance.now() - at <= ms;
  }

  async #post(address: string, path: string, body: Buffer, contentType: string, clientAuthorization: string | undefined, signal: AbortSignal | undefined, accept?: string): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'content-type': contentType, ...(accept !== undefined ? { accept } : {}) };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (clientAuthorization !== undefined) headers[CLIENT_AUTHORIZATION_HEADER] = clientAuthorization;
    if (this.#revision) headers[METADATA_REVISION_HEADER] = String(this.#revision());
    return this.#request(address, { method: 'POST', path, headers, body, ...(signal ? { signal } : {}) }, signal);
  }

  /** One request to the agent at `address`, its outcome reported; `callerSignal` tells a cancellation from a timeout. */
  async #request(address: string, request: HttpRequestOptions, callerSignal: AbortSignal | undefined): Promise<HttpResponse> {
    const client = this.#client(address);
    const started = performance.now();
    const report = (outcome: PeerOutcome) => this.#onRequest?.(address, outcome, (performance.now() - started) / 1000);
    let response: HttpResponse;
    try {
      response = await client.request(request);
    } catch (err) {
      report(callerSignal?.aborted ? 'cancelled' : 'unreachable');
      throw err;
    }
    this.#answeredAt.set(address, performance.now());
    report(response.statusCode >= 500 ? 'server_error' : 'ok');
    return response;
  }

  async #text(response: HttpResponse): Promise<PeerAnswer> {
    return { status: response.statusCode, body: await readBodyText(response.body) };
  }

  #client(address: string): HttpClient {
    if (this.#closed) throw new Error('peer client is closed');
    let client = this.#clients.get(address);
    if (!client) {
      client = new HttpClient(`${this.#scheme}://${address}`, { maxSockets: 16, idleTimeoutMs: PEER_IDLE_TIMEOUT_MS, ...(this.#ca ? { ca: this.#ca } : {}), ...(this.#servername ? { servername: this.#servername } : {}) });
      this.#clients.set(address, client);
    }
    return client;
  }

  /** Lets requests in flight finish, then closes every connection. Safe twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#clients.values()].map((client) => client.close()));
  }

  /** Aborts requests in flight and closes every connection now. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#clients.values()].map((client) => client.destroy()));
  }
}
