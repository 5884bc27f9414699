// Differential checks: the same HTTP request to a cluster's proxy and to a
// reference influxd, compared on what a client sees: the status, the headers
// that matter (content type, influxd's version, build and error headers) and
// the body (decoded; JSON compared as values, chunked JSON chunk by chunk).
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { decodeMsgpackStream, MSGPACK_CONTENT_TYPE } from '../../src/influxql/msgpack-answer.ts';
import { headerSafe } from '../../src/shared/http/header-copy.ts';

export interface ConformanceRequest {
  name: string;
  method?: 'GET' | 'POST';
  /** Path and query string, e.g. `/query?db=x&q=...`. */
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** influxd's own order is not defined here (e.g. series of a regex source with several shards): compare series as sets. */
  unordered?: boolean;
}

export interface SeenAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A query request for the table: `q` URL-encoded, GET unless a statement changes something. */
export function queryRequest(name: string, q: string, options: { db?: string; params?: string; method?: 'GET' | 'POST'; unordered?: boolean } = {}): ConformanceRequest {
  const db = options.db === undefined ? 'conf' : options.db;
  return { name, method: options.method ?? 'GET', path: `/query?${db ? `db=${db}&` : ''}q=${encodeURIComponent(q)}${options.params ?? ''}`, ...(options.unordered ? { unordered: true } : {}) };
}

/**
 * The answer as a client sees it. Read with Node's lenient HTTP parser:
 * influxd copies a bad line's control characters (NUL...) raw into
 * X-Influxdb-Error, which strict parsers (fetch) refuse; Node cannot send
 * them, so the proxy writes them as `\uXXXX`, and both sides are compared so.
 */
export async function seen(base: string, request: ConformanceRequest): Promise<SeenAnswer> {
  const { status, headers: raw, bytes } = await new Promise<{ status: number; headers: IncomingHttpHeaders; bytes: Buffer }>((resolve, reject) => {
    const call = httpRequest(base + request.path, { method: request.method ?? 'GET', headers: request.headers ?? {}, insecureHTTPParser: true }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, bytes: Buffer.concat(chunks) }));
      answer.on('error', reject);
    });
    call.on('error', reject);
    call.end(request.body);
  });
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'x-influxdb-error']) {
    const value = raw[name];
    if (typeof value === 'string') headers[name] = headerSafe(Buffer.from(value, 'latin1').toString());
  }
  // The version and build are influxd's (the same server version on both sides).
  headers['identified'] = String(raw['x-influxdb-version'] !== undefined && raw['x-influxdb-build'] === 'OSS');
  // MessagePack answers are compared as decoded values (floats, integers and times kept apart).
  const body = raw['content-type'] === MSGPACK_CONTENT_TYPE ? decodeMsgpackStream(bytes) : parseBody(bytes.toString());
  return { status, headers, body };
}

/** JSON, or newline-separated JSON chunks, or the text as it came. */
function parseBody(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    try {
      return text.trim().split('\n').map((line) => JSON.parse(line) as unknown);
    } catch {
      return text;
    }
  }
}

/** Series in a stable order, for answers whose order influxd does not define. */
function sorted(body: unknown): unknown {
  const results = (body as { results?: Array<{ series?: unknown[] }> }).results;
  if (!results) return body;
  return { ...(body as object), results: results.map((result) => (result.series ? { ...result, series: [...result.series].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) } : result)) };
}

export async function assertSameAnswer(proxy: string, reference: string, request: ConformanceRequest): Promise<void> {
  const [cluster, expected] = [await seen(proxy, request), await seen(reference, request)];
  if (request.unordered) {
    cluster.body = sorted(cluster.body);
    expected.body = sorted(expected.body);
  }
  assert.deepEqual(cluster, expected, `${request.name}: the cluster answers unlike one influxd`);
}
