import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidSettingError, messageOf } from '../errors.ts';
import type { RawSources } from './setting.ts';

/**
 * dotenv and smol-toml are loaded only when there is a .env or a config file
 * to read: most agents have neither, and a long-running process keeps every
 * module it ever loaded (docs/agent.md "Memory"). require() because settings
 * are read synchronously.
 */
const requireDependency = createRequire(import.meta.url);

/** Where a TOML config file is looked for when none is named. */
function defaultConfigPaths(home = homedir()): string[] {
  return [resolve('config.toml'), join(home, '.clusterflux', 'config.toml'), '/etc/clusterflux/config.toml'];
}

/**
 * The environment a command sees: the real environment, plus `./.env` for
 * variables the real environment does not set (a .env never overrides).
 */
export function loadEnvironment(realEnv: NodeJS.ProcessEnv = process.env, dotenvPath = resolve('.env')): Record<string, string | undefined> {
  if (!existsSync(dotenvPath)) return { ...realEnv };
  let fromFile: Record<string, string>;
  try {
    const dotenv = requireDependency('dotenv') as typeof import('dotenv');
    fromFile = dotenv.parse(readFileSync(dotenvPath));
  } catch (err) {
    throw new InvalidSettingError('env-file', `cannot read ${dotenvPath}: ${messageOf(err)}`);
  }
  return { ...fromFile, ...realEnv };
}

/**
 * Reads the TOML config file and narrows it to one command: top-level keys
 * apply to every command, keys in the `[command]` table override them.
 * `explicitPath` (from --config / CFLUX_CONFIG) must exist; the default
 * locations are optional.
 */
export function loadConfigFile(command: string, explicitPath: string | undefined, candidates = defaultConfigPaths()): { file: Record<string, unknown>; filePath?: string } {
  const path = explicitPath ?? candidates.find((candidate) => existsSync(candidate));
  if (path === undefined) return { file: {} };
  let document: Record<string, unknown>;
  try {
    const { parse: parseToml } = requireDependency('smol-toml') as typeof import('smol-toml');
    document = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : messageOf(err).split('\n')[0];
    throw new InvalidSettingError('config', `invalid setting --config=${JSON.stringify(path)}: ${reason}`);
  }
  const file: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) file[key] = value;
  }
  const section = document[command];
  if (section && typeof section === 'object' && !Array.isArray(section)) Object.assign(file, section);
  return { file, filePath: path };
}

/** Every source of settings for one command, in one object. */
export function gatherSources(command: string, flags: Record<string, unknown>, realEnv: NodeJS.ProcessEnv = process.env): RawSources {
  const env = loadEnvironment(realEnv);
  const explicit = typeof flags['config'] === 'string' ? flags['config'] : env['CFLUX_CONFIG'] || undefined;
  const { file, filePath } = loadConfigFile(command, explicit);
  return filePath === undefined ? { flags, env, file } : { flags, env, file, filePath };
}
