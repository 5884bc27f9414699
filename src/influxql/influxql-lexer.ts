/**
 * InfluxQL tokens as influxd 1.6 scans them (github.com/influxdata/influxql
 * scanner.go), with influxd's positions so that error messages can say
 * `at line L, char C` exactly like influxd does:
 *
 * - lines and chars are 0-based here (influxd prints them +1); chars count
 *   code points, and `\r\n` or a lone `\r` is one newline;
 * - identifiers: `[A-Za-z_][A-Za-z0-9_]*` (ASCII only: `café` is `caf` and an
 *   ILLEGAL `é`), or double-quoted with `\"`, `\\`, `\'` and `\n` escapes;
 *   keywords are case-insensitive and are never identifiers unless quoted;
 * - a quoted string or identifier cannot span lines; any other escape is an
 *   error (BADESCAPE);
 * - influxd's quirks are kept: a single-quoted string is positioned at the
 *   character before its quote, an unterminated one there too, and EOF is one
 *   char further when the token before it ran into the end of the text.
 */

/** A position as influxd reports it, 0-based (influxd prints line+1, char+1). */
export interface SourcePosition {
  readonly line: number;
  readonly char: number;
}

/** The kinds of token; `punctuation` covers operators and `;`. */
export type TokenType =
  | 'ident'
  | 'keyword'
  | 'string'
  | 'bad-string'
  | 'bad-escape'
  | 'integer'
  | 'number'
  | 'duration'
  | 'regex'
  | 'bad-regex'
  | 'bound-param'
  | 'punctuation'
  | 'illegal'
  | 'eof';

/** One token. */
export interface Token {
  readonly type: TokenType;
  /**
   * Identifier or string: the unescaped text; keyword: its upper-case name;
   * number, integer, duration, bound parameter: the literal as written;
   * punctuation: the operator (`=~`, `;`, ...); illegal: the character.
   */
  readonly value: string;
  readonly pos: SourcePosition;
  /** UTF-16 offsets of the token in the source text, end exclusive. */
  readonly start: number;
  readonly end: number;
}

const KEYWORD_NAMES =
  'ALL ALTER ANALYZE ANY AS ASC BEGIN BY CARDINALITY CREATE CONTINUOUS DATABASE DATABASES DEFAULT DELETE DESC ' +
  'DESTINATIONS DIAGNOSTICS DISTINCT DROP DURATION END EVERY EXACT EXPLAIN FIELD FOR FROM GRANT GRANTS GROUP ' +
  'GROUPS INF INSERT INTO KEY KEYS KILL LIMIT MEASUREMENT MEASUREMENTS NAME OFFSET ON ORDER PASSWORD POLICY ' +
  'POLICIES PRIVILEGES QUERIES QUERY READ REPLICATION RESAMPLE RETENTION REVOKE SELECT SERIES SET SHOW SHARD ' +
  'SHARDS SLIMIT SOFFSET STATS SUBSCRIPTION SUBSCRIPTIONS TAG TO USER USERS VALUES WHERE WITH WRITE ' +
  'AND OR IN TRUE FALSE';

/** influxd 1.6's reserved words (upper case); they need quotes to be used as names. */
const INFLUXQL_KEYWORDS: ReadonlySet<string> = new Set(KEYWORD_NAMES.split(' '));

/** Keywords after which a `/` divides rather than starts a regex (`TRUE / 2`, `x::field / 2`). */
const OPERAND_KEYWORDS: ReadonlySet<string> = new Set(['TRUE', 'FALSE', 'FIELD', 'TAG']);

/** The upper-case keyword a bare word is, or undefined for an identifier. */
export function keywordOf(word: string): string | undefined {
  if (word.length < 2 || word.length > 13) return undefined;
  const upper = word.toUpperCase();
  return INFLUXQL_KEYWORDS.has(upper) ? upper : undefined;
}

/**
 * Whether a `/` after a bare word starts a regex. influxd decides by parser
 * context (FROM /re/, =~ /re/, SELECT /re/, GROUP BY /re/, f(/re/)); this
 * guess says: after an identifier it divides, after most keywords it starts
 * a regex.
 */
export function slashAfterWordStartsRegex(word: string): boolean {
  const keyword = keywordOf(word);
  return keyword !== undefined && !OPERAND_KEYWORDS.has(keyword);
}

