/**
 * Split the body of an InfluxDB 1.x `POST /write` (line protocol) into one
 * group of lines per measurement, without parsing fields or timestamps:
 * influxd parses those itself and reports its own errors.
 *
 * Lines are found exactly as influxd 1.6 finds them (models.scanLine): a
 * `\n` ends a line unless a backslash escapes it or it is inside a quoted
 * string field value (`s="two\nlines"`), so one "line" may span several
 * physical lines. Blank lines (only spaces, tabs and NUL bytes) and lines
 * whose first non-blank byte is `#` are skipped. Leading blanks are allowed.
 *
 * The measurement is read like influxd's scanMeasurement: it ends at the first
 * `,` or space whose preceding byte is not a backslash. Note that influxd has
 * no `\\` escape there: a backslash always escapes the byte after it, so
 * `cpu\\ v=1` is the measurement `cpu\\ v=1` without fields (a bad line).
 * The group key is the measurement as influxd's Point.Name() unescapes it:
 * `\,` `\ ` `\=` `\"` become `,` ` ` `=` `"`; other backslashes stay, so
 * `cpu\ load` and `"cpu load"` share a group but `cpu\\x` keeps both
 * backslashes.
 *
 * A line is refused here, with influxd's own message, only when influxd
 * refuses it too and the splitter sees why without reading fields:
 * `missing measurement` (it starts with `,`), no unescaped space after the
 * measurement and tags (`missing fields`, or the tag error influxd finds
 * first: `missing tag key`, `missing tag value`, `invalid tag format`), or
 * only blanks after that space (`invalid field format`). Any other line,
 * including one with a bad tag before its first space, goes to its group
 * and influxd reports it. Every line influxd accepts lands in a group.
 *
 * CRLF: influxd 1.6 does not strip `\r` (`cpu v=1\r` fails with
 * `invalid number`, a `\r`-only line with `missing fields`). By default the
 * `\r` is kept so that influxd answers as it always would; with
 * {@link SplitOptions.stripCarriageReturns} a `\r` before each line's `\n` is
 * dropped and `\r`-only lines count as blank.
 *
 * Hot path: a line without `"` and without a backslash before its `\n`, and
 * the space after the tags, are found with Buffer#indexOf (memchr); only the
 * measurement is read byte by byte, hashed (FNV-1a) to find its group, and
 * decoded to a string only the first time its spelling occurs in the body.
 * Groups keep byte ranges and are copied out once at the end; a group whose
 * lines are adjacent in the body (one measurement per body) is a view.
 */

/** Lines of one measurement, in body order. */
export interface MeasurementGroup {
  /** The measurement name, unescaped as influxd does (see the module comment). */
  readonly measurement: string;
  /**
   * The original bytes of the lines, in body order, each line ending with
   * `\n`: a view on the body when the lines are adjacent there, else a copy.
   */
  readonly body: Buffer;
  /** How many lines `body` holds. */
  readonly lineCount: number;
}

/** A line that influxd would refuse, reported the way influxd reports it. */
export interface InvalidLine {
  /** The line without its leading blanks, cut to {@link INVALID_LINE_MAX_CHARS} characters. */
  readonly line: string;
  /** 1-based number of the physical line where the line starts. */
  readonly lineNumber: number;
  /** influxd's reason, e.g. `missing fields`. */
  readonly reason: string;
}

/** What {@link splitLinesByMeasurement} found. */
export interface SplitResult {
  /** Groups by unescaped measurement name, in order of first appearance. */
  readonly groups: Map<string, MeasurementGroup>;
  /** The refused lines, in body order. */
  readonly invalid: InvalidLine[];
  /** Lines that are neither blank nor comments: the grouped ones plus the invalid ones. */
  readonly lineCount: number;
}

/** Options of {@link splitLinesByMeasurement}. */
export interface SplitOptions {
  /** Drop a `\r` that ends a line, and skip `\r`-only lines. influxd 1.6 does neither. Default false. */
  readonly stripCarriageReturns?: boolean;
}

/** {@link InvalidLine.line} is cut to this many UTF-16 characters. */
export const INVALID_LINE_MAX_CHARS = 200;

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const NUL = 0;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Keeps hash map keys small integers (V8 Smis). */
const HASH_KEY_MASK = 0x3fffffff;

/** Errors of the series-key scan, as influxd words them; indexed by -code - 1. */
const KEY_ERRORS = ['missing tag key', 'missing tag value', 'missing fields', 'invalid tag format'] as const;
const MISSING_TAG_KEY = -1;
const MISSING_TAG_VALUE = -2;
const MISSING_FIELDS = -3;
const INVALID_TAG_FORMAT = -4;

