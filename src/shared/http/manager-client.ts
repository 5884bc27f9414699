import { CfluxError, messageOf } from '../errors.ts';
import { isRecoverable, isRecoverableStatus, UnavailableAnswerError } from '../recoverable.ts';
import { withRetries, type RetryPolicy } from '../retry-policy.ts';
import { HttpClient, readBodyText } from './http-client.ts';
import { errorTextOf, parseJsonOrText } from './json-http.ts';
import { bearer } from './credentials.ts';
import { trustedCertificates } from './trusted-certificates.ts';

export interface ManagerClientOptions {
  /** Manager base URLs; a failed call moves on to the next one. */
  endpoints: string[];
  /** Attempts per call across all endpoints (the first try included). */
  attempts: number;
  /** Deadline of one attempt, in ms (long-polls add their own wait). */
  timeoutMs: number;
  /** Backoff between attempts: full jitter between 0 and min(cap, base * 2^n). */
  backoffBaseMs: number;
  backoffCapMs: number;
  random?: () => number;
  /** Sent as `Authorization: Bearer` on every call (the agent or manager token). */
  token?: string;
  /** PEM certificates trusted for https managers, besides Node's defaults. */
  ca?: string;
}

/** A manager's answer: status and parsed JSON body (undefined for 204). */
export interface ManagerReply<T = unknown> {
  status: number;
  body: T;
  /** The endpoint that answered. */
  endpoint: string;
}

/** The manager could not be reached at all (every attempt failed). */
export class ManagerUnreachableError extends CfluxError {
  override name = 'ManagerUnreachableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('UPSTREAM_UNAVAILABLE', message, options);
  }
}

/** Options of one call. */
export interface RequestOptions {
  json?: unknown;
  signal?: AbortSignal;
  /** Added to the attempt's deadline (a long-poll's wait). */
  extraTimeoutMs?: number;
  headers?: Record<string, string>;
}

/** The HTTP methods the manager API uses. */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * HTTP client of the manager API (one keep-alive HttpClient per endpoint). Tries the
 * endpoints in turn, starting from the last one that answered, with
 * exponential backoff and full jitter between attempts (the shared retry
 * policy: what is worth another attempt is decided by `isRecoverable`).
 */
export class ManagerClient {
  readonly #options: ManagerClientOptions;
  readonly #policy: RetryPolicy;
  readonly #headers: Record<string, string>;
  readonly #clients: HttpClient[];
  #preferred = 0;

  constructor(options: ManagerClientOptions) {
    if (options.endpoints.length === 0) throw new CfluxError('INVALID_SETTING', 'no manager endpoint configured');
    this.#options = options;
    this.#policy = { attempts: options.attempts, baseMs: options.backoffBaseMs, capMs: options.backoffCapMs, ...(options.random ? { random: options.random } : {}) };
    this.#headers = bearer(options.token);
    const ca = trustedCertificates(options.ca);
    this.#clients = options.endpoints.map((endpoint) => new HttpClient(new URL(endpoint).origin, { maxSockets: 4, ...(ca ? { ca } : {}) }));
  }

  /** The endpoint tried first on the next call. */
  get currentEndpoint(): string {
    return this.#options.endpoints[this.#preferred]!;
  }

  /**
   * Sends one call. Answers that judge the request (2xx-4xx) are returned,
   * not thrown; network errors and answers saying the manager cannot serve
   * now (5xx) are retried on the next endpoint, then thrown as
   * ManagerUnreachableError naming the last problem.
   */
  async request<T = unknown>(method: Method, path: string, options: RequestOptions = {}): Promise<ManagerReply<T>> {
    const { endpoints, attempts } = this.#options;
    const first = this.#preferred;
    try {
      return await withRetries(this.#policy, (attempt) => this.#attempt<T>((first + attempt) % endpoints.length, method, path, options), options.signal);
    } catch (err) {
      if (options.signal?.aborted || !isRecoverable(err)) throw err;
      throw new ManagerUnreachableError(`manager unreachable after ${attempts} attempts (last: ${messageOf(err)})`, { cause: err });
    }
  }

  /** One attempt on one endpoint, within its deadline; network errors become ClusterFlux errors here (the boundary). */
  async #attempt<T>(index: number, method: Method, path: string, options: RequestOptions): Promise<ManagerReply<T>> {
    const endpoint = this.#options.endpoints[index]!;
    const timeoutMs = this.#options.timeoutMs + (options.extraTimeoutMs ?? 0);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers, ...options.headers };
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const response = await this.#clients[index]!.request({ method, path: new URL(endpoint).pathname.replace(/\/$/, '') + path, headers, body, signal });
      status = response.statusCode;
      text = await readBodyText(response.body);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const reason = deadline.aborted ? `no answer within ${timeoutMs} ms` : messageOf(err);
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `${endpoint}: ${reason}`, { cause: err });
    }
    const parsed = parseJsonOrText(text);
    if (isRecoverableStatus(status)) {
      const says = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? `: ${errorTextOf(parsed)}` : '';
      throw new UnavailableAnswerError(status, `${endpoint} answered ${status}${says}`);
    }
    this.#preferred = index;
    return { status, body: parsed as T, endpoint };
  }

  /** Closes the keep-alive connections (calls in flight finish first). Safe twice. */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.close()));
  }
}
