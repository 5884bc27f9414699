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
    if (typeof value === 'string') picked[name] = value;
  }
  return picked;
}
