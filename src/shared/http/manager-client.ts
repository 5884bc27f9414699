import got, { type Method } from 'got';
import { CfluxError, messageOf } from '../errors.ts';
import { isRecoverable, isRecoverableStatus, UnavailableAnswerError } from '../recoverable.ts';
import { withRetries, type RetryPolicy } from '../retry-policy.ts';
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

/**
 * HTTP client of the manager API (control plane, so got). Tries the
 * endpoints in turn, starting from the last one that answered, with
 * exponential backoff and full jitter between attempts (the shared retry
 * policy: what is worth another attempt is decided by `isRecoverable`).
 */
export class ManagerClient {
  readonly #options: ManagerClientOptions;
  readonly #policy: RetryPolicy;
  readonly #headers: Record<string, string>;
  readonly #ca: string[] | undefined;
  #preferred = 0;

  constructor(options: ManagerClientOptions) {
    if (options.endpoints.length === 0) throw new CfluxError('INVALID_SETTING', 'no manager endpoint configured');
    this.#options = options;
    this.#policy = { attempts: options.attempts, baseMs: options.backoffBaseMs, capMs: options.backoffCapMs, ...(options.random ? { random: options.random } : {}) };
    this.#headers = bearer(options.token);
    this.#ca = trustedCertificates(options.ca);
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

  /** One attempt on one endpoint; got's errors become ClusterFlux errors here (the boundary). */
  async #attempt<T>(index: number, method: Method, path: string, options: RequestOptions): Promise<ManagerReply<T>> {
    const endpoint = this.#options.endpoints[index]!;
    let response;
    try {
      response = await got(endpoint + path, {
        method,
        headers: { ...this.#headers, ...options.headers },
        ...(this.#ca ? { https: { certificateAuthority: this.#ca } } : {}),
        ...(options.json === undefined ? {} : { json: options.json }),
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: this.#options.timeoutMs + (options.extraTimeoutMs ?? 0) },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `${endpoint}: ${messageOf(err)}`, { cause: err });
    }
    const body = parseJsonOrText(response.body);
    if (isRecoverableStatus(response.statusCode)) {
      const says = typeof body === 'object' && body !== null && 'error' in body ? `: ${errorTextOf(body)}` : '';
      throw new UnavailableAnswerError(response.statusCode, `${endpoint} answered ${response.statusCode}${says}`);
    }
    this.#preferred = index;
    return { status: response.statusCode, body: body as T, endpoint };
  }
}
