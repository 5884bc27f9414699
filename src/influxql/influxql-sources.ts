/**
 * Which measurements an InfluxQL statement reads or writes, for routing a
 * query to the nodes that hold them. Sources are read the way influxd 1.6
 * parses them (influxql parser.go parseSource / parseSegmentedIdents /
 * parseTarget):
 *
 * - `m`, `"quo.ted m"`, `rp.m`, `db.rp.m`, `db..m` (empty = default policy),
 *   `/re/`, `rp./re/`, `db.rp./re/`, `db../re/`; there may be no whitespace
 *   before a `.` (after one there may);
 * - SELECT ... FROM a, (SELECT ... FROM b), /c/: subqueries count with the
 *   sources of their own FROM clauses, at any depth;
 * - SELECT ... INTO [db.][rp.]m | ...:MEASUREMENT (the source measurement's name);
 * - SHOW SERIES / TAG KEYS / TAG VALUES / FIELD KEYS (and the cardinality
 *   SHOWs) [ON db] [FROM ...]; SHOW MEASUREMENTS [ON db] WITH MEASUREMENT = m | =~ /re/;
 * - DELETE / DROP SERIES [FROM ...] [WHERE ...], DROP MEASUREMENT m,
 *   EXPLAIN [ANALYZE] SELECT.
 *
 * Identifiers come back unquoted and unescaped, regexes as the pattern
 * between the slashes (`\/` read as `/`). Other statements read no
 * measurements (empty sources). Only the parts that name sources are
 * checked: a malformed source throws an {@link InfluxqlSyntaxError} with
 * influxd's kind of message; errors elsewhere are left to influxd.
 */
import { InfluxqlLexer, keywordOf } from './influxql-lexer.ts';
import type { Token } from './influxql-lexer.ts';
import { StatementReader, failAt, failExpecting, isEnd, isKeyword } from './influxql-reader.ts';

/** The measurement part of a source: a name, or a regex matched against names. */
export type MeasurementMatcher = { kind: 'name'; name: string } | { kind: 'regex'; pattern: string };

/** One measurement source of a FROM clause (or SHOW MEASUREMENTS WITH MEASUREMENT, DROP MEASUREMENT). */
export interface MeasurementSource {
  /** The source's database, else the statement's ON database, else the default one; null when none is known. */
  readonly database: string | null;
  /** null: the database's default retention policy (also for `db..m`). */
  readonly retentionPolicy: string | null;
  readonly measurement: MeasurementMatcher;
}

/** Where SELECT ... INTO writes. */
export interface IntoTarget {
  /** The target's database, else the default database; null when none is known. */
  readonly database: string | null;
  /** null: the default retention policy. */
  readonly retentionPolicy: string | null;
  /** `backreference`: `:MEASUREMENT`, each point goes to the measurement it was read from. */
  readonly measurement: { kind: 'name'; name: string } | { kind: 'backreference' };
}

/** A range of UTF-16 offsets [start, end) in the statement text. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
}

/** One source of the top-level FROM clause and where it is in the statement text. */
export interface SourceSpan extends TextSpan {
  /** The source, or null for a subquery `(SELECT ...)` (the span covers the parentheses). */
  readonly source: MeasurementSource | null;
}

/** What {@link statementSources} found. */
export interface SourceAnalysis {
  /** The database the statement runs on: its `ON db` clause, else the default database. */
  readonly database: string | null;
  /**
   * Every measurement source the statement reads, subqueries' sources
   * included, in the order written (a subquery itself is not a source).
   * Empty when there is no FROM: a SHOW then covers all measurements of `database`.
   */
  readonly sources: readonly MeasurementSource[];
  /** SELECT ... INTO's target, else null. */
  readonly into: IntoTarget | null;
  /** Whether the statement has a top-level FROM clause. */
  readonly hasFrom: boolean;
  /** The top-level FROM clause's sources with their offsets (not SHOW MEASUREMENTS' WITH MEASUREMENT). */
  readonly sourceSpans: readonly SourceSpan[];
  /** The whole top-level FROM list (first source's start to last source's end), or null. */
  readonly fromListSpan: TextSpan | null;
}

