import { SettingValueError, type Setting } from './setting.ts';

type Base = Pick<Setting<unknown>, 'name' | 'env' | 'description'>;

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new SettingValueError('expected a single value');
}

/** A whole number within [min, max]. */
export function integerSetting(base: Base & { defaultValue: number; min: number; max: number; unit?: string }): Setting<number> {
  const accepts = `a whole number${base.unit ? ' of ' + base.unit : ''} from ${base.min} to ${base.max}`;
  return {
    ...base,
    valueHint: '<n>',
    parse(raw) {
      const text = asText(raw);
      if (!/^-?\d+$/.test(text)) throw new SettingValueError(`expected ${accepts}`);
      const value = Number(text);
      if (value < base.min || value > base.max) throw new SettingValueError(`expected ${accepts}`);
      return value;
    },
  };
}

/**
 * Seconds on the outside (flags, env, TOML), milliseconds once resolved.
 * `orOff`: 0 is accepted too (the feature is off), below a `min` above 0.
 */
export function secondsSetting(base: Base & { defaultSeconds: number; min: number; max: number; orOff?: boolean }): Setting<number> {
  const accepts = `${base.orOff ? '0 (off) or ' : ''}a number of seconds from ${base.min} to ${base.max}`;
  return {
    name: base.name,
    env: base.env,
    description: base.description,
    defaultValue: base.defaultSeconds * 1000,
    defaultLabel: String(base.defaultSeconds),
    valueHint: '<seconds>',
    parse(raw) {
      const text = asText(raw);
      if (!/^\d+(\.\d+)?$/.test(text)) throw new SettingValueError(`expected ${accepts}`);
      const value = Number(text);
      if (base.orOff && value === 0) return 0;
      if (value < base.min || value > base.max) throw new SettingValueError(`expected ${accepts}`);
      return Math.round(value * 1000);
    },
  };
}

/** One of a fixed list of words. */
export function choiceSetting<const C extends readonly string[]>(base: Base & { defaultValue: C[number]; choices: C }): Setting<C[number]> {
  return {
    ...base,
    valueHint: `<${base.choices.join('|')}>`,
    parse(raw) {
      const text = asText(raw).toLowerCase();
      const match = base.choices.find((choice) => choice === text);
      if (match === undefined) throw new SettingValueError(`expected one of ${base.choices.join(', ')}`);
      return match;
    },
  };
}

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port`, `:port` (all interfaces) or `[v6]:port`; port 0 = any free port. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** A listen address `host:port`. */
export function hostPortSetting(base: Base & { defaultValue: HostPort }): Setting<HostPort> {
  return {
    ...base,
    defaultLabel: `${base.defaultValue.host}:${base.defaultValue.port}`,
    valueHint: '<host:port>',
    parse(raw) {
      const parsed = parseHostPort(asText(raw));
      if (!parsed) throw new SettingValueError('expected host:port, e.g. 0.0.0.0:8000 or :8000 (port 0-65535)');
      return parsed;
    },
  };
}

/** A comma-separated (or TOML array) list of http(s) URLs; an empty list is allowed when `allowEmpty`. */
export function urlListSetting(base: Base & { allowEmpty: boolean; defaultValue: string[] }): Setting<string[]> {
  return {
    ...base,
    defaultLabel: base.defaultValue.join(',') || '(none)',
    valueHint: '<url,...>',
    parse(raw) {
      const items = Array.isArray(raw) ? raw.map(asText) : asText(raw).split(',');
      const urls = items.map((item) => item.trim()).filter((item) => item !== '');
      if (urls.length === 0 && !base.allowEmpty) throw new SettingValueError('expected at least one http:// or https:// URL');
      return urls.map((item) => {
        let url: URL;
        try {
          url = new URL(item);
        } catch {
          throw new SettingValueError(`"${item}" is not a URL; expected http://host:port, comma-separated`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new SettingValueError(`"${item}" must start with http:// or https://`);
        }
        return url.origin + url.pathname.replace(/\/+$/, '');
      });
    },
  };
}

/** Free text with a length limit and no control characters. */
export function textSetting(base: Base & { defaultValue: string; maxLength: number; pattern?: RegExp; accepts?: string }): Setting<string> {
  return {
    ...base,
    valueHint: '<text>',
    parse(raw) {
      const text = asText(raw);
      // eslint-disable-next-line no-control-regex
      const ok = text.length >= 1 && text.length <= base.maxLength && !/[\u0000-\u001f\u007f]/.test(text) && (!base.pattern || base.pattern.test(text));
      if (!ok) throw new SettingValueError(base.accepts ?? `expected 1-${base.maxLength} characters without control characters`);
      return text;
    },
  };
}

/** An on/off switch: `--once` on the command line, true/false/1/0/yes/no elsewhere. */
export function switchSetting(base: Base): Setting<boolean> {
  return {
    ...base,
    defaultValue: false,
    isFlagOnly: true,
    parse(raw) {
      if (typeof raw === 'boolean') return raw;
      const text = asText(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(text)) return true;
      if (['0', 'false', 'no', 'off'].includes(text)) return false;
      throw new SettingValueError('expected true or false');
    },
  };
}

/** One http(s) URL. */
export function urlSetting(base: Base & { defaultValue: string }): Setting<string> {
  const list = urlListSetting({ ...base, allowEmpty: false, defaultValue: [base.defaultValue] });
  return {
    ...base,
    valueHint: '<url>',
    parse(raw) {
      if (typeof raw === 'string' && raw.includes(',')) throw new SettingValueError('expected one http:// or https:// URL');
      return list.parse(raw)[0]!;
    },
  };
}

/** An optional http(s) URL: undefined unless a source sets it. */
export function optionalUrlSetting(base: Base & { defaultLabel: string }): Setting<string | undefined> {
  const inner = urlSetting({ ...base, defaultValue: 'http://127.0.0.1' });
  return { ...inner, defaultValue: undefined, defaultLabel: base.defaultLabel, parse: (raw) => inner.parse(raw) };
}

/** Optional free text (a file path, a name): undefined unless a source sets it. */
export function optionalTextSetting(base: Base & { maxLength: number; defaultLabel: string }): Setting<string | undefined> {
  const inner = textSetting({ ...base, defaultValue: '' });
  return { ...inner, defaultValue: undefined, defaultLabel: base.defaultLabel, parse: (raw) => inner.parse(raw) };
}
