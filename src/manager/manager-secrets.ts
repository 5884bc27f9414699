import { InvalidSettingError } from '../shared/errors.ts';
import { readKeyPair, readPemFile, readSecret } from '../shared/config/secret-files.ts';
import type { ManagerOptions } from './manager-settings.ts';

/** What the manager reads from files and secret variables at start. */
export interface ManagerSecrets {
  /** Every right; undefined only with --insecure. */
  operatorToken?: string;
  /** Agent rights only (optional). */
  agentToken?: string;
  /** Serve HTTPS. */
  tls?: { cert: string; key: string };
  /** TLS towards etcd: trusted CAs and an optional client certificate. */
  etcdTls?: { ca?: string; cert?: string; key?: string };
}

/** Reads and validates the manager's secrets; a bad or missing one is an InvalidSettingError (exit 2). */
export function loadManagerSecrets(options: ManagerOptions, env: Record<string, string | undefined>): ManagerSecrets {
  const secrets: ManagerSecrets = {};
  const operatorToken = readSecret({ file: options.managerTokenFile, fileFlag: 'manager-token-file', variable: 'CFLUX_MANAGER_TOKEN', setting: 'manager-token', what: 'the manager token' }, env);
  const agentToken = readSecret({ file: options.agentTokenFile, fileFlag: 'agent-token-file', variable: 'CFLUX_AGENT_TOKEN', setting: 'agent-token', what: 'the agent token' }, env);
  if (operatorToken === undefined && !options.insecure) {
    throw new InvalidSettingError('manager-token', 'missing setting CFLUX_MANAGER_TOKEN (environment) or --manager-token-file: the manager needs a token (16+ characters; agents and cflux commands send the same); --insecure runs without one');
  }
  if (operatorToken !== undefined && agentToken === operatorToken) throw new InvalidSettingError('agent-token', 'invalid setting CFLUX_AGENT_TOKEN: the agent token must differ from the manager token');
  if (agentToken !== undefined && operatorToken === undefined) throw new InvalidSettingError('agent-token', 'invalid setting CFLUX_AGENT_TOKEN: an agent token needs a manager token too');
  if (operatorToken !== undefined) secrets.operatorToken = operatorToken;
  if (agentToken !== undefined) secrets.agentToken = agentToken;
  const tls = readKeyPair(options.tlsCertFile, options.tlsKeyFile, { cert: 'tls-cert-file', key: 'tls-key-file' });
  if (tls) secrets.tls = tls;
  const client = readKeyPair(options.etcdCertFile, options.etcdKeyFile, { cert: 'etcd-cert-file', key: 'etcd-key-file' });
  if (options.etcdCaFile !== undefined || client) {
    secrets.etcdTls = { ...(options.etcdCaFile !== undefined ? { ca: readPemFile(options.etcdCaFile, 'etcd-ca-file', 'CERTIFICATE') } : {}), ...client };
  }
  return secrets;
}