/** Collects the lines of one measurement as byte ranges of the body; adjacent lines share a range. */
class GroupBuilder {
  readonly measurement: string;
  /** Pairs start, end of body ranges; an end stored as -end - 1 means "then a '\n'" (a line that had none). */
  readonly ranges: number[] = [];
  lineCount = 0;
  byteLength = 0;

  constructor(measurement: string) {
    this.measurement = measurement;
  }

  /** Add the line body[start, end), which ends with '\n' unless `addNewline`. */
  addLine(start: number, end: number, addNewline: boolean): void {
    const ranges = this.ranges;
    const last = ranges.length - 1;
    if (!addNewline && last > 0 && ranges[last] === start) ranges[last] = end;
    else ranges.push(start, addNewline ? -end - 1 : end);
    this.lineCount++;
    this.byteLength += addNewline ? end - start + 1 : end - start;
  }

  /** The lines as one Buffer: a view on the body when they are one range, else a copy. */
  build(body: Buffer): Buffer {
    const ranges = this.ranges;
    if (ranges.length === 2 && ranges[1]! >= 0) return body.subarray(ranges[0], ranges[1]);
    const out = Buffer.allocUnsafe(this.byteLength);
    let at = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      const end = ranges[i + 1]!;
      at += body.copy(out, at, ranges[i], end < 0 ? -end - 1 : end);
      if (end < 0) out[at++] = NEWLINE;
    }
    return out;
  }
}

/** One spelling of a measurement in the body (escapes kept), chained by hash. */
interface RawNameEntry {
  readonly start: number;
  readonly end: number;
  readonly hash: number;
  readonly group: GroupBuilder;
  readonly next: RawNameEntry | undefined;
}

/**
 * Group the lines of a line-protocol body by measurement and collect the
 * lines influxd would refuse. A group's body may be a view on `body`, which
 * must then not change while it is used. A last line without `\n` gets one
 * in its group.
 */
