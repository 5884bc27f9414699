import { readFileSync } from 'node:fs';
import { InvalidSettingError, messageOf } from '../../shared/errors.ts';
import { SecretBox } from './secret-box.ts';

/**
 * The cluster secret from `--secret-file`, else CFLUX_SECRET, else none (user
 * statements are then refused with a message naming the setting). A secret
 * that is unreadable or too short is a bad setting (exit 2).
 */
export function loadClusterSecret(file: string | undefined, env: Record<string, string | undefined>): SecretBox | undefined {
  let secret: string | undefined;
  let source: string;
  if (file !== undefined) {
    source = `--secret-file=${JSON.stringify(file)}`;
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new InvalidSettingError('secret-file', `invalid setting ${source}: ${messageOf(err)}`);
    }
  } else {
    source = 'CFLUX_SECRET (environment)';
    secret = env['CFLUX_SECRET'] || undefined;
  }
  if (secret === undefined) return undefined;
  if (secret.length < 16) throw new InvalidSettingError('secret', `invalid setting ${source}: the cluster secret needs at least 16 characters`);
  return new SecretBox(secret);
}
