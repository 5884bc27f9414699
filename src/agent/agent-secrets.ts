import { readFileSync } from 'node:fs';
import { InvalidSettingError, messageOf } from '../shared/errors.ts';
import type { AgentOptions } from './agent-settings.ts';
import { loadInfluxdCredentials, type InfluxdCredentials } from './influxd/influxd-credentials.ts';
import { loadClusterSecret } from './metadata/cluster-secret.ts';
import type { SecretBox } from './metadata/secret-box.ts';

/** Everything secret an agent holds; never logged, never on the command line. */
export interface AgentSecrets {
  influxdCredentials?: InfluxdCredentials;
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
  const clusterSecret = loadClusterSecret(options.secretFile, env);
  if (clusterSecret) secrets.clusterSecret = clusterSecret;
  const peerToken = readPeerToken(options.peerTokenFile, env);
  if (peerToken !== undefined) secrets.peerToken = peerToken;
  else if (!options.insecurePeer) {
    throw new InvalidSettingError('peer-token', 'missing setting CFLUX_PEER_TOKEN (environment) or --peer-token-file: agents need the cluster peer token (16+ characters, the same on every agent); --insecure-peer runs without one');
  }
  return secrets;
}

function readPeerToken(file: string | undefined, env: Record<string, string | undefined>): string | undefined {
  let token: string | undefined;
  let source = 'CFLUX_PEER_TOKEN (environment)';
  if (file !== undefined) {
    source = `--peer-token-file=${JSON.stringify(file)}`;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new InvalidSettingError('peer-token-file', `invalid setting ${source}: ${messageOf(err)}`);
    }
  } else {
    token = env['CFLUX_PEER_TOKEN'] || undefined;
  }
  if (token !== undefined && token.length < 16) throw new InvalidSettingError('peer-token', `invalid setting ${source}: the peer token needs at least 16 characters`);
  return token;
}