/**
 * The measurements `statement` (one statement, as splitStatements returns
 * it) reads and writes. `defaultDatabase` is the request's `db` parameter;
 * it fills in the database of sources that name none.
 */
export function statementSources(statement: string, defaultDatabase: string | null): SourceAnalysis {
  const lexer = new InfluxqlLexer(statement);
  lexer.scanRegexes = true;
  return new SourceParser(new StatementReader(lexer), defaultDatabase).statement();
}

const SOURCE_STATEMENTS = ['SELECT', 'SHOW', 'DELETE', 'DROP', 'EXPLAIN'];

const isPunctuation = (token: Token, value: string): boolean => token.type === 'punctuation' && token.value === value;

/** Reads one statement's sources; collects them while it goes. */
class SourceParser {
  private readonly reader: StatementReader;
  private readonly defaultDatabase: string | null;
  private database: string | null;
  private readonly sources: MeasurementSource[] = [];
  private readonly spans: SourceSpan[] = [];
  private into: IntoTarget | null = null;
  private hasFrom = false;

  constructor(reader: StatementReader, defaultDatabase: string | null) {
    this.reader = reader;
    this.defaultDatabase = defaultDatabase;
    this.database = defaultDatabase;
  }

  statement(): SourceAnalysis {
    const first = this.reader.next();
    const keyword = first.type === 'keyword' && SOURCE_STATEMENTS.includes(first.value) ? first.value : '';
    switch (keyword) {
      case 'SELECT':
        this.select(false);
        break;
      case 'EXPLAIN':
        this.reader.accept('ANALYZE');
        this.reader.expect('SELECT');
        this.select(false);
        break;
      case 'SHOW':
        this.show();
        break;
      case 'DELETE':
        this.fromOrWhere();
        break;
      case 'DROP':
        if (this.reader.accept('SERIES')) this.fromOrWhere();
        else if (this.reader.accept('MEASUREMENT')) this.sources.push(this.source(null, null, this.named(this.reader.identifier())));
        break;
    }
    const firstSpan = this.spans[0];
    const lastSpan = this.spans[this.spans.length - 1];
    return {
      database: this.database,
      sources: this.sources,
      into: this.into,
      hasFrom: this.hasFrom,
      sourceSpans: this.spans,
      fromListSpan: firstSpan === undefined || lastSpan === undefined ? null : { start: firstSpan.start, end: lastSpan.end },
    };
  }

  /**
   * After SELECT: fields, [INTO], FROM, then the rest of the statement. A
   * subquery (`nested`) ends at its closing parenthesis, which is consumed;
   * its offset end is returned.
   */
  private select(nested: boolean): number {
    let depth = 0;
    for (;;) {
      const token = this.reader.next();
      if (isEnd(token)) failExpecting(token, ['FROM']);
      if (isPunctuation(token, '(')) depth++;
      else if (isPunctuation(token, ')')) {
        if (depth === 0) failExpecting(token, ['FROM']);
        depth--;
      } else if (depth === 0 && isKeyword(token, 'INTO') && !nested) this.into = this.intoTarget();
      else if (depth === 0 && isKeyword(token, 'FROM')) break;
    }
    if (!nested) this.hasFrom = true;
    this.sourceList(true, !nested);
    return this.skipToEnd(nested);
  }

  /** Skip to the end of the statement, or of a subquery (past its `)`, whose end offset is returned). */
  private skipToEnd(nested: boolean): number {
    let depth = 0;
    for (;;) {
      const token = this.reader.next();
      if (isEnd(token)) {
        if (nested) failExpecting(token, [')']);
        return token.start;
      }
      if (isPunctuation(token, '(')) depth++;
      else if (isPunctuation(token, ')')) {
        if (depth === 0 && nested) return token.end;
        depth--;
      }
    }
  }

