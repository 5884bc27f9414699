import { InvalidSettingError } from '../shared/errors.ts';
import { readKeyPair, readPemFile, readSecret } from '../shared/config/secret-files.ts';
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
  /** The token sent to the manager: the agent token when given, else the manager token; undefined only with --insecure-manager. */
  managerToken?: string;
  /** PEM certificates trusted for https managers and peers (`--ca-file`; not secret). */
  ca?: string;
  /** The peer port's certificate and key: HTTPS between agents. */
  peerTls?: { cert: string; key: string };
}

/** Reads and validates the agent's secrets; a bad one is an InvalidSettingError (exit 2). */
export function loadAgentSecrets(options: AgentOptions, env: Record<string, string | undefined>): AgentSecrets {
  const secrets: AgentSecrets = {};
  const credentials = loadInfluxdCredentials(options.influxdCredentialsFile, env);
  if (credentials) secrets.influxdCredentials = credentials;
  if (options.influxdCa !== undefined) secrets.influxdCa = readPemFile(options.influxdCa, 'influxd-ca', 'CERTIFICATE');
  // Without the cluster secret, user statements are refused with a message naming the setting.
  const clusterSecret = readSecret({ file: options.secretFile, fileFlag: 'secret-file', variable: 'CFLUX_SECRET', setting: 'secret', what: 'the cluster secret' }, env);
  if (clusterSecret !== undefined) secrets.clusterSecret = new SecretBox(clusterSecret);
  const peerToken = readSecret({ file: options.peerTokenFile, fileFlag: 'peer-token-file', variable: 'CFLUX_PEER_TOKEN', setting: 'peer-token', what: 'the peer token' }, env);
  if (peerToken !== undefined) secrets.peerToken = peerToken;
  else if (!options.insecurePeer) {
    throw new InvalidSettingError('peer-token', 'missing setting CFLUX_PEER_TOKEN (environment) or --peer-token-file: agents need the cluster peer token (16+ characters, the same on every agent); --insecure-peer runs without one');
  }
  const agentToken = readSecret({ file: options.agentTokenFile, fileFlag: 'agent-token-file', variable: 'CFLUX_AGENT_TOKEN', setting: 'agent-token', what: 'the agent token' }, env);
  const managerToken = agentToken ?? readSecret({ file: options.managerTokenFile, fileFlag: 'manager-token-file', variable: 'CFLUX_MANAGER_TOKEN', setting: 'manager-token', what: 'the manager token' }, env);
  if (managerToken !== undefined) secrets.managerToken = managerToken;
  else if (!options.insecureManager) {
    throw new InvalidSettingError('manager-token', 'missing setting CFLUX_AGENT_TOKEN or CFLUX_MANAGER_TOKEN (environment), or --agent-token-file / --manager-token-file: agents need a token for the manager; --insecure-manager calls a manager started with --insecure without one');
  }
  if (options.caFile !== undefined) secrets.ca = readPemFile(options.caFile, 'ca-file', 'CERTIFICATE');
  const peerTls = readKeyPair(options.peerTlsCertFile, options.peerTlsKeyFile, { cert: 'peer-tls-cert-file', key: 'peer-tls-key-file' });
  if (peerTls) secrets.peerTls = peerTls;
  return secrets;
}
