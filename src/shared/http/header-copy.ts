import type { IncomingHttpHeaders } from 'node:http';

/** Headers as Node's HTTP server or undici hand them over. */
export type HeaderBag = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

/**
 * The named headers that carry one value, copied from `headers` (lower-case
 * names). Headers that arrive more than once are left out: nothing forwarded
 * may be ambiguous.
 */
export function pickHeaders(headers: HeaderBag, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') picked[name] = headerSafe(value);
  }
  return picked;
}

/**
 * A header value Node will send: characters a header may not carry (control
 * characters, which influxd copies from a client's bad line into its
 * `X-Influxdb-Error`) are written as `\uXXXX`.
 */
export function headerSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value) ? value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : value;
}
