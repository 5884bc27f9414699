import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * A constant-time check against one expected token whose hash is computed
 * once (a manager checks every heartbeat: 2,000 a second at 10,000 agents).
 */
export function tokenMatcher(expected: string): (presented: string) => boolean {
  const wanted = hash('sha256', expected, 'buffer');
  return (presented) => timingSafeEqual(hash('sha256', presented, 'buffer'), wanted);
}

/** Compares two tokens in constant time (hashing first makes the lengths equal). */
export function tokensMatch(presented: string, expected: string): boolean {
  return tokenMatcher(expected)(presented);
}

/**
 * The token a request presents: `Authorization: Bearer <token>`, or HTTP
 * Basic with any user name and the token as password (what a browser sends
 * after the sign-in prompt). Undefined when there is none.
 */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers['authorization'];
  return typeof header === 'string' ? tokenInAuthorization(header) : undefined;
}

/** The token an `Authorization` header's value presents (see presentedToken). */
export function tokenInAuthorization(header: string): string | undefined {
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/** The header that sends a token. */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