export function splitLinesByMeasurement(body: Buffer, options: SplitOptions = {}): SplitResult {
  const stripCarriageReturns = options.stripCarriageReturns === true;
  const length = body.length;
  const groups = new Map<string, GroupBuilder>();
  const namesByHash = new Map<number, RawNameEntry>();
  const invalid: InvalidLine[] = [];
  let lastName: RawNameEntry | undefined;
  let lineCount = 0;
  let physicalLine = 1;
  // Next '"' and next ' ' at or after the last search: the searches only move forward, so
  // caching them keeps Buffer#indexOf linear over the body even when lines have none.
  let nextQuote = body.indexOf(QUOTE);
  let nextSpace = body.indexOf(SPACE);
  let pos = 0;

  while (pos < length) {
    let newline = body.indexOf(NEWLINE, pos);
    if (newline < 0) newline = length;
    if (nextQuote >= 0 && nextQuote < pos) nextQuote = body.indexOf(QUOTE, pos);
    let lineEnd = newline;
    const lineNumber = physicalLine;
    if ((nextQuote >= 0 && nextQuote < newline) || (newline > pos && body[newline - 1] === BACKSLASH)) {
      lineEnd = scanLineEnd(body, pos);
      if (lineEnd > newline) physicalLine += countNewlines(body, newline, lineEnd);
    }
    physicalLine++;
    const lineStart = pos;
    pos = lineEnd + 1;

    // contentEnd excludes the line's '\n': the one after it, or the body's last byte when an
    // unterminated string ran to the end (influxd strips that one too).
    let contentEnd = lineEnd;
    if (lineEnd === length && lineEnd > lineStart && body[lineEnd - 1] === NEWLINE) contentEnd--;
    let keepsOwnNewline = contentEnd < length;
    if (stripCarriageReturns && contentEnd > lineStart && body[contentEnd - 1] === CARRIAGE_RETURN) {
      contentEnd--;
      keepsOwnNewline = false;
    }
    const start = skipBlanks(body, lineStart, contentEnd);
    if (start >= contentEnd || body[start] === HASH) continue;
    lineCount++;

    // The measurement: up to the first comma or space not preceded by a backslash.
    let previous = body[start]!;
    if (previous === COMMA) {
      invalid.push(invalidLine(body, start, contentEnd, lineNumber, 'missing measurement'));
      continue;
    }
    let hash = Math.imul(FNV_OFFSET ^ previous, FNV_PRIME);
    let hasBackslash = previous === BACKSLASH;
    let nameEnd = start + 1;
    let afterName = 0;
    for (; nameEnd < contentEnd; nameEnd++) {
      const byte = body[nameEnd]!;
      if (previous !== BACKSLASH && (byte === COMMA || byte === SPACE)) {
        afterName = byte;
        break;
      }
      if (byte === BACKSLASH) hasBackslash = true;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
      previous = byte;
    }

    let keyEnd = nameEnd;
    if (afterName === 0) keyEnd = MISSING_FIELDS;
    else if (afterName === COMMA) {
      // Where influxd's tag scan succeeds, it ends at the first unescaped space; find that with
      // memchr and run the exact scan only when the line has none (to give influxd's reason).
      if (nextSpace >= 0 && nextSpace <= nameEnd) nextSpace = body.indexOf(SPACE, nameEnd + 1);
      while (nextSpace >= 0 && nextSpace < contentEnd && body[nextSpace - 1] === BACKSLASH) nextSpace = body.indexOf(SPACE, nextSpace + 1);
      keyEnd = nextSpace >= 0 && nextSpace < contentEnd ? nextSpace : scanTagsEnd(body, nameEnd + 1, contentEnd);
    }
    if (keyEnd < 0) {
      invalid.push(invalidLine(body, start, contentEnd, lineNumber, KEY_ERRORS[-keyEnd - 1]!));
      continue;
    }
    if (skipBlanks(body, keyEnd, contentEnd) >= contentEnd) {
      // influxd reports a bad tag before the missing fields.
      const tagsEnd = afterName === COMMA ? scanTagsEnd(body, nameEnd + 1, contentEnd) : 0;
      invalid.push(invalidLine(body, start, contentEnd, lineNumber, tagsEnd < 0 ? KEY_ERRORS[-tagsEnd - 1]! : 'invalid field format'));
      continue;
    }

    hash &= HASH_KEY_MASK;
    let name = lastName;
    if (name === undefined || name.hash !== hash || !sameBytes(body, name.start, name.end, start, nameEnd)) {
      name = namesByHash.get(hash);
      while (name !== undefined && !sameBytes(body, name.start, name.end, start, nameEnd)) name = name.next;
      if (name === undefined) {
        const measurement = unescapeMeasurement(body, start, nameEnd, hasBackslash);
        let group = groups.get(measurement);
        if (group === undefined) {
          group = new GroupBuilder(measurement);
          groups.set(measurement, group);
        }
        name = { start, end: nameEnd, hash, group, next: namesByHash.get(hash) };
        namesByHash.set(hash, name);
      }
      lastName = name;
    }

    if (keepsOwnNewline) name.group.addLine(lineStart, contentEnd + 1, false);
    else name.group.addLine(lineStart, contentEnd, true);
  }

  const result = new Map<string, MeasurementGroup>();
  for (const [measurement, group] of groups) {
    result.set(measurement, { measurement, body: group.build(body), lineCount: group.lineCount });
  }
  return { groups: result, invalid, lineCount };
}

/**
 * How many lines of `body` influxd would try to store as points: the lines
 * {@link splitLinesByMeasurement} counts (neither blank nor comments, found
 * the same way), without grouping them. For bodies sent on unsplit.
 */
export function countLines(body: Buffer): number {
  const length = body.length;
  let count = 0;
  let nextQuote = body.indexOf(QUOTE);
  let pos = 0;
  while (pos < length) {
    let newline = body.indexOf(NEWLINE, pos);
    if (newline < 0) newline = length;
    if (nextQuote >= 0 && nextQuote < pos) nextQuote = body.indexOf(QUOTE, pos);
    const quotedOrEscaped = (nextQuote >= 0 && nextQuote < newline) || (newline > pos && body[newline - 1] === BACKSLASH);
    const lineEnd = quotedOrEscaped ? scanLineEnd(body, pos) : newline;
    const start = skipBlanks(body, pos, lineEnd);
    if (start < lineEnd && body[start] !== HASH) count++;
    pos = lineEnd + 1;
  }
  return count;
}

/**
 * influxd's scanLine: the end (index of the `\n`, or body.length) of the
 * line starting at `start`, honouring backslash escapes and `\n` inside a
 * quoted field value. A string left open runs to the end of the body.
 */
