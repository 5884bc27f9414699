import { nodeUtil } from '../node-builtins.ts';
import { camelCase, type SettingMap } from './setting.ts';

/**
 * A command's flags read with node:util's parseArgs from its setting table,
 * as addSettingOptions (cli-options.ts) declares them to commander:
 * `--name value` or `--name=value`, a bare `--name` for flag-only settings,
 * `--config file`; keys are commander's (camelCase). Undefined for anything
 * else (`--help`, an unknown flag, a missing value, a stray argument): the
 * caller then lets commander parse the command line, so help and errors read
 * as they always did.
 *
 * Why: the agent runs for months, and commander (a dozen built-ins of its
 * own, child_process among them) would stay loaded only to read a few flags
 * once; docs/agent.md "Memory".
 */
export function parseSettingArgs(settings: SettingMap, args: readonly string[]): Record<string, unknown> | undefined {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' } };
  for (const setting of Object.values(settings)) options[setting.name] = { type: setting.isFlagOnly ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = nodeUtil.parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch {
    return undefined;
  }
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) flags[camelCase(name)] = value;
  return flags;
}
