import { LOG_FORMATS, LOG_LEVELS } from '../logging.ts';
import { choiceSetting, integerSetting, optionalTextSetting, textSetting, urlListSetting } from './parsers.ts';
import { SettingValueError, type Setting } from './setting.ts';

/** Cluster names: 1-128 characters, no control characters (docs/design.md). */
export function validateClusterName(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (name.length < 1 || name.length > 128 || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    return 'a cluster name has 1-128 characters and no control characters';
  }
  return undefined;
}

export const logLevelSetting = choiceSetting({
  name: 'log-level',
  env: 'CFLUX_LOG_LEVEL',
  description: 'log level',
  choices: LOG_LEVELS,
  defaultValue: 'info',
});

export const logFormatSetting = choiceSetting({
  name: 'log-format',
  env: 'CFLUX_LOG_FORMAT',
  description: 'json lines, or pretty for humans',
  choices: LOG_FORMATS,
  defaultValue: 'json',
});

export const clusterSetting: Setting<string> = {
  ...textSetting({ name: 'cluster', env: 'CLUSTER', description: 'cluster name', defaultValue: 'default', maxLength: 128 }),
  parse(raw) {
    const text = typeof raw === 'string' ? raw : String(raw);
    const problem = validateClusterName(text);
    if (problem) throw new SettingValueError(`expected ${problem}`);
    return text;
  },
};

export const managerEndpointsSetting = urlListSetting({
  name: 'manager',
  env: 'CFLUX_ENDPOINT',
  description: 'manager URLs, comma-separated; the next is tried when one fails',
  allowEmpty: false,
  defaultValue: ['http://127.0.0.1:8000'],
});

/** `--max-body-size`: the largest request body a server accepts (413 beyond). */
export function maxBodySizeSetting(description: string, defaultValue: number): Setting<number> {
  return integerSetting({ name: 'max-body-size', env: 'CFLUX_MAX_BODY_SIZE', description, defaultValue, min: 1024, max: 1024 * 1024 * 1024, unit: 'bytes' });
}

/** `--manager-token-file`: the manager's (operator) token; else CFLUX_MANAGER_TOKEN. Manager, agents and `cflux` commands. */
export const managerTokenFileSetting = optionalTextSetting({
  name: 'manager-token-file',
  env: 'CFLUX_MANAGER_TOKEN_FILE',
  description: 'file holding the manager token (operator rights)',
  maxLength: 4096,
  defaultLabel: 'CFLUX_MANAGER_TOKEN',
});

/** `--agent-token-file`: the optional token with agent rights only; else CFLUX_AGENT_TOKEN. */
export const agentTokenFileSetting = optionalTextSetting({
  name: 'agent-token-file',
  env: 'CFLUX_AGENT_TOKEN_FILE',
  description: 'file holding the agent token (agent rights only)',
  maxLength: 4096,
  defaultLabel: 'CFLUX_AGENT_TOKEN',
});

/** `--ca-file`: PEM certificates trusted for the manager's and the agents' peer APIs, besides Node's defaults. */
export const caFileSetting = optionalTextSetting({
  name: 'ca-file',
  env: 'CFLUX_CA_FILE',
  description: 'PEM file of CAs trusted for https manager and peer APIs',
  maxLength: 4096,
  defaultLabel: 'system CAs and NODE_EXTRA_CA_CERTS',
});
