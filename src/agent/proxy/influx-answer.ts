import type { ServerResponse } from 'node:http';
import { encodeQueryAnswer, MSGPACK_CONTENT_TYPE } from '../../influxql/msgpack-answer.ts';
import type { QueryResponse } from '../../influxql/query-result.ts';
import { headerSafe } from '../../shared/http/header-copy.ts';

/**
 * Answers the proxy builds itself (merged queries, split writes, its own
 * errors), with the headers influxd 1.x puts on its own: every answer names
 * the influxd version and build (set when the request arrives, so answers
 * relayed from influxd keep influxd's), JSON answers say so (a 204 too), and
 * an error answer carries its message in `X-Influxdb-Error` (influxd's first
 * 1,024 bytes; line breaks become spaces as Go's server writes them, other
 * control characters `\uXXXX`, which Node cannot send raw).
 */
export function identifyAsInfluxd(res: ServerResponse, version: string | undefined): void {
  if (version !== undefined) res.setHeader('X-Influxdb-Version', version);
  res.setHeader('X-Influxdb-Build', 'OSS');
}

/** A JSON answer (`{"error": ...}` bodies also set `X-Influxdb-Error`), with influxd's trailing newline. */
export function sendInfluxJson(res: ServerResponse, status: number, body: unknown, pretty = false, headers: Record<string, string> = {}): void {
  const error = (body as { error?: unknown } | null)?.error;
  if (status >= 300 && typeof error === 'string') setErrorHeader(res, error);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end((pretty ? JSON.stringify(body, null, 4) : JSON.stringify(body)) + '\n');
}

/** An answer in MessagePack, as influxd encodes it for `Accept: application/x-msgpack` (errors too). */
export function sendInfluxMsgpack(res: ServerResponse, status: number, body: QueryResponse): void {
  if (status >= 300 && typeof body.error === 'string') setErrorHeader(res, body.error);
  res.writeHead(status, { 'content-type': MSGPACK_CONTENT_TYPE });
  res.end(encodeQueryAnswer(body));
}

/** A JSON body as text (an owner's influxd answer relayed as it came). */
export function sendInfluxText(res: ServerResponse, status: number, text: string): void {
  if (status >= 300) {
    try {
      const error = (JSON.parse(text) as { error?: unknown }).error;
      if (typeof error === 'string') setErrorHeader(res, error);
    } catch {
      // not JSON: no error header, as influxd would not have written one either
    }
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

/** 204 (a stored write), with influxd's content type. */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, { 'content-type': 'application/json' });
  res.end();
}

/**
 * influxd's header: the message's first 1,024 UTF-8 bytes, sent as bytes (a
 * latin1 string is how Node sends bytes as they are), line breaks as spaces.
 */
function setErrorHeader(res: ServerResponse, message: string): void {
  const bytes = Buffer.from(message).subarray(0, 1024).toString('latin1');
  res.setHeader('X-Influxdb-Error', headerSafe(bytes.replace(/[\r\n]/g, ' ')));
}
