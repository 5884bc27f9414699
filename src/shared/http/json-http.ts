import type { IncomingMessage, ServerResponse } from 'node:http';
import { CfluxError } from '../errors.ts';

/** What a route handler answers: a status and an optional JSON body (or raw text for /metrics). */
export interface JsonReply {
  status: number;
  body?: unknown;
  /** Sent as-is instead of JSON (Prometheus text, or JSON serialized once for many answers). */
  text?: string | Buffer;
  contentType?: string;
  /** More headers (e.g. an HTML page's Content-Security-Policy, a Retry-After). */
  headers?: Record<string, string>;
  /** The handler already wrote the response itself (streamed); nothing more is sent. */
  handled?: boolean;
}

/**
 * How much of an over-limit body is still read (and thrown away) so the client
 * sees the 413 instead of a broken pipe; past this the connection is cut.
 */
const DRAIN_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops what is left of a request body, up to `maxBytes` or
 * `timeoutMs`, so a client still sending gets the early answer (401, 400)
 * instead of a broken pipe. Beyond either bound the connection is simply
 * closed after the answer.
 */
export async function drainRequest(req: IncomingMessage, maxBytes = DRAIN_ALLOWANCE_BYTES, timeoutMs = 2000): Promise<void> {
  if (req.complete || req.destroyed) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, timeoutMs);
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.resume();
  });
}

/** Reads a request body up to `limit` bytes; larger bodies are refused with 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (size: string) => new CfluxError('PAYLOAD_TOO_LARGE', `request body of ${size} is over the limit of ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit + DRAIN_ALLOWANCE_BYTES) throw tooLarge(`${declared} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
    else if (size > limit + DRAIN_ALLOWANCE_BYTES) throw tooLarge(`more than ${size} bytes`);
  }
  if (size > limit) throw tooLarge(`${size} bytes`);
  return Buffer.concat(chunks);
}

/**
 * The deepest nesting any API body needs is the cluster document's (about 6
 * levels); beyond this, code that walks a value recursively (cloning,
 * serialising) could exhaust the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** How deeply arrays and objects nest in a JSON text (brackets inside strings do not count); stops early past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Parses a JSON body; an empty body is `undefined`. Malformed or too deeply nested JSON is a 400. */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new CfluxError('BAD_REQUEST', `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CfluxError('BAD_REQUEST', `malformed JSON body: ${(err as Error).message}`);
  }
}

/** Writes a reply; errors are always `{"error": "..."}`. */
export function sendReply(res: ServerResponse, reply: JsonReply, extraHeaders: Record<string, string> = {}): void {
  if (reply.handled || res.headersSent || res.destroyed) return;
  if (reply.text !== undefined) {
    const length = String(typeof reply.text === 'string' ? Buffer.byteLength(reply.text) : reply.text.length);
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain; charset=utf-8', 'content-length': length, ...reply.headers, ...extraHeaders });
    res.end(reply.text);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status, extraHeaders);
    res.end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    ...reply.headers,
    ...extraHeaders,
  });
  res.end(payload);
}

/** A JSON error reply. */
export function errorReply(status: number, message: string): JsonReply {
  return { status, body: { error: message } };
}

/** A body parsed as JSON (by `parse`) when it is JSON, else the text itself (influxd also answers CSV, JSON lines or plain text). */
export function parseJsonOrText(text: string, parse: (text: string) => unknown = JSON.parse): unknown {
  if (text === '') return undefined;
  try {
    return parse(text);
  } catch {
    return text;
  }
}

/** What an error answer says: its JSON `error` field, else its text (shortened), else its JSON. */
export function errorTextOf(body: unknown): string {
  if (typeof body === 'string') {
    const parsed = parseJsonOrText(body);
    return typeof parsed === 'string' ? parsed.slice(0, 300) : errorTextOf(parsed);
  }
  if (typeof body === 'object' && body !== null && 'error' in body) return String((body as { error: unknown }).error);
  return JSON.stringify(body) ?? '';
}
