/**
 * JSON parsing that keeps every number as its source text, for influxd's
 * query answers read by repair: a JSON number would lose the low digits of
 * nanosecond timestamps and int64 values.
 *
 * Why a parser of our own: `JSON.parse` with a reviver reading
 * `context.source` gives the same result but calls back for every value; on
 * influxd's answers (`SELECT *`, many rows of a few numbers) it was 7× slower
 * than this, and parsing was the largest cost of a repair. It accepts exactly
 * what `JSON.parse` accepts up to 512 levels of nesting (a unit test checks
 * the two against each other on generated input) and throws a SyntaxError
 * otherwise, never looping or overflowing the stack.
 */

/** A JSON number, kept as its source text (so a string field "12" and the number 12 stay apart). */
export interface NumberText {
  readonly number: string;
}

/** Deeper nesting than any influxd answer is refused rather than recursed into. */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const QUOTE = 34;
const BACKSLASH = 92;

/** Like `JSON.parse(text)`, with every number as a {@link NumberText}. */
export function parseKeepingNumbers(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipBlanks();
  if (parser.at < text.length) parser.fail('unexpected data after the JSON value');
  return value;
}

class Parser {
  readonly text: string;
  at = 0;

  constructor(text: string) {
    this.text = text;
  }

  fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.at} of the JSON answer`);
  }

  skipBlanks(): void {
    const text = this.text;
    let at = this.at;
    for (let c = text.charCodeAt(at); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++at));
    this.at = at;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail('JSON nested too deeply');
    this.skipBlanks();
    const c = this.text.charCodeAt(this.at);
    if (c === QUOTE) return this.string();
    if (c === 123) return this.object(depth);
    if (c === 91) return this.array(depth);
    if (c === 116) return this.literal('true', true);
    if (c === 102) return this.literal('false', false);
    if (c === 110) return this.literal('null', null);
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail(Number.isNaN(c) ? 'unexpected end of the JSON answer' : 'unexpected character');
    this.at = NUMBER.lastIndex;
    return { number: match[0] } satisfies NumberText;
  }

  literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) this.fail('unexpected character');
    this.at += word.length;
    return value;
  }

  string(): string {
    const text = this.text;
    const start = ++this.at;
    let escaped = false;
    for (let at = start; ; at++) {
      const c = text.charCodeAt(at);
      if (c === QUOTE) {
        this.at = at + 1;
        // Escapes are rare in influxd's answers: JSON.parse checks and decodes those strings.
        return escaped ? (JSON.parse(text.slice(start - 1, at + 1)) as string) : text.slice(start, at);
      }
      if (c === BACKSLASH) {
        escaped = true;
        at++;
      } else if (!(c >= 32)) {
        this.at = at;
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in a string');
      }
    }
  }

  array(depth: number): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.skipBlanks();
    if (this.text.charCodeAt(this.at) === 93) {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skipBlanks();
      const c = this.text.charCodeAt(this.at++);
      if (c === 93) return out;
      if (c !== 44) this.fail("expected ',' or ']'");
    }
  }

  object(depth: number): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    this.skipBlanks();
    if (this.text.charCodeAt(this.at) === 125) {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipBlanks();
      if (this.text.charCodeAt(this.at) !== QUOTE) this.fail('expected a key');
      const key = this.string();
      this.skipBlanks();
      if (this.text.charCodeAt(this.at++) !== 58) this.fail("expected ':'");
      const value = this.value(depth + 1);
      // An own property even for "__proto__", as JSON.parse makes it.
      if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.skipBlanks();
      const c = this.text.charCodeAt(this.at++);
      if (c === 125) return out;
      if (c !== 44) this.fail("expected ',' or '}'");
    }
  }
}
