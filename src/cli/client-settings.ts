import { caFileSetting, clusterSetting, managerEndpointsSetting, managerTokenFileSetting } from '../shared/config/common-settings.ts';
import { switchSetting } from '../shared/config/parsers.ts';
import { readPemFile, readSecret } from '../shared/config/secret-files.ts';
import { loadEnvironment } from '../shared/config/sources.ts';
import { ManagerClient, type ManagerReply } from '../shared/http/manager-client.ts';
import { loadOrExit } from './command-runner.ts';

/** Settings of the one-off commands that talk to a manager. */
export const clientSettings = {
  manager: managerEndpointsSetting,
  cluster: clusterSetting,
  json: switchSetting({ name: 'json', env: 'CFLUX_JSON', description: 'print JSON instead of a table' }),
  managerTokenFile: managerTokenFileSetting,
  caFile: caFileSetting,
};

/**
 * A manager client for a one-off command: few, quick attempts, with the
 * manager token (`--manager-token-file`, else CFLUX_MANAGER_TOKEN) and the
 * CAs of `--ca-file`. A bad token or CA file exits 2 naming the setting.
 */
export function oneOffClient(command: string, options: { manager: string[]; managerTokenFile: string | undefined; caFile: string | undefined }): ManagerClient {
  const { token, ca } = loadOrExit(command, () => {
    const env = loadEnvironment();
    return {
      token: readSecret({ file: options.managerTokenFile, fileFlag: 'manager-token-file', variable: 'CFLUX_MANAGER_TOKEN', setting: 'manager-token', what: 'the manager token' }, env),
      ca: options.caFile === undefined ? undefined : readPemFile(options.caFile, 'ca-file', 'CERTIFICATE'),
    };
  });
  return new ManagerClient({
    endpoints: options.manager,
    attempts: Math.max(2, options.manager.length),
    timeoutMs: 5000,
    backoffBaseMs: 200,
    backoffCapMs: 1000,
    ...(token !== undefined ? { token } : {}),
    ...(ca !== undefined ? { ca } : {}),
  });
}

/** An error for an answer a command did not expect; a 401 says how to give the token. */
export function unexpectedAnswer(reply: ManagerReply): Error {
  if (reply.status === 401) return new Error('the manager needs its token: set CFLUX_MANAGER_TOKEN or --manager-token-file');
  const text = typeof reply.body === 'object' && reply.body !== null && 'error' in reply.body ? String((reply.body as { error: unknown }).error) : JSON.stringify(reply.body);
  return new Error(`manager answered ${reply.status}: ${text}`);
}

/** Percent-encodes a cluster name for a URL path. */
export function clusterPath(cluster: string): string {
  return encodeURIComponent(cluster);
}
