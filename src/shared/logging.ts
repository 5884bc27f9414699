import { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Paths whose values never reach a log line: credentials of every kind. */
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
];

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
  const destination: DestinationStream =
    options.format === 'pretty' ? prettyStream(target) : (target as DestinationStream);
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method, level) {
          if (level >= 40) rememberProblem(this.bindings(), args);
          return method.apply(this, args);
        },
      },
    },
    destination,
  );
}

/** Keeps a warning's message and reason (never other fields: they could carry more than an operator page should). */
function rememberProblem(bindings: Record<string, unknown>, args: unknown[]): void {
  const [first, second] = args;
  const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
  const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
  const reason = typeof fields['reason'] === 'string' ? `: ${fields['reason']}` : '';
  const component = typeof bindings['component'] === 'string' ? `${bindings['component']}: ` : '';
  const node = typeof bindings['node'] === 'string' ? bindings['node'] : undefined;
  recentProblems.push({ node, text: `${new Date().toISOString()} ${component}${message}${reason}`.slice(0, 300) });
  if (recentProblems.length > RECENT_PROBLEMS) recentProblems.shift();
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One readable line per record: `time LEVEL [component] msg key=value ...`. */
function prettyStream(target: NodeJS.WritableStream): DestinationStream {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) target.write(formatPrettyLine(line) + '\n');
      }
      done();
    },
  });
  return stream as unknown as DestinationStream;
}

/** Formats one pino JSON line for humans (exported for tests). */
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
