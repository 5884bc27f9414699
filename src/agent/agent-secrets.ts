import { readFileSync } from 'node:fs';
import { InvalidSettingError, messageOf } from '../shared/errors.ts';
import { SecretBox } from '../cluster/secret-box.ts';
import type { AgentOptions } from './agent-settings.ts';
import { loadInfluxdCredentials, type InfluxdCredentials } from './influxd/influxd-credentials.ts';

/** What an agent reads from files and secret variables at start; the secrets are never logged nor on the command line. */
export interface AgentSecrets {
  influxdCredentials?: InfluxdCredentials;
  /** PEM certificates trusted for an https influxd (`--influxd-ca`; not secret). */
  influxdCa?: string;
  /** Seals user passwords in the metadata. */
  clusterSecret?: SecretBox;
  /** Bearer token of the peer API; undefined only with --insecure-peer. */
  peerToken?: string;
}

/** Reads and validates the agent's secrets; a bad one is an InvalidSettingError (exit 2). */
export function loadAgentSecrets(options: AgentOptions, env: Record<string, string | undefined>): AgentSecrets {
  const secrets: AgentSecrets = {};
  const credentials = loadInfluxdCredentials(options.influxdCredentialsFile, env);
  if (credentials) secrets.influxdCredentials = credentials;
  if (options.influxdCa !== undefined) secrets.influxdCa = readCertificates(options.influxdCa, 'influxd-ca');
  // Without the cluster secret, user statements are refused with a message naming the setting.
  const clusterSecret = readSecret({ file: options.secretFile, fileFlag: 'secret-file', variable: 'CFLUX_SECRET', setting: 'secret', what: 'the cluster secret' }, env);
  if (clusterSecret !== undefined) secrets.clusterSecret = new SecretBox(clusterSecret);
  const peerToken = readSecret({ file: options.peerTokenFile, fileFlag: 'peer-token-file', variable: 'CFLUX_PEER_TOKEN', setting: 'peer-token', what: 'the peer token' }, env);
  if (peerToken !== undefined) secrets.peerToken = peerToken;
  else if (!options.insecurePeer) {
    throw new InvalidSettingError('peer-token', 'missing setting CFLUX_PEER_TOKEN (environment) or --peer-token-file: agents need the cluster peer token (16+ characters, the same on every agent); --insecure-peer runs without one');
  }
  return secrets;
}

/** Secrets shorter than this are refused: they would be guessable. */
const MIN_SECRET_LENGTH = 16;

interface SecretSource {
  /** The `--*-file` value, when given: it wins over the environment. */
  file: string | undefined;
  fileFlag: string;
  variable: string;
  /** Setting name reported on a bad value. */
  setting: string;
  what: string;
}

/**
 * A secret from its file (trimmed), else from its environment variable, else
 * undefined. Unreadable or shorter than 16 characters is a bad setting.
 */
function readSecret(source: SecretSource, env: Record<string, string | undefined>): string | undefined {
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

/** A PEM bundle from `file`; unreadable or without a certificate is a bad setting. */
function readCertificates(file: string, setting: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidSettingError(setting, `invalid setting --${setting}=${JSON.stringify(file)}: ${messageOf(err)}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new InvalidSettingError(setting, `invalid setting --${setting}=${JSON.stringify(file)}: expected PEM certificates (-----BEGIN CERTIFICATE-----)`);
  return text;
}