/** influxd's name for a token in `found X`: its literal, else its kind. */
export function describeToken(token: Token): string {
  if (token.value !== '') return token.value;
  const names: Record<TokenType, string> = {
    ident: 'IDENT', keyword: '', string: 'STRING', 'bad-string': 'BADSTRING', 'bad-escape': 'BADESCAPE',
    integer: '', number: 'NUMBER', duration: 'DURATIONVAL', regex: 'REGEX', 'bad-regex': 'BADREGEX',
    'bound-param': 'BOUNDPARAM', punctuation: '', illegal: 'ILLEGAL', eof: 'EOF',
  };
  return names[token.type];
}

/** Two-character operators; influxd reads `<>` as `!=`. */
const TWO_CHARACTER_OPERATORS: ReadonlyMap<string, string> = new Map([
  ['=~', '=~'], ['!=', '!='], ['!~', '!~'], ['>=', '>='], ['<=', '<='], ['<>', '!='], ['::', '::'],
]);
const SINGLE_CHARACTER_OPERATORS = '+-*/%&|^=><(),:;.';

const CR = 13;
const LF = 10;
const BACKSLASH = 92;
const MICRO = 0xb5;

const isAsciiLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentChar = (c: number): boolean => isAsciiLetter(c) || isDigit(c) || c === 95;
const isWhitespace = (c: number): boolean => c === 32 || c === 9 || c === LF || c === CR;

/** Where the lexer reads: a region of `source`, and the position of its first character. */
export interface LexerRegion {
  /** First UTF-16 offset to read (default 0). */
  from?: number;
  /** Offset where the region ends (default source.length); a `;` there is returned as the last token. */
  to?: number;
  /** influxd position of `from` (default line 0, char 0). */
  start?: SourcePosition;
}

/**
 * Reads InfluxQL tokens one at a time, skipping whitespace and comments.
 * Regexes are only scanned when {@link scanRegexes} is on (inside SELECT
 * bodies); elsewhere `/` is division, as in influxd.
 */
export class InfluxqlLexer {
  /** Scan `/.../` as a regex where the previous token allows one. */
  scanRegexes = false;
  private readonly source: string;
  private readonly to: number;
  private readonly semicolonAtEnd: boolean;
  private index: number;
  private line: number;
  private char: number;
  /** Position of the last character read (influxd places a quoted string there). */
  private previousLine: number;
  private previousChar: number;
  private ranIntoEnd = false;
  private previous: Token | null = null;

  constructor(source: string, region: LexerRegion = {}) {
    this.source = source;
    this.index = region.from ?? 0;
    this.to = Math.min(region.to ?? source.length, source.length);
    this.semicolonAtEnd = this.to < source.length && source.charCodeAt(this.to) === 59;
    this.line = region.start?.line ?? 0;
    this.char = region.start?.char ?? 0;
    this.previousLine = this.line;
    this.previousChar = Math.max(0, this.char - 1);
  }

  /** The source text between two offsets (e.g. token.start of one token and token.end of another). */
  slice(start: number, end: number): string {
    return this.source.slice(start, end);
  }

  /** The next token that is not whitespace or a comment. */
  next(): Token {
    const token = this.scan();
    this.previous = token;
    return token;
  }

  private scan(): Token {
    for (;;) {
      this.skipWhitespace();
      const c = this.peek(0);
      const start = this.index;
      const pos = this.position();
      if (c === -1) return this.endToken();
      if (c === 45 && this.peek(1) === 45) {
        while (this.peek(0) !== -1 && this.peek(0) !== LF) this.read();
        if (this.peek(0) === -1) this.ranIntoEnd = true;
        else this.read();
        continue;
      }
      if (c === 47 && this.peek(1) === 42) {
        const close = this.source.indexOf('*/', this.index + 2);
        if (close === -1 || close + 2 > this.to) {
          this.readUntil(this.to);
          this.ranIntoEnd = true;
          return this.token('illegal', '', pos, start);
        }
        this.readUntil(close + 2);
        continue;
      }
      if (isAsciiLetter(c) || c === 95) return this.scanWord(pos, start);
      if (c === 34) return this.scanQuotedIdent(pos, start);
      if (c === 39) {
        const quotePos = this.previousCharPosition();
        this.read();
        return this.scanQuoted(39, 'string', quotePos, start);
      }
      if (isDigit(c) || (c === 46 && isDigit(this.peek(1)))) return this.scanNumber(pos, start);
      if (c === 36) {
        this.read();
        const word = this.scanWord(pos, start);
        const name = word.type === 'keyword' ? this.source.slice(start + 1, word.end) : word.value;
        return this.token('bound-param', '$' + name, pos, start);
      }
      if (c === 47 && this.scanRegexes && this.slashStartsRegex()) return this.scanRegex(pos, start);
      return this.scanPunctuation(pos, start);
    }
  }

