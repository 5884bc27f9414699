import { readFileSync } from 'node:fs';
import { InvalidSettingError, messageOf } from '../errors.ts';

/** Secrets shorter than this are refused: they would be guessable. */
export const MIN_SECRET_LENGTH = 16;

/** Where a secret may come from: a `--*-file` flag (it wins) or an environment variable. */
export interface SecretSource {
  file: string | undefined;
  fileFlag: string;
  variable: string;
  /** Setting name reported on a bad value. */
  setting: string;
  /** How a message names it, e.g. "the peer token". */
  what: string;
}

/**
 * A secret from its file (trimmed), else from its environment variable, else
 * undefined. Unreadable or shorter than 16 characters is a bad setting
 * (exit 2). Secrets never come from a flag's value: command lines are visible
 * to every user of the machine.
 */
export function readSecret(source: SecretSource, env: Record<string, string | undefined>): string | undefined {
  let secret: string | undefined;
  let origin = `${source.variable} (environment)`;
  if (source.file !== undefined) {
    origin = `--${source.fileFlag}=${JSON.stringify(source.file)}`;
    try {
      secret = readFileSync(source.file, 'utf8').trim();
    } catch (err) {
      throw new InvalidSettingError(source.fileFlag, `invalid setting ${origin}: ${messageOf(err)}`);
    }
  } else {
    secret = env[source.variable] || undefined;
  }
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) throw new InvalidSettingError(source.setting, `invalid setting ${origin}: ${source.what} needs at least ${MIN_SECRET_LENGTH} characters`);
  return secret;
}

/** A PEM file (certificates or a key) named by `--setting`; unreadable or without `marker` is a bad setting. */
export function readPemFile(file: string, setting: string, marker: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidSettingError(setting, `invalid setting --${setting}=${JSON.stringify(file)}: ${messageOf(err)}`);
  }
  const found = marker === 'CERTIFICATE' ? text.includes('-----BEGIN CERTIFICATE-----') : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
  if (!found) throw new InvalidSettingError(setting, `invalid setting --${setting}=${JSON.stringify(file)}: expected PEM ${marker === 'CERTIFICATE' ? 'certificates (-----BEGIN CERTIFICATE-----)' : 'private key (-----BEGIN ... PRIVATE KEY-----)'}`);
  return text;
}

/** A certificate and key pair given by two settings: both or neither. */
export function readKeyPair(certFile: string | undefined, keyFile: string | undefined, names: { cert: string; key: string }): { cert: string; key: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new InvalidSettingError(names.cert, `missing setting --${names.cert}: --${names.key} needs a certificate too`);
  if (keyFile === undefined) throw new InvalidSettingError(names.key, `missing setting --${names.key}: --${names.cert} needs its private key too`);
  return { cert: readPemFile(certFile, names.cert, 'CERTIFICATE'), key: readPemFile(keyFile, names.key, 'PRIVATE KEY') };
}
