/**
 * Build InfluxQL text for statements sent to influxd, safe for any name,
 * and read the durations influxd prints back (SHOW RETENTION POLICIES).
 */

const MAX_SECONDS = 9_223_372_036; // influxd keeps durations as int64 nanoseconds

function escapeFor(kind: string, text: string, quote: '"' | "'"): string {
  let out = quote;
  for (const ch of text) {
    if (ch === '\\' || ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r' || ch === '\0') {
      // influxd reads CR as a newline (which ends a quoted token) and NUL as the end of the text; no escape exists.
      throw new RangeError(`${kind} cannot contain ${ch === '\r' ? 'a carriage return' : 'a NUL character'} in InfluxQL: ${JSON.stringify(text)}`);
    } else out += ch;
  }
  return out + quote;
}

/**
 * An identifier (database, retention policy, user, measurement, CQ name) as
 * InfluxQL: always double-quoted, `"` `\` and newline escaped, so keywords
 * (`"select"`), spaces, quotes and unicode are all safe. Throws a RangeError
 * for CR and NUL, which InfluxQL cannot express.
 */
export function quoteIdentifier(name: string): string {
  return escapeFor('an identifier', name, '"');
}

/** A string literal (passwords): single-quoted, `'` `\` and newline escaped; throws for CR and NUL. */
export function quoteString(value: string): string {
  return escapeFor('a string', value, "'");
}

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['w', 604_800],
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

/**
 * Seconds as an InfluxQL duration literal: `INF` for 0, else the largest
 * unit that divides it (`2w`, `3d`, `36h`, `90m`, `3601s`). Note that
 * `SHARD DURATION INF` is a parse error in CREATE/ALTER RETENTION POLICY:
 * write `0s` there for influxd's automatic shard duration.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
    throw new RangeError(`not a duration influxd can hold: ${seconds} seconds`);
  }
  if (seconds === 0) return 'INF';
  for (const [unit, size] of UNITS) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3_600 };

/**
 * A duration as Go prints it (influxd's SHOW output: `72h0m0s`, `0s`,
 * `1h30m0s`, `1.5s`, `500ms`) in seconds, fractional when it has a
 * sub-second part. Throws a RangeError for anything else.
 */
export function parseGoDuration(text: string): number {
  const fail = (): never => {
    throw new RangeError(`not a Go duration: ${JSON.stringify(text)}`);
  };
  let i = 0;
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    sign = text[0] === '-' ? -1 : 1;
    i = 1;
  }
  if (text.slice(i) === '0') return 0;
  if (i >= text.length) fail();
  let seconds = 0;
  while (i < text.length) {
    const numberStart = i;
    while (i < text.length && ((text[i]! >= '0' && text[i]! <= '9') || text[i] === '.')) i++;
    const number = text.slice(numberStart, i);
    if (number === '' || number === '.' || number.indexOf('.') !== number.lastIndexOf('.')) fail();
    const unitStart = i;
    while (i < text.length && !(text[i]! >= '0' && text[i]! <= '9') && text[i] !== '.') i++;
    const unitSeconds = GO_UNITS[text.slice(unitStart, i)];
    if (unitSeconds === undefined) return fail();
    seconds += unitSeconds >= 1 ? Number(number) * unitSeconds : Number(number) / Math.round(1 / unitSeconds);
  }
  return sign * seconds;
}
