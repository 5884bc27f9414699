import { Agent as UndiciAgent } from 'undici';
import { CLIENT_AUTHORIZATION_HEADER } from './peer-api.ts';

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
  readonly #dispatcher = new UndiciAgent({ connections: 16, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 60_000 });
  readonly #token: string | undefined;

  constructor(token: string | undefined) {
    this.#token = token;
  }

  /** POST /peer/v1/write on the agent at `address` (host:port). */
  write(address: string, params: URLSearchParams, body: Buffer, clientAuthorization: string | undefined): Promise<PeerAnswer> {
    return this.#post(address, `/peer/v1/write?${params}`, body, 'text/plain; charset=utf-8', clientAuthorization);
  }

  /** POST /peer/v1/query on the agent at `address`; params travel as a form body. */
  query(address: string, params: URLSearchParams, clientAuthorization: string | undefined): Promise<PeerAnswer> {
    return this.#post(address, '/peer/v1/query', Buffer.from(params.toString()), 'application/x-www-form-urlencoded', clientAuthorization);
  }

  async #post(address: string, path: string, body: Buffer, contentType: string, clientAuthorization: string | undefined): Promise<PeerAnswer> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (clientAuthorization !== undefined) headers[CLIENT_AUTHORIZATION_HEADER] = clientAuthorization;
    const response = await this.#dispatcher.request({ origin: `http://${address}`, path, method: 'POST', headers, body });
    return { status: response.statusCode, body: await response.body.text() };
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }
}
