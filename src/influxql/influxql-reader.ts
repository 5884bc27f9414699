/**
 * Reading one InfluxQL statement token by token, with influxd's parse error
 * messages: `found X, expected A, B at line L, char C`, or
 * `<message> at line L, char C`. Shared by the DDL parser and the
 * classification of other statements.
 */
import { describeToken, durationLiteralNanoseconds } from './influxql-lexer.ts';
import type { InfluxqlLexer, SourcePosition, Token } from './influxql-lexer.ts';

/** A statement that does not parse; the message is influxd's, without `error parsing query: `. */
export class InfluxqlSyntaxError extends Error {
  override name = 'InfluxqlSyntaxError';
}

/** Throw influxd's `found X, expected A, B at line L, char C`. */
export function failExpecting(found: Token, expected: readonly string[]): never {
  return failAt(`found ${describeToken(found)}, expected ${expected.join(', ')}`, found.pos);
}

/** Throw `<message> at line L, char C`. */
export function failAt(message: string, pos: SourcePosition): never {
  throw new InfluxqlSyntaxError(`${message} at line ${pos.line + 1}, char ${pos.char + 1}`);
}

const MAX_INT64 = 9_223_372_036_854_775_807n;
const NANOS_PER_SECOND = 1_000_000_000n;

/** Tokens of one statement, with the few reading helpers influxd's parser uses. */
export class StatementReader {
  readonly lexer: InfluxqlLexer;
  private readonly pushedBack: Token[] = [];

  constructor(lexer: InfluxqlLexer) {
    this.lexer = lexer;
  }

  /** The next token (whitespace and comments skipped). */
  next(): Token {
    return this.pushedBack.pop() ?? this.lexer.next();
  }

  /** Push a token back; the next {@link next} returns it again. */
  unread(token: Token): void {
    this.pushedBack.push(token);
  }

  /** Consume the keyword if it comes next. */
  accept(keyword: string): Token | null {
    const token = this.next();
    if (isKeyword(token, keyword)) return token;
    this.unread(token);
    return null;
  }

  /** Consume these keywords in order, or fail at the first one missing. */
  expect(...keywords: string[]): void {
    for (const keyword of keywords) {
      const token = this.next();
      if (!isKeyword(token, keyword)) failExpecting(token, [keyword]);
    }
  }

  /** An identifier (quoted or not; a keyword is refused): `found X, expected identifier`. */
  identifier(): string {
    const token = this.next();
    if (token.type !== 'ident') failExpecting(token, ['identifier']);
    return token.value;
  }

  /** A single-quoted string literal. */
  string(): string {
    const token = this.next();
    if (token.type !== 'string') failExpecting(token, ['string']);
    return token.value;
  }

  /** A base-10 integer in [min, max] (influxd's ParseInt). */
  integer(min: number, max: number): number {
    const token = this.next();
    if (token.type !== 'integer') failExpecting(token, ['integer']);
    const value = BigInt(token.value);
    if (value > MAX_INT64) failAt(`strconv.Atoi: parsing ${JSON.stringify(token.value)}: value out of range`, token.pos);
    if (value < BigInt(min) || value > BigInt(max)) failAt(`invalid value ${value}: must be ${min} <= n <= ${max}`, token.pos);
    return Number(value);
  }

  /** An unsigned 64-bit integer, as its decimal text (shard and query ids). */
  unsigned(): string {
    const token = this.next();
    if (token.type !== 'integer') failExpecting(token, ['integer']);
    if (BigInt(token.value) > 18_446_744_073_709_551_615n) {
      failAt(`strconv.ParseUint: parsing ${JSON.stringify(token.value)}: value out of range`, token.pos);
    }
    return BigInt(token.value).toString();
  }

  /** A duration literal or INF (0), in nanoseconds. */
  durationNanoseconds(options: { infinite: boolean }): bigint {
    const token = this.next();
    if (options.infinite && isKeyword(token, 'INF')) return 0n;
    if (token.type !== 'duration') failExpecting(token, ['duration']);
    try {
      return durationLiteralNanoseconds(token.value);
    } catch (err) {
      return failAt((err as Error).message, token.pos);
    }
  }

  /** A duration or INF in whole seconds (rounded up). */
  durationSeconds(): number {
    return secondsOf(this.durationNanoseconds({ infinite: true }));
  }

  /** `SHARD DURATION d` after SHARD was read: INF is refused, as in influxd. */
  shardDurationSeconds(): number {
    this.expect('DURATION');
    const token = this.next();
    if (isKeyword(token, 'INF')) failAt('invalid duration INF for shard duration', token.pos);
    this.unread(token);
    return this.durationSeconds();
  }

  /** The statement must end here (EOF or `;`). */
  end(): void {
    const token = this.next();
    if (!isEnd(token)) failExpecting(token, [';']);
  }
}

/** Whether a token is this keyword. */
export function isKeyword(token: Token, keyword: string): boolean {
  return token.type === 'keyword' && token.value === keyword;
}

/** Whether a token ends the statement (EOF or `;`). */
export function isEnd(token: Token): boolean {
  return token.type === 'eof' || (token.type === 'punctuation' && token.value === ';');
}

/** Nanoseconds as whole seconds, rounded up (so that 1ns does not become INF). */
function secondsOf(nanoseconds: bigint): number {
  return Number((nanoseconds + NANOS_PER_SECOND - 1n) / NANOS_PER_SECOND);
}

