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
    },
    destination,
  );
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
