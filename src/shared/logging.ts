/**
 * The processes' logger: one JSON object per line, in pino's format (numeric
 * `level`, ISO `time`, `pid`, the child bindings, the fields, `msg` last), so
 * log pipelines and the tests read it as before.
 *
 * Why not pino itself: in a long-running agent every module loaded stays in
 * memory, and pino brought a dozen modules (thread-stream, sonic-boom, a
 * worker-thread transport the agent never uses) for what is a line of JSON
 * per call here; see docs/agent.md "Memory". The subset kept is the one the
 * code uses: levels, `child()`, fields-then-message calls, the `err`
 * serializer, redaction of credential paths.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Log call: a message, or fields and an optional message (pino's order). */
export interface LogFn {
  (message: string): void;
  (fields: object, message?: string): void;
}

/** What the code logs through; `child()` adds bindings (e.g. `component`) to every line. */
export interface Logger {
  readonly level: LogLevel;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** The bindings of this logger and its parents (not `pid`). */
  bindings(): Record<string, unknown>;
}

const LEVEL_VALUES: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** Paths whose values never reach a log line: credentials of every kind (`*` is any one key). */
const REDACTED_PATHS = [
  'authorization',
  'password',
  'token',
  'secret',
  'p',
  '*.authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.p',
  'headers.authorization',
  'req.headers.authorization',
].map((path) => path.split('.'));
const CENSOR = '[redacted]';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stdout by default. Tests pass a buffer. */
  destination?: NodeJS.WritableStream;
}

/** How many warnings and errors a process remembers for its status (heartbeats, the manager's page). */
const RECENT_PROBLEMS = 20;
const recentProblems: Array<{ node: string | undefined; text: string }> = [];

/**
 * The latest warnings and errors logged by this process, newest first, as
 * `time component: message: reason` lines; for `node`, those logged with
 * that `node` binding (several agents in one process, as in the demo) or
 * with none (one agent per process).
 */
export function recentProblemsOf(node: string, max = 5): string[] {
  const mine = recentProblems.filter((entry) => entry.node === undefined || entry.node === node);
  return mine.slice(-max).reverse().map((entry) => entry.text);
}

/** The root logger of a process; parts take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  const target = options.destination ?? process.stdout;
  const write = options.format === 'pretty' ? (line: string) => target.write(formatPrettyLine(line) + '\n') : (line: string) => target.write(line + '\n');
  return new JsonLogger(options.level, write, {}, `,"pid":${process.pid}`);
}

class JsonLogger implements Logger {
  readonly level: LogLevel;
  readonly #threshold: number;
  readonly #write: (line: string) => void;
  readonly #bindings: Record<string, unknown>;
  /** `pid` and the bindings, serialized once per child rather than per line. */
  readonly #prefix: string;

  constructor(level: LogLevel, write: (line: string) => void, bindings: Record<string, unknown>, prefix: string) {
    this.level = level;
    this.#threshold = LEVEL_VALUES[level];
    this.#write = write;
    this.#bindings = bindings;
    this.#prefix = prefix;
  }

  fatal: LogFn = (first: object | string, message?: string) => this.#log(60, first, message);
  error: LogFn = (first: object | string, message?: string) => this.#log(50, first, message);
  warn: LogFn = (first: object | string, message?: string) => this.#log(40, first, message);
  info: LogFn = (first: object | string, message?: string) => this.#log(30, first, message);
  debug: LogFn = (first: object | string, message?: string) => this.#log(20, first, message);
  trace: LogFn = (first: object | string, message?: string) => this.#log(10, first, message);

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.level, this.#write, { ...this.#bindings, ...bindings }, this.#prefix + fieldsText(bindings));
  }

  bindings(): Record<string, unknown> {
    return { ...this.#bindings };
  }

  #log(level: number, first: object | string, second: string | undefined): void {
    if (level < this.#threshold) return;
    // pino's convention for logger.error(err, 'message'): the error goes under `err`.
    const fields = typeof first === 'string' ? undefined : first instanceof Error ? { err: first } : (first as Record<string, unknown>);
    const message = typeof first === 'string' ? first : (second ?? (first instanceof Error ? first.message : undefined));
    if (level >= 40) rememberProblem(this.#bindings, fields ?? {}, message ?? '');
    const msg = message === undefined ? '' : `,"msg":${JSON.stringify(message)}`;
    this.#write(`{"level":${level},"time":"${new Date().toISOString()}"${this.#prefix}${fields ? fieldsText(fields) : ''}${msg}}`);
  }
}

/** `,"key":value` for every defined field, credentials censored, an `err` serialized as pino does. */
function fieldsText(fields: Record<string, unknown>): string {
  let text = '';
  for (const [key, value] of Object.entries(redacted(fields))) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    text += `,${JSON.stringify(key)}:${safeJson(key === 'err' && value instanceof Error ? errorFields(value) : value)}`;
  }
  return text;
}

/** A copy of `fields` with every REDACTED_PATHS value replaced (the caller's objects are not changed). */
function redacted(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const path of REDACTED_PATHS) out = censorPath(out, path);
  return out;
}

function censorPath(object: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  const keys = head === '*' ? Object.keys(object) : Object.hasOwn(object, head) ? [head] : [];
  let out = object;
  for (const key of keys) {
    const value = object[key];
    const replaced = rest.length === 0 ? CENSOR : value !== null && typeof value === 'object' && !(value instanceof Error) ? censorPath(value as Record<string, unknown>, rest) : value;
    if (replaced === value) continue;
    if (out === object) out = Array.isArray(object) ? ([...object] as unknown as Record<string, unknown>) : { ...object };
    out[key] = replaced;
  }
  return out;
}

/** pino's `err` serializer: type, message, stack, and the error's own fields (code, ...). */
function errorFields(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) if (!(key in out)) out[key] = value;
  if (err.cause instanceof Error) out['cause'] = errorFields(err.cause);
  return out;
}

/** JSON that never throws: bigints as numbers, cycles as "[Circular]". */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return Number(item);
      if (item !== null && typeof item === 'object') {
        if (seen.has(item)) return '[Circular]';
        seen.add(item);
      }
      return item;
    }) ?? 'null'
  );
}

/** Keeps a warning's message and reason (never other fields: they could carry more than an operator page should). */
function rememberProblem(bindings: Record<string, unknown>, fields: Record<string, unknown>, message: string): void {
  const reason = typeof fields['reason'] === 'string' ? `: ${fields['reason']}` : '';
  const component = typeof bindings['component'] === 'string' ? `${bindings['component']}: ` : '';
  const node = typeof bindings['node'] === 'string' ? bindings['node'] : undefined;
  recentProblems.push({ node, text: `${new Date().toISOString()} ${component}${message}${reason}`.slice(0, 300) });
  if (recentProblems.length > RECENT_PROBLEMS) recentProblems.shift();
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Formats one JSON log line for humans: `time LEVEL [component] msg key=value ...` (exported for tests). */
export function formatPrettyLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { time, level, component, msg, pid: _pid, hostname: _hostname, ...fields } = record;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const levelName = LEVEL_NAMES[Number(level)] ?? String(level);
  const extras = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const where = component ? `[${String(component)}] ` : '';
  return `${clock} ${levelName.padEnd(5)} ${where}${String(msg ?? '')}${extras ? ' ' + extras : ''}`;
}