  private endToken(): Token {
    if (this.semicolonAtEnd) {
      return { type: 'punctuation', value: ';', pos: this.position(), start: this.to, end: this.to + 1 };
    }
    const pos = this.ranIntoEnd ? { line: this.line, char: this.char + 1 } : this.position();
    return { type: 'eof', value: '', pos, start: this.to, end: this.to };
  }

  private slashStartsRegex(): boolean {
    const prev = this.previous;
    if (prev === null) return false;
    if (prev.type === 'keyword') return slashAfterWordStartsRegex(prev.value);
    if (prev.type === 'punctuation') return prev.value !== ')' && prev.value !== '*';
    return false;
  }

  private scanWord(pos: SourcePosition, start: number): Token {
    const wordStart = this.index;
    while (isIdentChar(this.peek(0))) this.read();
    const word = this.source.slice(wordStart, this.index);
    if (this.peek(0) === 34) {
      // influxd quirk: `abc"def"` scans as the identifier `def`.
      const quoted = this.scanQuotedIdent(pos, start);
      return quoted.type === 'ident' ? { ...quoted, pos } : quoted;
    }
    if (this.peek(0) === -1) this.ranIntoEnd = true;
    const keyword = keywordOf(word);
    if (keyword !== undefined) return this.token('keyword', keyword, pos, start);
    return this.token('ident', word, pos, start);
  }

  private scanQuotedIdent(pos: SourcePosition, start: number): Token {
    const beforeQuote = this.previousCharPosition();
    this.read();
    const token = this.scanQuoted(34, 'ident', beforeQuote, start);
    return token.type === 'ident' ? { ...token, pos } : token;
  }

  /** After the opening quote: the text up to the closing one, with influxd's escapes. */
  private scanQuoted(quote: number, type: 'string' | 'ident', pos: SourcePosition, start: number): Token {
    let value = '';
    let chunk = this.index;
    for (;;) {
      const c = this.peek(0);
      if (c === quote) {
        value += this.source.slice(chunk, this.index);
        this.read();
        return this.token(type, value, pos, start);
      }
      if (c === -1 || c === LF || c === CR) {
        value += this.source.slice(chunk, this.index);
        if (c === -1) this.ranIntoEnd = true;
        else this.read();
        return this.token('bad-string', value, pos, start);
      }
      if (c !== BACKSLASH) {
        this.read();
        continue;
      }
      value += this.source.slice(chunk, this.index);
      this.read();
      const escaped = this.peek(0);
      const escapedPos = this.position();
      const replacement = escaped === 110 ? '\n' : escaped === BACKSLASH ? '\\' : escaped === 34 ? '"' : escaped === 39 ? "'" : null;
      const escapedText = escaped === -1 ? '' : String.fromCodePoint(this.source.codePointAt(this.index) ?? 0);
      if (escaped !== -1) this.read();
      if (replacement === null) return this.token('bad-escape', '\\' + escapedText, escapedPos, start);
      value += replacement;
      chunk = this.index;
    }
  }

  private scanNumber(pos: SourcePosition, start: number): Token {
    const readDigits = (): void => {
      while (isDigit(this.peek(0))) this.read();
    };
    readDigits();
    if (this.peek(0) === 46) {
      this.read();
      const fractionStart = this.index;
      readDigits();
      // influxd keeps `1.` as the NUMBER `1` (the dot is swallowed).
      const text = this.source.slice(start, fractionStart === this.index ? fractionStart - 1 : this.index);
      return this.token('number', text, pos, start);
    }
    const isUnit = (c: number): boolean => isAsciiLetter(c) || c === MICRO;
    if (!isUnit(this.peek(0))) return this.token('integer', this.source.slice(start, this.index), pos, start);
    while (isUnit(this.peek(0))) this.read();
    while (isUnit(this.peek(0)) || isDigit(this.peek(0))) this.read();
    return this.token('duration', this.source.slice(start, this.index), pos, start);
  }

  private scanRegex(pos: SourcePosition, start: number): Token {
    this.read();
    let value = '';
    for (;;) {
      const c = this.peek(0);
      if (c === 47) {
        this.read();
        return this.token('regex', value, pos, start);
      }
      if (c === -1 || c === LF || c === CR) {
        if (c === -1) this.ranIntoEnd = true;
        else this.read();
        return this.token('bad-regex', '', pos, start);
      }
      const charStart = this.index;
      this.read();
      if (c === BACKSLASH && this.peek(0) === 47) {
        this.read();
        value += '/';
      } else {
        value += this.source.slice(charStart, this.index);
      }
    }
  }

