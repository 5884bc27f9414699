import got from 'got';
import { CfluxError, messageOf } from '../../shared/errors.ts';
import { basicAuthorization, type InfluxdCredentials } from './influxd-credentials.ts';

/** influxd's answer when auth is on and no user exists yet. */
export const NO_USERS_YET = 'create admin user first';

/** What a successful ping tells. */
export interface InfluxdPing {
  version: string;
}

/** The local influxd next to this agent, over its HTTP API. */
export class LocalInfluxd {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #hasCredentials: boolean;
  readonly #timeoutMs: number;

  constructor(url: string, credentials: InfluxdCredentials | undefined, timeoutMs = 2000) {
    this.url = url;
    this.#headers = basicAuthorization(credentials);
    this.#hasCredentials = credentials !== undefined;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * GET /ping: resolves with influxd's version (X-Influxdb-Version), throws
   * UPSTREAM_UNAVAILABLE with the reason otherwise. With credentials, also
   * checks that influxd accepts them (/ping itself needs no auth in 1.x).
   */
  async ping(signal?: AbortSignal): Promise<InfluxdPing> {
    let response;
    try {
      response = await got(`${this.url}/ping`, {
        headers: this.#headers,
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: this.#timeoutMs },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} is not reachable: ${messageOf(err)}`, { cause: err });
    }
    if (response.statusCode !== 204) {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} answered /ping with ${response.statusCode}`);
    }
    const version = response.headers['x-influxdb-version'];
    if (this.#hasCredentials) await this.#checkCredentials(signal);
    return { version: typeof version === 'string' ? version : 'unknown' };
  }

  async #checkCredentials(signal?: AbortSignal): Promise<void> {
    const response = await got(`${this.url}/query`, {
      searchParams: { q: 'SHOW DATABASES' },
      headers: this.#headers,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { request: this.#timeoutMs },
      ...(signal ? { signal } : {}),
    }).catch((err: unknown) => {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} is not reachable: ${messageOf(err)}`, { cause: err });
    });
    // Auth on and no users yet: the metadata mirror creates the first admin user, which needs no credentials.
    if (response.body.includes(NO_USERS_YET)) return;
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} rejected the configured credentials (${response.statusCode}); check --influxd-credentials-file or INFLUX_USERNAME/INFLUX_PASSWORD`);
    }
  }
}
