/**
 * Points without a timestamp get one time per request, stamped here before a
 * batch is split, fanned out or queued: influxd would stamp each copy with
 * its own clock when it stores it, so replicas (and a batch replayed from a
 * hinted-handoff queue hours later) would disagree.
 */

const NEWLINE = 10;
const SPACE = 32;
const BACKSLASH = 92;
const HASH = 35;

/** Nanoseconds per unit of each `precision` influxd accepts (empty: nanoseconds). */
const NANOS_PER_UNIT: Record<string, bigint> = { '': 1n, n: 1n, ns: 1n, u: 1_000n, µ: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** `nowNs` in the request's precision, as influxd would stamp it; undefined for a precision influxd refuses. */
export function timestampIn(precision: string | null, nowNs: bigint): string | undefined {
  const unit = NANOS_PER_UNIT[precision ?? ''];
  return unit === undefined ? undefined : (nowNs / unit).toString();
}

/** The current time in nanoseconds. */
export function nowNanoseconds(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/**
 * Whether a line (no `\n`, blanks at its end allowed) ends with a
 * timestamp: its last token after an unescaped space is an integer. Fields
 * always hold `=`; a string value ends with `"`; so an all-digit last token
 * is the timestamp. (A string left unclosed makes the line invalid anyway.)
 */
/**
 * Whether a line without a timestamp is worth stamping: it has a series key
 * and fields (an unescaped space, then `key=value`). A line influxd will
 * refuse anyway is left as it is, so influxd's error quotes it as sent.
 */
function hasFields(body: Buffer, start: number, end: number): boolean {
  let space = start;
  for (; space < end; space++) if (body[space] === SPACE && body[space - 1] !== BACKSLASH) break;
  if (space >= end) return false;
  const equals = body.indexOf(61 /* = */, space);
  return equals > space && equals + 1 < end && body[equals + 1] !== SPACE;
}

function endsWithTimestamp(body: Buffer, start: number, end: number): boolean {
  let space = end - 1;
  while (space >= start && body[space] !== SPACE) space--;
  if (space < start || (space > start && body[space - 1] === BACKSLASH)) return false;
  let i = space + 1;
  if (i < end && body[i] === 45 /* - */) i++;
  if (i >= end) return false;
  for (; i < end; i++) {
    const byte = body[i]!;
    if (byte < 48 || byte > 57) return false;
  }
  return true;
}

/** The end of a line's content: without trailing spaces, tabs and a carriage return. */
function contentEnd(body: Buffer, start: number, end: number): number {
  let i = end;
  while (i > start && (body[i - 1] === SPACE || body[i - 1] === 9 || body[i - 1] === 13)) i--;
  return i;
}

/**
 * The body with ` <timestamp>` appended to every point line that has none
 * (blank and comment lines are left alone); the body itself, uncopied, when
 * every line has one. A line ending inside a quoted string that spans lines
 * is treated line by line, which only matters for lines influxd refuses.
 */
export function stampMissingTimestamps(body: Buffer, timestamp: string): Buffer {
  const missing: number[] = [];
  for (let start = 0; start < body.length; ) {
    let newline = body.indexOf(NEWLINE, start);
    if (newline < 0) newline = body.length;
    const end = contentEnd(body, start, newline);
    let first = start;
    while (first < end && (body[first] === SPACE || body[first] === 9)) first++;
    if (first < end && body[first] !== HASH && !endsWithTimestamp(body, first, end) && hasFields(body, first, end)) missing.push(end);
    start = newline + 1;
  }
  if (missing.length === 0) return body;
  const suffix = Buffer.from(` ${timestamp}`, 'latin1');
  const out = Buffer.allocUnsafe(body.length + missing.length * suffix.length);
  let from = 0;
  let at = 0;
  for (const end of missing) {
    at += body.copy(out, at, from, end);
    at += suffix.copy(out, at);
    from = end;
  }
  at += body.copy(out, at, from);
  return out.subarray(0, at);
}