function scanLineEnd(body: Buffer, start: number): number {
  const length = body.length;
  let i = start;
  let quoted = false;
  let inFields = false;
  let equals = 0;
  let commas = 0;
  while (i < length) {
    const byte = body[i]!;
    if (byte === BACKSLASH && i + 2 < length) {
      i += 2;
      continue;
    }
    if (byte === SPACE) inFields = true;
    if (inFields) {
      if (!quoted && byte === EQUALS) {
        i++;
        equals++;
        continue;
      }
      if (!quoted && byte === COMMA) {
        i++;
        commas++;
        continue;
      }
      if (byte === QUOTE && equals > commas) {
        i++;
        quoted = !quoted;
        continue;
      }
    }
    if (byte === NEWLINE && !quoted) break;
    i++;
  }
  return i;
}

/**
 * influxd's scanTags from `start` (just after the measurement's comma) to
 * `end`: the index of the space that ends the series key, or a negative
 * error code (see KEY_ERRORS). As in influxd, a byte counts as escaped when
 * the byte before it is a backslash.
 */
function scanTagsEnd(body: Buffer, start: number, end: number): number {
  let i = start;
  for (;;) {
    // Tag key: not empty, ends at an unescaped '='.
    if (i >= end) return MISSING_TAG_KEY;
    let byte = body[i]!;
    if (byte === SPACE || byte === COMMA || byte === EQUALS) return MISSING_TAG_KEY;
    for (;;) {
      i++;
      if (i >= end) return MISSING_TAG_VALUE;
      byte = body[i]!;
      const escaped = body[i - 1] === BACKSLASH;
      if ((byte === SPACE || byte === COMMA) && !escaped) return MISSING_TAG_VALUE;
      if (byte === EQUALS && !escaped) break;
    }
    // Tag value: not empty, ends at an unescaped ',' (next tag) or space (fields).
    i++;
    if (i >= end) return MISSING_TAG_VALUE;
    byte = body[i]!;
    if (byte === COMMA || byte === SPACE) return MISSING_TAG_VALUE;
    for (;;) {
      i++;
      if (i >= end) return MISSING_FIELDS;
      byte = body[i]!;
      if (body[i - 1] === BACKSLASH) continue;
      if (byte === EQUALS) return INVALID_TAG_FORMAT;
      if (byte === COMMA) break;
      if (byte === SPACE) return i;
    }
    i++;
  }
}

/** influxd's skipWhitespace: the first index from `from` that is not a space, tab or NUL. */
function skipBlanks(body: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const byte = body[i];
    if (byte !== SPACE && byte !== TAB && byte !== NUL) break;
    i++;
  }
  return i;
}

function countNewlines(body: Buffer, from: number, end: number): number {
  let count = 0;
  for (let i = body.indexOf(NEWLINE, from); i >= 0 && i < end; i = body.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

function sameBytes(body: Buffer, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; aStart + i < aEnd; i++) if (body[aStart + i] !== body[bStart + i]) return false;
  return true;
}

/** influxd's escape.Unescape of body[start, end): `\,` `\"` `\ ` `\=` lose their backslash. */
function unescapeMeasurement(body: Buffer, start: number, end: number, hasBackslash: boolean): string {
  if (!hasBackslash) return body.toString('utf8', start, end);
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = body[i]!;
    const next = i + 1 < end ? body[i + 1]! : -1;
    if (byte === BACKSLASH && (next === COMMA || next === QUOTE || next === SPACE || next === EQUALS)) {
      out[n++] = next;
      i++;
    } else {
      out[n++] = byte;
    }
  }
  return out.toString('utf8', 0, n);
}

function invalidLine(body: Buffer, start: number, end: number, lineNumber: number, reason: string): InvalidLine {
  // 4 bytes per character at most in UTF-8: decode just enough for the cut.
  const text = body.toString('utf8', start, Math.min(end, start + 4 * INVALID_LINE_MAX_CHARS));
  return { line: text.length > INVALID_LINE_MAX_CHARS ? text.slice(0, INVALID_LINE_MAX_CHARS) : text, lineNumber, reason };
}

/**
 * influxd's error text for refused lines: `unable to parse '<line>': <reason>`,
 * one per line joined by `\n` (influxd prefixes `partial write: ` and appends
 * ` dropped=N` when it wrote the other lines).
 */
export function describeInvalidLines(invalid: readonly InvalidLine[]): string {
  return invalid.map((bad) => `unable to parse '${bad.line}': ${bad.reason}`).join('\n');
}

/**
 * One Buffer with the chunks' bytes in order (the chunk itself when there is
 * only one), e.g. the bodies of several groups bound for the same server.
 */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  return Buffer.concat(chunks, total);
}
