import { CfluxError, messageOf } from '../../shared/errors.ts';
import { basicAuthorization, type InfluxdCredentials } from './influxd-credentials.ts';
import type { InfluxdEndpoint } from './influxd-endpoint.ts';
import { readBodyText } from '../../shared/http/http-client.ts';

/** influxd's answer when auth is on and no user exists yet. */
export const NO_USERS_YET = 'create admin user first';

/** What a successful ping tells. */
export interface InfluxdPing {
  version: string;
  /** Whether influxd requires credentials (an anonymous query is refused). */
  authEnabled: boolean;
}

/** An abort signal for one call: the caller's, and a deadline. */
export function deadline(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** The error of a call that reached no answer from influxd (down, refused, timed out). */
export function unreachable(url: string, err: unknown): CfluxError {
  return new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${url} is not reachable: ${messageOf(err)}`, { cause: err });
}

/** The local influxd's health: reachable, which version, and whether it takes the agent's credentials. */
export class LocalInfluxd {
  readonly #endpoint: InfluxdEndpoint;
  readonly #headers: Record<string, string>;
  readonly #hasCredentials: boolean;
  readonly #timeoutMs: number;

  constructor(endpoint: InfluxdEndpoint, credentials: InfluxdCredentials | undefined, timeoutMs = 2000) {
    this.#endpoint = endpoint;
    this.#headers = basicAuthorization(credentials);
    this.#hasCredentials = credentials !== undefined;
    this.#timeoutMs = timeoutMs;
  }

  get url(): string {
    return this.#endpoint.url;
  }

  /**
   * GET /ping: resolves with influxd's version (X-Influxdb-Version), throws
   * UPSTREAM_UNAVAILABLE with the reason otherwise. With credentials, also
   * checks that influxd accepts them (/ping itself needs no auth in 1.x).
   */
  async ping(signal?: AbortSignal): Promise<InfluxdPing> {
    const { status, headers } = await this.#get('/ping', signal);
    if (status !== 204) throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} answered /ping with ${status}`);
    const version = headers['x-influxdb-version'];
    if (this.#hasCredentials) await this.#checkCredentials(signal);
    return { version: typeof version === 'string' ? version : 'unknown', authEnabled: await this.#authEnabled(signal) };
  }

  /** An anonymous SHOW DATABASES: answered with auth off, refused (401, or "create admin user first") with it on. */
  async #authEnabled(signal?: AbortSignal): Promise<boolean> {
    const { status } = await this.#get(`/query?${new URLSearchParams({ q: 'SHOW DATABASES' })}`, signal, {});
    return status !== 200;
  }

  async #checkCredentials(signal?: AbortSignal): Promise<void> {
    const { status, text } = await this.#get(`/query?${new URLSearchParams({ q: 'SHOW DATABASES' })}`, signal);
    // Auth on and no users yet: the metadata mirror creates the first admin user, which needs no credentials.
    if (text.includes(NO_USERS_YET)) return;
    if (status === 401 || status === 403) {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} rejected the configured credentials (${status}); check --influxd-credentials-file or INFLUX_USERNAME/INFLUX_PASSWORD`);
    }
  }

  async #get(path: string, signal?: AbortSignal, headers = this.#headers): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    try {
      const response = await this.#endpoint.request({ method: 'GET', path, headers, signal: deadline(this.#timeoutMs, signal) });
      return { status: response.statusCode, headers: response.headers, text: await readBodyText(response.body) };
    } catch (err) {
      throw unreachable(this.url, err);
    }
  }
}
