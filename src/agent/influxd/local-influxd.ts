import got from 'got';
import { CfluxError, messageOf } from '../../shared/errors.ts';
import { basicAuthorization, type InfluxdCredentials } from './influxd-credentials.ts';

/** What a successful ping tells. */
export interface InfluxdPing {
  version: string;
}

/** The local influxd next to this agent, over its HTTP API. */
export class LocalInfluxd {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(url: string, credentials: InfluxdCredentials | undefined, timeoutMs = 2000) {
    this.url = url;
    this.#headers = basicAuthorization(credentials);
    this.#timeoutMs = timeoutMs;
  }

  /**
   * GET /ping: resolves with influxd's version (X-Influxdb-Version), throws
   * UPSTREAM_UNAVAILABLE with the reason otherwise.
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
    return { version: typeof version === 'string' ? version : 'unknown' };
  }
}