  /** SHOW ...: `ON db`, a FROM list, or SHOW MEASUREMENTS' `WITH MEASUREMENT = m | =~ /re/`. */
  private show(): void {
    for (;;) {
      const token = this.reader.next();
      if (isEnd(token)) return;
      if (isKeyword(token, 'ON')) {
        this.database = this.reader.identifier();
      } else if (isKeyword(token, 'FROM')) {
        this.hasFrom = true;
        this.sourceList(false, true);
      } else if (isKeyword(token, 'WITH') && this.reader.accept('MEASUREMENT')) {
        const operator = this.reader.next();
        if (!isPunctuation(operator, '=') && !isPunctuation(operator, '=~')) failExpecting(operator, ['=', '=~']);
        const { source } = this.oneSource(false).span;
        if (source !== null) this.sources.push(source);
      }
    }
  }

  /** DELETE and DROP SERIES: `FROM sources` and/or `WHERE ...`. */
  private fromOrWhere(): void {
    const token = this.reader.next();
    if (isKeyword(token, 'FROM')) {
      this.hasFrom = true;
      // influxd: DELETE and DROP SERIES act on all retention policies of the statement's database.
      let refusal: string | null = null;
      for (const qualifier of this.sourceList(false, true)) {
        if (qualifier.database) refusal = 'database not supported';
        if (qualifier.retentionPolicy) refusal = 'retention policy not supported';
      }
      if (refusal !== null) failAt(refusal, { line: 0, char: 0 });
    } else if (!isKeyword(token, 'WHERE')) {
      failExpecting(token, ['FROM', 'WHERE']);
    }
  }

  /** `source [, source ...]`; leaves the token after the list unread. */
  private sourceList(subqueries: boolean, recordSpans: boolean): SourceQualifiers[] {
    const qualifiers: SourceQualifiers[] = [];
    for (;;) {
      const parsed = this.oneSource(subqueries);
      if (parsed.span.source !== null) this.sources.push(parsed.span.source);
      if (recordSpans) this.spans.push(parsed.span);
      qualifiers.push(parsed.qualifiers);
      const next = this.reader.next();
      if (!isPunctuation(next, ',')) {
        this.reader.unread(next);
        return qualifiers;
      }
    }
  }

  /** One source: a regex, a subquery (its sources are collected; `source` is then null) or segmented names. */
  private oneSource(subqueries: boolean): { span: SourceSpan; qualifiers: SourceQualifiers } {
    const token = this.reader.next();
    const unqualified = { database: false, retentionPolicy: false };
    if (token.type === 'regex') {
      return { span: { start: token.start, end: token.end, source: this.source(null, null, this.regex(token)) }, qualifiers: unqualified };
    }
    if (subqueries && isPunctuation(token, '(')) {
      this.reader.expect('SELECT');
      const end = this.select(true);
      return { span: { start: token.start, end, source: null }, qualifiers: unqualified };
    }
    this.reader.unread(token);
    const { idents, last } = this.segmentedIdents();
    let database = '';
    let retentionPolicy = '';
    let measurement: MeasurementMatcher;
    let end = last.end;
    const after = idents.length === 3 ? null : this.reader.next();
    if (after === null) {
      [database = '', retentionPolicy = ''] = idents;
      measurement = this.named(idents[2] ?? '');
    } else if (after.type === 'regex' && after.start === last.end) {
      // `rp./re/`, `db.rp./re/`, `db../re/`: the names before the regex are database and policy.
      [retentionPolicy = ''] = idents.slice(-1);
      if (idents.length === 2) database = idents[0] ?? '';
      measurement = this.regex(after);
      end = after.end;
    } else {
      this.reader.unread(after);
      if (idents.length === 2) retentionPolicy = idents[0] ?? '';
      measurement = this.named(idents[idents.length - 1] ?? '');
    }
    return {
      span: { start: token.start, end, source: this.source(database, retentionPolicy, measurement) },
      qualifiers: { database: database !== '', retentionPolicy: retentionPolicy !== '' },
    };
  }

