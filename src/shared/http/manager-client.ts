import { setTimeout as sleep } from 'node:timers/promises';
import got, { type Method } from 'got';
import { backoffDelay } from '../backoff.ts';
import { CfluxError, messageOf } from '../errors.ts';

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

/** Statuses worth another attempt: the manager or its store is having trouble. */
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

/**
 * HTTP client of the manager API (control plane, so got). Tries the
 * endpoints in turn, starting from the last one that answered, with
 * exponential backoff and full jitter between attempts.
 */
export class ManagerClient {
  readonly #options: ManagerClientOptions;
  #preferred = 0;

  constructor(options: ManagerClientOptions) {
    if (options.endpoints.length === 0) throw new CfluxError('INVALID_SETTING', 'no manager endpoint configured');
    this.#options = options;
  }

  /** The endpoint tried first on the next call. */
  get currentEndpoint(): string {
    return this.#options.endpoints[this.#preferred]!;
  }

  /**
   * Sends one call. 4xx answers are returned, not thrown; network errors and
   * 502/503/504 are retried, then thrown as ManagerUnreachableError (with the
   * last 503 body's message when there was one).
   */
  async request<T = unknown>(method: Method, path: string, options: { json?: unknown; signal?: AbortSignal; extraTimeoutMs?: number } = {}): Promise<ManagerReply<T>> {
    const { endpoints, attempts } = this.#options;
    let lastProblem = 'no attempt made';
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const delay = backoffDelay(attempt - 1, { baseMs: this.#options.backoffBaseMs, capMs: this.#options.backoffCapMs, ...(this.#options.random ? { random: this.#options.random } : {}) });
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      }
      const index = (this.#preferred + attempt) % endpoints.length;
      const endpoint = endpoints[index]!;
      try {
        const response = await got(endpoint + path, {
          method,
          ...(options.json === undefined ? {} : { json: options.json }),
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: this.#options.timeoutMs + (options.extraTimeoutMs ?? 0) },
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const body = parseBody(response.body);
        if (RETRYABLE_STATUSES.has(response.statusCode)) {
          lastProblem = `${endpoint} answered ${response.statusCode}${errorText(body)}`;
          continue;
        }
        this.#preferred = index;
        return { status: response.statusCode, body: body as T, endpoint };
      } catch (err) {
        if (options.signal?.aborted) throw err;
        lastProblem = `${endpoint}: ${messageOf(err)}`;
      }
    }
    throw new ManagerUnreachableError(`manager unreachable after ${attempts} attempts (last: ${lastProblem})`);
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorText(body: unknown): string {
  return typeof body === 'object' && body !== null && 'error' in body ? `: ${String((body as { error: unknown }).error)}` : '';
}
