import { InvalidSettingError } from '../errors.ts';

/**
 * One user-facing setting: a CLI flag `--name`, an environment twin, a TOML key
 * `name` and a default. `parse` turns a raw value from any source into the
 * resolved type, or throws a `SettingValueError` saying what it accepts.
 */
export interface Setting<T> {
  /** kebab-case; the flag is `--${name}` and the TOML key is `name`. */
  readonly name: string;
  /** Environment variable that may set it. */
  readonly env: string;
  readonly description: string;
  /** Shown in --help; resolved when no source sets the setting. */
  readonly defaultValue: T;
  /** How --help shows the default. */
  readonly defaultLabel?: string;
  /** Takes no value on the command line (`--once`). */
  readonly isFlagOnly?: boolean;
  /** Placeholder in --help, e.g. `<host:port>`. */
  readonly valueHint?: string;
  parse(raw: unknown): T;
}

/** Thrown by a parser; the resolver adds which setting and which source. */
export class SettingValueError extends Error {
  override name = 'SettingValueError';
}

export type SettingSource = 'flag' | 'environment' | 'config file' | 'default';

/** Which source gave each setting, for `--help`-free debugging and tests. */
export interface RawSources {
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** TOML values already narrowed to this command (top level, then its section). */
  file: Record<string, unknown>;
  /** Path of the TOML file, for error messages. */
  filePath?: string;
}

export type SettingMap = Record<string, Setting<unknown>>;
export type ResolvedSettings<S extends SettingMap> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/**
 * Resolves every setting: CLI flag > environment > config file > default.
 * The first bad value throws an InvalidSettingError whose message is the one
 * line the CLI prints before exiting with status 2.
 */
export function resolveSettings<S extends SettingMap>(settings: S, sources: RawSources): ResolvedSettings<S> {
  const resolved: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings)) {
    const { raw, source } = pickRaw(setting, sources);
    if (source === 'default') {
      resolved[key] = setting.defaultValue;
      continue;
    }
    try {
      resolved[key] = setting.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      const where =
        source === 'flag'
          ? `--${setting.name}`
          : source === 'environment'
            ? `${setting.env} (environment)`
            : `${setting.name} in ${sources.filePath ?? 'the config file'}`;
      throw new InvalidSettingError(setting.name, `invalid setting ${where}=${showRaw(raw)}: ${err.message}`);
    }
  }
  return resolved as ResolvedSettings<S>;
}

function pickRaw(setting: Setting<unknown>, sources: RawSources): { raw: unknown; source: SettingSource } {
  const flag = sources.flags[camelCase(setting.name)];
  if (flag !== undefined) return { raw: flag, source: 'flag' };
  const env = sources.env[setting.env];
  if (env !== undefined && env !== '') return { raw: env, source: 'environment' };
  const file = sources.file[setting.name];
  if (file !== undefined) return { raw: file, source: 'config file' };
  return { raw: undefined, source: 'default' };
}

function showRaw(raw: unknown): string {
  const text = typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw) ?? String(raw);
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

/** commander's property name for a kebab-case flag (setting-args.ts uses the same). */
export function camelCase(kebab: string): string {
  return kebab.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