  private scanPunctuation(pos: SourcePosition, start: number): Token {
    const c = this.source.charCodeAt(this.index);
    const next = this.peek(1);
    if (next !== -1 && (c === 61 || c === 33 || c === 60 || c === 62 || c === 58)) {
      const pair = TWO_CHARACTER_OPERATORS.get(String.fromCharCode(c, next));
      if (pair !== undefined) {
        this.readUntil(this.index + 2);
        return this.token('punctuation', pair, pos, start);
      }
    }
    this.read();
    const one = this.source.slice(start, this.index);
    if (SINGLE_CHARACTER_OPERATORS.includes(one) || one === 'π') return this.token('punctuation', one, pos, start);
    return this.token('illegal', one, pos, start);
  }

  private token(type: TokenType, value: string, pos: SourcePosition, start: number): Token {
    return { type, value, pos, start, end: this.index };
  }

  private skipWhitespace(): void {
    const before = this.index;
    while (isWhitespace(this.peek(0))) this.read();
    if (this.index > before && this.index >= this.to) this.ranIntoEnd = true;
  }

  private position(): SourcePosition {
    return { line: this.line, char: this.char };
  }

  private previousCharPosition(): SourcePosition {
    return { line: this.previousLine, char: this.previousChar };
  }

  /** The code unit at index+offset (a CR reads as LF), or -1 past the region. */
  private peek(offset: number): number {
    const at = this.index + offset;
    if (at >= this.to) return -1;
    const c = this.source.charCodeAt(at);
    return c === CR ? LF : c;
  }

  /** Consume one character (a code point; CRLF as one newline) and move the position. */
  private read(): void {
    this.previousLine = this.line;
    this.previousChar = this.char;
    const c = this.source.charCodeAt(this.index);
    if (c === CR || c === LF) {
      this.index += c === CR && this.source.charCodeAt(this.index + 1) === LF && this.index + 1 < this.to ? 2 : 1;
      this.line += 1;
      this.char = 0;
      return;
    }
    const isPair = c >= 0xd800 && c <= 0xdbff && this.index + 1 < this.to && (this.source.charCodeAt(this.index + 1) & 0xfc00) === 0xdc00;
    this.index += isPair ? 2 : 1;
    this.char += 1;
  }

  private readUntil(index: number): void {
    while (this.index < index && this.index < this.to) this.read();
  }
}

/** Move a position over `text[from, to)` the way influxd counts (code points, CRLF = one newline). */
export function advancePosition(text: string, from: number, to: number, pos: SourcePosition): SourcePosition {
  let { line, char } = pos;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) {
      if (c === CR && text.charCodeAt(i + 1) === LF && i + 1 < to) i++;
      line++;
      char = 0;
    } else if ((c & 0xfc00) !== 0xdc00 || i === from || (text.charCodeAt(i - 1) & 0xfc00) !== 0xd800) {
      char++;
    }
  }
  return { line, char };
}

const NANOS: Record<string, bigint> = {
  ns: 1n, u: 1_000n, µ: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n,
  h: 3_600_000_000_000n, d: 86_400_000_000_000n, w: 604_800_000_000_000n,
};
const MAX_INT64 = 9_223_372_036_854_775_807n;

/**
 * An InfluxQL duration literal (`1h30m`, `2w`, `500ms`, `10u`, `10µ`) in
 * nanoseconds. Throws influxd's messages: `invalid duration`, or
 * `overflowed duration 15251w: choose a smaller duration or INF` (influxd
 * only notices an overflow that wraps negative; this notices every one).
 */
export function durationLiteralNanoseconds(literal: string): bigint {
  const invalid = (): never => {
    throw new Error('invalid duration');
  };
  if (literal.length < 2) invalid();
  let total = 0n;
  let lastPart = '';
  let i = 0;
  while (i < literal.length) {
    const digitsStart = i;
    while (i < literal.length && isDigit(literal.charCodeAt(i))) i++;
    if (i >= literal.length || i === digitsStart) invalid();
    const amount = BigInt(literal.slice(digitsStart, i));
    if (amount > MAX_INT64) invalid();
    const two = literal.slice(i, i + 2);
    const unit = two === 'ns' || two === 'ms' ? two : literal.charAt(i);
    const factor = NANOS[unit];
    if (factor === undefined) invalid();
    total += amount * (factor ?? 0n);
    lastPart = literal.slice(digitsStart, i) + unit;
    i += unit.length;
  }
  if (total > MAX_INT64) throw new Error(`overflowed duration ${lastPart}: choose a smaller duration or INF`);
  return total;
}