  /**
   * `a`, `a.b`, `a.b.c`, `a..c`; stops before a regex or `:` that follows a
   * dot (the dot is consumed, as in influxd). `last`: the last token read.
   */
  private segmentedIdents(): { idents: string[]; last: Token } {
    const first = this.reader.next();
    if (first.type !== 'ident') failExpecting(first, ['identifier']);
    const idents = [first.value];
    let last = first;
    for (;;) {
      let dot = this.reader.next();
      if (!isPunctuation(dot, '.') || dot.start !== last.end) {
        this.reader.unread(dot);
        break;
      }
      last = dot;
      let next = this.reader.next();
      while (isPunctuation(next, '.') && next.start === dot.end) {
        idents.push('');
        dot = next;
        last = next;
        next = this.reader.next();
      }
      if ((next.type === 'regex' || isPunctuation(next, ':')) && next.start === dot.end) {
        this.reader.unread(next);
        break;
      }
      if (next.type !== 'ident') failExpecting(next, ['identifier']);
      idents.push(next.value);
      last = next;
    }
    // influxd reports this one without a position (line 1, char 1).
    if (idents.length > 3) failAt(`too many segments in ${quoteSegments(idents)}`, { line: 0, char: 0 });
    return { idents, last };
  }

  /** After INTO: `[db.][rp.]m` or `[db.][rp.]:MEASUREMENT`. */
  private intoTarget(): IntoTarget {
    const { idents, last } = this.segmentedIdents();
    if (idents.length < 3) {
      const colon = this.reader.next();
      if (isPunctuation(colon, ':') && colon.start === last.end) {
        this.reader.expect('MEASUREMENT');
        idents.push('');
      } else {
        this.reader.unread(colon);
      }
    }
    const name = idents[idents.length - 1] ?? '';
    const measurement: IntoTarget['measurement'] = name === '' ? { kind: 'backreference' } : { kind: 'name', name };
    const retentionPolicy = idents.length >= 2 ? nullIfEmpty(idents[idents.length - 2] ?? '') : null;
    const database = idents.length === 3 ? nullIfEmpty(idents[0] ?? '') ?? this.defaultDatabase : this.defaultDatabase;
    return { database, retentionPolicy, measurement };
  }

  private source(database: string | null, retentionPolicy: string | null, measurement: MeasurementMatcher): MeasurementSource {
    return { database: nullIfEmpty(database ?? '') ?? this.database, retentionPolicy: nullIfEmpty(retentionPolicy ?? ''), measurement };
  }

  private named(name: string): MeasurementMatcher {
    return { kind: 'name', name };
  }

  private regex(token: Token): MeasurementMatcher {
    return { kind: 'regex', pattern: token.value };
  }
}

/** Which qualifiers a source spelled out (DELETE and DROP SERIES refuse them). */
interface SourceQualifiers {
  readonly database: boolean;
  readonly retentionPolicy: boolean;
}

/** influxd's QuoteIdent for segments: all but the last quoted unless empty, the last only when it must be. */
function quoteSegments(segments: readonly string[]): string {
  const plain = (text: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) && keywordOf(text) === undefined;
  const quote = (text: string): string => `"${text.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\' + ch))}"`;
  return segments
    .map((segment, index) => {
      const last = index === segments.length - 1;
      const needsQuotes = !plain(segment) && segment !== ''
        || (!last && segment !== '')
        || ((index === 0 || last) && segment === '');
      return needsQuotes ? quote(segment) : segment;
    })
    .join('.');
}

function nullIfEmpty(text: string): string | null {
  return text === '' ? null : text;
}
