/**
 * Just enough HTTP/1.1 to relay a write and its answer byte for byte: which
 * request heads are plain POSTs with a known body length, how an answer's
 * body ends, and where a chunked body ends. Anything unusual reads as
 * `undefined`, and the caller then leaves the connection to Node's own HTTP
 * server, which answers it properly.
 */

/** A head longer than this (request or answer) is not one the relay handles. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** `\r\n\r\n`: where a head ends. */
export const HEAD_END = Buffer.from('\r\n\r\n');

/** A request the relay may pass on untouched: its method, target and body length. */
export interface PlainRequest {
  method: string;
  /** The request target as sent (`/write?db=...`). */
  target: string;
  /** Content-Length, or 0 when the request has none (and no Transfer-Encoding: no body). */
  contentLength: number;
  /** Whether the request said Content-Length at all. */
  hasContentLength: boolean;
}

/**
 * The value of header `name` (lower case) in a head whose text is `text`
 * and lower-cased `lower`: undefined when absent, null when given twice.
 * Only lines that start with the exact name and a colon count: anything
 * else is left to the server to judge (and to refuse).
 */
function headerValue(text: string, lower: string, name: string): string | undefined | null {
  const key = `\r\n${name}:`;
  const at = lower.indexOf(key);
  if (at < 0) return undefined;
  if (lower.indexOf(key, at + key.length) >= 0) return null;
  const end = text.indexOf('\r\n', at + key.length);
  return text.slice(at + key.length, end < 0 ? text.length : end).trim();
}

/**
 * Reads a request head (the bytes up to and including `\r\n\r\n`) when its
 * framing is plain: HTTP/1.1, at most one decimal Content-Length, no
 * Transfer-Encoding, Expect or Upgrade, Connection absent or keep-alive.
 * Anything else is undefined: the HTTP server is then the one to answer.
 * A scan rather than a full parse: it runs once per request.
 */
export function plainRequestOf(head: Buffer): PlainRequest | undefined {
  const text = head.toString('latin1', 0, head.length - 2);
  const lineEnd = text.indexOf('\r\n');
  const methodEnd = text.indexOf(' ');
  if (lineEnd < 0 || methodEnd <= 0 || methodEnd > lineEnd || !text.startsWith(' HTTP/1.1', lineEnd - 9)) return undefined;
  const method = text.slice(0, methodEnd);
  const target = text.slice(methodEnd + 1, lineEnd - 9);
  if (!/^[A-Z]+$/.test(method) || target.length === 0 || target.includes(' ')) return undefined;
  const lower = text.toLowerCase();
  for (const name of REFUSED_REQUEST_HEADERS) if (lower.includes(`\r\n${name}:`)) return undefined;
  const connection = headerValue(text, lower, 'connection');
  if (connection === null || (connection !== undefined && connection.toLowerCase() !== 'keep-alive')) return undefined;
  const length = headerValue(text, lower, 'content-length');
  if (length === null || (length !== undefined && !/^\d{1,15}$/.test(length))) return undefined;
  return { method, target, contentLength: length === undefined ? 0 : Number(length), hasContentLength: length !== undefined };
}

const REFUSED_REQUEST_HEADERS = ['transfer-encoding', 'expect', 'upgrade'];

/** How an answer's body ends: no body, a byte count, chunked, or when the connection closes. */
export interface ResponseFraming {
  status: number;
  body: 'none' | 'chunked' | 'close' | number;
  /** False when the server said `Connection: close` or the body ends with the connection. */
  keepAlive: boolean;
}

/** Reads a response head (the bytes up to and including `\r\n\r\n`); undefined if it is not HTTP/1.x with a 2xx-5xx status. */
export function responseFramingOf(head: Buffer): ResponseFraming | undefined {
  const text = head.toString('latin1', 0, head.length - 2);
  const status = /^HTTP\/1\.[01] ([2-5]\d\d)[ \r]/.exec(text);
  if (!status) return undefined;
  const lower = text.toLowerCase();
  const encoding = headerValue(text, lower, 'transfer-encoding');
  const length = headerValue(text, lower, 'content-length');
  const code = Number(status[1]);
  let body: ResponseFraming['body'];
  if (code === 204 || code === 304) body = 'none';
  else if (encoding !== undefined) body = encoding?.toLowerCase() === 'chunked' ? 'chunked' : 'close';
  else if (length && /^\d{1,15}$/.test(length)) body = Number(length);
  else body = 'close';
  const connection = headerValue(text, lower, 'connection');
  return { status: code, body, keepAlive: body !== 'close' && connection?.toLowerCase() !== 'close' };
}

/** A copy of `head` with `line` (a header line ending in `\r\n`) before its blank line. */
export function withHeaderLine(head: Buffer, line: Buffer): Buffer {
  return Buffer.concat([head.subarray(0, head.length - 2), line, CRLF]);
}

const CRLF = Buffer.from('\r\n');

/**
 * Follows a `Transfer-Encoding: chunked` body as its bytes go by and says
 * where it ends (after the last chunk and the trailer section).
 */
export class ChunkedBodyEnd {
  #state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;

  get done(): boolean {
    return this.#state === 'done';
  }

  /**
   * Feeds the next bytes; returns how many of them belong to the body
   * (all of them unless the body ends inside), or -1 for a malformed body.
   */
  feed(bytes: Buffer): number {
    let at = 0;
    while (at < bytes.length && this.#state !== 'done') {
      if (this.#state === 'data') {
        const take = Math.min(this.#left, bytes.length - at);
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = 'data-crlf';
        continue;
      }
      const byte = bytes[at++]!;
      if (this.#state === 'data-crlf' && byte !== 0x0d && byte !== 0x0a) return -1;
      if (byte !== 0x0a) {
        this.#line += String.fromCharCode(byte);
        if (this.#line.length > 4096) return -1;
        continue;
      }
      const line = this.#line.replace(/\r$/, '');
      this.#line = '';
      if (this.#state === 'data-crlf') {
        if (line !== '') return -1;
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line);
        if (!size) return -1;
        this.#left = parseInt(size[1]!, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'done'; // the blank line after the (usually empty) trailer section
      }
    }
    return at;
  }
}
