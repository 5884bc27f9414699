import { readFileSync } from 'node:fs';
import { InvalidSettingError, messageOf } from '../../shared/errors.ts';

/** influxd admin credentials the agent uses for its own calls. */
export interface InfluxdCredentials {
  username: string;
  password: string;
}

/**
 * Credentials from `--influxd-credentials-file` (one line `username:password`),
 * else INFLUX_USERNAME / INFLUX_PASSWORD, else none (influxd without auth).
 * A named file that cannot be read is a bad setting (exit 2).
 */
export function loadInfluxdCredentials(file: string | undefined, env: Record<string, string | undefined>): InfluxdCredentials | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new InvalidSettingError('influxd-credentials-file', `invalid setting --influxd-credentials-file=${JSON.stringify(file)}: ${messageOf(err)}`);
    }
    const colon = text.indexOf(':');
    if (colon <= 0) {
      throw new InvalidSettingError('influxd-credentials-file', `invalid setting --influxd-credentials-file=${JSON.stringify(file)}: expected one line "username:password"`);
    }
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  const username = env['INFLUX_USERNAME'];
  if (username) return { username, password: env['INFLUX_PASSWORD'] ?? '' };
  return undefined;
}

/** The Basic authorization header for credentials (never logged: the logger redacts `authorization`). */
export function basicAuthorization(credentials: InfluxdCredentials | undefined): Record<string, string> {
  if (!credentials) return {};
  return { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` };
}
