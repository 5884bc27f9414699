import { CfluxError } from '../../shared/errors.ts';
import { parseJsonOrText } from '../../shared/http/json-http.ts';
import type { QueryResponse, StatementResult } from '../../influxql/query-result.ts';
import { basicAuthorization, type InfluxdCredentials } from './influxd-credentials.ts';
import type { InfluxdEndpoint } from './influxd-endpoint.ts';
import { deadline, unreachable } from './local-influxd.ts';
import { readBodyText } from '../../shared/http/http-client.ts';

/** influxd answered with a request-level error (parse error, auth...). */
export class InfluxdRequestError extends CfluxError {
  override name = 'InfluxdRequestError';
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    const text = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : JSON.stringify(body);
    super(status === 401 || status === 403 ? 'BAD_REQUEST' : 'UPSTREAM_UNAVAILABLE', `influxd answered ${status}: ${text}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * Runs single InfluxQL statements on the local influxd with the agent's own
 * (admin) credentials. One statement per request: influxd 1.6 hides the real
 * error of a failed statement inside a multi-statement request.
 */
export class InfluxdQueryClient {
  readonly #endpoint: InfluxdEndpoint;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(endpoint: InfluxdEndpoint, credentials: InfluxdCredentials | undefined, timeoutMs = 10_000) {
    this.#endpoint = endpoint;
    this.#headers = basicAuthorization(credentials);
    this.#timeoutMs = timeoutMs;
  }

  get url(): string {
    return this.#endpoint.url;
  }

  /** Runs one statement (POST, so DDL is allowed); returns its result (which may carry `error`). */
  async run(statement: string, options: { database?: string; headers?: Record<string, string> } = {}): Promise<StatementResult> {
    const form = new URLSearchParams({ q: statement, ...(options.database ? { db: options.database } : {}) });
    let status: number;
    let text: string;
    try {
      const response = await this.#endpoint.request({
        method: 'POST',
        path: '/query',
        headers: { ...(options.headers ?? this.#headers), 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: deadline(this.#timeoutMs),
      });
      status = response.statusCode;
      text = await readBodyText(response.body);
    } catch (err) {
      throw unreachable(this.url, err);
    }
    const body = parseJsonOrText(text);
    if (status !== 200) throw new InfluxdRequestError(status, body);
    const result = (body as QueryResponse | undefined)?.results?.[0];
    if (!result) throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd answered without a result: ${text.slice(0, 200)}`);
    return result;
  }

  /** Runs one statement and throws when influxd reports an error for it. */
  async runOrThrow(statement: string): Promise<StatementResult> {
    const result = await this.run(statement);
    if (result.error) throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd refused "${redactPasswords(statement)}": ${result.error}`);
    return result;
  }
}

/** A statement with any quoted password replaced, for logs and error messages. */
export function redactPasswords(statement: string): string {
  return statement.replace(/(PASSWORD\s+(?:FOR\s+\S+\s*=\s*)?)'(?:[^'\\]|\\.)*'/gi, "$1'[redacted]'").replace(/(=\s*)'(?:[^'\\]|\\.)*'/g, "$1'[redacted]'");
}
