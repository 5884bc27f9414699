/**
 * Just enough HTTP/1.1 to relay a request and its answer byte for byte:
 * request and response heads (start line + headers) and where a chunked body
 * ends. Anything unusual parses to `undefined`, and the caller then leaves
 * the connection to Node's own HTTP server, which answers it properly.
 */

/** `\r\n\r\n`: where a head ends. */
export const HEAD_END = Buffer.from('\r\n\r\n');

export interface RequestHead {
  method: string;
  /** The request target as sent (`/write?db=...`). */
  target: string;
  version: string;
  /** Lower-cased header names; every value a name was given. */
  headers: Map<string, string[]>;
}

export interface ResponseHead {
  status: number;
  headers: Map<string, string[]>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseHeaderLines(lines: string[]): Map<string, string[]> | undefined {
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined;
    const value = line.slice(colon + 1).trim();
    const key = name.toLowerCase();
    const values = headers.get(key);
    if (values) values.push(value);
    else headers.set(key, [value]);
  }
  return headers;
}

/** Parses a request head (the bytes up to and including `\r\n\r\n`). */
export function parseRequestHead(head: Buffer): RequestHead | undefined {
  const lines = head.toString('latin1').slice(0, -4).split('\r\n');
  const match = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? '');
  if (!match) return undefined;
  const headers = parseHeaderLines(lines.slice(1));
  return headers && { method: match[1]!, target: match[2]!, version: match[3]!, headers };
}

/** Parses a response head (the bytes up to and including `\r\n\r\n`). */
export function parseResponseHead(head: Buffer): ResponseHead | undefined {
  const lines = head.toString('latin1').slice(0, -4).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!match) return undefined;
  const headers = parseHeaderLines(lines.slice(1));
  return headers && { status: Number(match[1]), headers };
}

/** The one value of a header, or undefined when it is absent or given more than once. */
export function singleHeader(headers: Map<string, string[]>, name: string): string | undefined {
  const values = headers.get(name);
  return values?.length === 1 ? values[0] : undefined;
}

/** A Content-Length value as a number; undefined unless it is plain decimal digits. */
export function contentLengthOf(headers: Map<string, string[]>): number | undefined {
  const value = singleHeader(headers, 'content-length');
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** A copy of `head` with one more header line before its blank line. */
export function withHeader(head: Buffer, name: string, value: string): Buffer {
  return Buffer.concat([head.subarray(0, head.length - 2), Buffer.from(`${name}: ${value}\r\n\r\n`, 'latin1')]);
}

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
