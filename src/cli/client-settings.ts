import { clusterSetting, managerEndpointsSetting } from '../shared/config/common-settings.ts';
import { switchSetting } from '../shared/config/parsers.ts';
import { ManagerClient } from '../shared/http/manager-client.ts';

/** Settings of the one-off commands that talk to a manager. */
export const clientSettings = {
  manager: managerEndpointsSetting,
  cluster: clusterSetting,
  json: switchSetting({ name: 'json', env: 'CFLUX_JSON', description: 'print JSON instead of a table' }),
};

/** A manager client for one-off commands: few, quick attempts. */
export function oneOffClient(endpoints: string[]): ManagerClient {
  return new ManagerClient({ endpoints, attempts: Math.max(2, endpoints.length), timeoutMs: 5000, backoffBaseMs: 200, backoffCapMs: 1000 });
}

/** Percent-encodes a cluster name for a URL path. */
export function clusterPath(cluster: string): string {
  return encodeURIComponent(cluster);
}
