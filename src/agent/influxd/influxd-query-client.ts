import got from 'got';
import { CfluxError, messageOf } from '../../shared/errors.ts';
import { basicAuthorization, type InfluxdCredentials } from './influxd-credentials.ts';

/** One series of an InfluxDB 1.x query result. */
export interface InfluxSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

/** One statement's result. */
export interface StatementResult {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
  messages?: Array<{ level: string; text: string }>;
}

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
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(url: string, credentials: InfluxdCredentials | undefined, timeoutMs = 10_000) {
    this.url = url;
    this.#headers = basicAuthorization(credentials);
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one statement (POST, so DDL is allowed); returns its result (which may carry `error`). */
  async run(statement: string, options: { database?: string; headers?: Record<string, string> } = {}): Promise<StatementResult> {
    let response;
    try {
      response = await got.post(`${this.url}/query`, {
        form: { q: statement, ...(options.database ? { db: options.database } : {}) },
        headers: options.headers ?? this.#headers,
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: this.#timeoutMs },
      });
    } catch (err) {
      throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd at ${this.url} is not reachable: ${messageOf(err)}`, { cause: err });
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = response.body;
    }
    if (response.statusCode !== 200) throw new InfluxdRequestError(response.statusCode, body);
    const result = (body as { results?: StatementResult[] }).results?.[0];
    if (!result) throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd answered without a result: ${response.body.slice(0, 200)}`);
    return result;
  }

  /** Runs one statement and throws when influxd reports an error for it. */
  async runOrThrow(statement: string): Promise<StatementResult> {
    const result = await this.run(statement);
    if (result.error) throw new CfluxError('UPSTREAM_UNAVAILABLE', `influxd refused "${redactPasswords(statement)}": ${result.error}`);
    return result;
  }
}

/** Rows of the first series as objects keyed by column. */
export function rowsOf(result: StatementResult): Array<Record<string, unknown>> {
  return (result.series ?? []).flatMap((series) => (series.values ?? []).map((row) => Object.fromEntries(series.columns.map((column, i) => [column, row[i]]))));
}

/** A statement with any quoted password replaced, for logs and error messages. */
export function redactPasswords(statement: string): string {
  return statement.replace(/(PASSWORD\s+(?:FOR\s+\S+\s*=\s*)?)'(?:[^'\\]|\\.)*'/gi, "$1'[redacted]'").replace(/(=\s*)'(?:[^'\\]|\\.)*'/g, "$1'[redacted]'");
}
