/**
 * Split an InfluxQL query (the `q` parameter of /query) into statements the
 * way influxd reads it: a `;` ends a statement unless it is inside
 *
 * - a single-quoted string (`'it\'s; fine'`) or a double-quoted identifier
 *   (`"a;b"`); both end at an unescaped newline, as in influxd;
 * - a regex literal (`FROM /a;b/`, `host =~ /a;b/`); a `/` after an
 *   identifier, number, string, `)` or `*` is division instead (`x / 2`);
 * - a comment: `-- to the end of the line` or `/* ... *\/`. An unterminated
 *   `/*` is kept in its statement, so that it fails like it does in influxd.
 *
 * One linear pass over the text without regular expressions: 10 MB split in
 * a few tens of milliseconds.
 */
import { advancePosition, slashAfterWordStartsRegex } from './influxql-lexer.ts';
import type { SourcePosition } from './influxql-lexer.ts';

/** A statement found by {@link locateStatements}, with where it is in the query. */
export interface LocatedStatement {
  /** The statement text: whitespace and comments around it removed, comments inside kept. */
  readonly text: string;
  /** influxd's position of the statement's first character in the query (0-based). */
  readonly start: SourcePosition;
  /** The whole query the statement came from. */
  readonly query: string;
  /** UTF-16 offset of `text` in `query`. */
  readonly from: number;
  /** Offset of the `;` that ends the statement, or query.length for the last one. */
  readonly to: number;
}

/** The statements of a query, trimmed, without empty ones (`;;`, comment-only parts). */
export function splitStatements(query: string): string[] {
  const texts: string[] = [];
  findStatements(query, (from, end) => texts.push(query.slice(from, end)));
  return texts;
}

/**
 * The statements of a query with their positions, for error messages that
 * match influxd's. influxd trims the query (Go's strings.TrimSpace) before
 * parsing it: pass the trimmed text to get the very same positions.
 */
export function locateStatements(query: string): LocatedStatement[] {
  const statements: LocatedStatement[] = [];
  let positionIndex = 0;
  let position: SourcePosition = { line: 0, char: 0 };
  findStatements(query, (from, end, to) => {
    position = advancePosition(query, positionIndex, from, position);
    positionIndex = from;
    statements.push({ text: query.slice(from, end), start: position, query, from, to });
  });
  return statements;
}

/** What came before a `/`, which decides between regex and division. */
const AFTER = {
  /** An operator or punctuation: a `/` here starts a regex (`=~ /re/`, `f(/re/)`, `db.rp./re/`). */
  operator: 0,
  /** An identifier, number, string, regex, `)` or `*`: a `/` here divides. */
  operand: 1,
  /** A bare word at [wordStart, wordEnd): a keyword (FROM, BY, ...) starts a regex, a name divides. */
  word: 2,
  /** Nothing yet in this statement: `/` is division, as influxd scans it. */
  nothing: 3,
} as const;
type After = (typeof AFTER)[keyof typeof AFTER];

/** Call `found(from, end, to)` for each statement: its text is [from, end), its `;` (or the end) at `to`. */
function findStatements(query: string, found: (from: number, end: number, to: number) => void): void {
  const length = query.length;
  let statementFrom = -1;
  let statementEnd = -1;
  let previous: After = AFTER.nothing;
  let wordStart = 0;
  let wordEnd = 0;

  const finish = (to: number): void => {
    if (statementFrom >= 0) found(statementFrom, statementEnd, to);
    statementFrom = -1;
    previous = AFTER.nothing;
  };
  const significant = (from: number, end: number): void => {
    if (statementFrom < 0) statementFrom = from;
    statementEnd = end;
  };

  let i = 0;
  while (i < length) {
    const c = query.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
    } else if (c === 59) {
      finish(i);
      i++;
    } else if (c === 45 && query.charCodeAt(i + 1) === 45) {
      i = endOfLine(query, i + 2);
    } else if (c === 47 && query.charCodeAt(i + 1) === 42) {
      const close = query.indexOf('*/', i + 2);
      const end = close === -1 ? length : close + 2;
      if (close === -1) significant(i, end);
      i = end;
    } else if (c === 39 || c === 34) {
      const end = endOfQuoted(query, i + 1, c);
      significant(i, withoutNewline(query, end));
      previous = AFTER.operand;
      i = end;
    } else if (c === 47) {
      const regex: boolean = previous === AFTER.operator || (previous === AFTER.word && slashAfterWordStartsRegex(query.slice(wordStart, wordEnd)));
      const end = regex ? endOfRegex(query, i + 1) : i + 1;
      significant(i, withoutNewline(query, end));
      previous = regex ? AFTER.operand : AFTER.operator;
      i = end;
    } else if (isWordChar(c)) {
      let end = i + 1;
      while (end < length && isWordChar(query.charCodeAt(end))) end++;
      significant(i, end);
      const isNumber = c >= 48 && c <= 57;
      previous = isNumber ? AFTER.operand : AFTER.word;
      wordStart = i;
      wordEnd = end;
      i = end;
    } else {
      const end = c >= 0xd800 && c <= 0xdbff ? i + 2 : i + 1;
      significant(i, Math.min(end, length));
      previous = c === 41 || c === 42 ? AFTER.operand : AFTER.operator;
      i = end;
    }
  }
  finish(length);
}

/** Letters, digits, `_`, `µ` (durations like 10µs) and `.` inside numbers are one word. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 0xb5;
}

/** A literal cut short by a newline ends before it, as far as the statement's text goes. */
function withoutNewline(text: string, end: number): number {
  const last = text.charCodeAt(end - 1);
  return last === 10 || last === 13 ? end - 1 : end;
}

/** Offset just past the newline that ends a `--` comment (or the text's end). */
function endOfLine(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i + 1;
  }
  return text.length;
}

/** Offset just past a quoted string or identifier that opened before `from`. */
function endOfQuoted(text: string, from: number, quote: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote || c === 10 || c === 13) return i + 1;
    if (c === 92) i++;
  }
  return text.length;
}

/** Offset just past a regex literal that opened before `from` (`\/` is an escaped slash). */
function endOfRegex(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 47 || c === 10 || c === 13) return i + 1;
    if (c === 92 && text.charCodeAt(i + 1) === 47) i++;
  }
  return text.length;
}
