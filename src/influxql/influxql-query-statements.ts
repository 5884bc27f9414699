/**
 * The InfluxQL statements that are not DDL, classified for routing: which
 * SHOW it is and on which database, whether a SELECT writes (INTO), what a
 * DROP SERIES/MEASUREMENT/SHARD or KILL QUERY names. Only the keywords that
 * pick the statement (and short statements completely) are checked, with
 * influxd's messages; influxd itself reports errors in the rest.
 */
import { failExpecting, isEnd, isKeyword } from './influxql-reader.ts';
import type { StatementReader } from './influxql-reader.ts';

/** Which SHOW statement. */
export type ShowKind =
  | 'continuous-queries'
  | 'databases'
  | 'diagnostics'
  | 'field-key-cardinality'
  | 'field-keys'
  | 'grants'
  | 'measurement-cardinality'
  | 'measurements'
  | 'queries'
  | 'retention-policies'
  | 'series'
  | 'series-cardinality'
  | 'shard-groups'
  | 'shards'
  | 'stats'
  | 'subscriptions'
  | 'tag-key-cardinality'
  | 'tag-keys'
  | 'tag-values'
  | 'tag-values-cardinality'
  | 'users';

/** A statement that is not DDL. */
export type QueryStatementClass =
  /** `into`: SELECT ... INTO writes points. */
  | { kind: 'select'; into: boolean }
  /**
   * `database`: the `ON db` clause (null without one: the request's `db`);
   * `hasFrom`: a FROM clause limits it to some measurements; `user`: SHOW GRANTS FOR user.
   */
  | { kind: 'show'; show: ShowKind; database: string | null; hasFrom: boolean; user: string | null }
  | { kind: 'delete' }
  | { kind: 'drop-series' }
  | { kind: 'drop-measurement'; measurement: string }
  /** `shardId`: decimal text (an unsigned 64-bit id). */
  | { kind: 'drop-shard'; shardId: string }
  | { kind: 'kill-query'; queryId: string; host: string | null }
  | { kind: 'explain'; analyze: boolean }
  /** Subscriptions: node-local influxd settings, not cluster metadata. */
  | { kind: 'other'; statement: 'CREATE SUBSCRIPTION' | 'DROP SUBSCRIPTION' };

/** The words that started the statement, as far as they have been read. */
export type QueryStatementStart = 'SELECT' | 'DELETE' | 'SHOW' | 'EXPLAIN' | 'KILL' | 'DROP MEASUREMENT' | 'DROP SERIES' | 'DROP SHARD';

/** Classify a non-DDL statement whose first keyword(s) `start` have been read. */
export function classifyQueryStatement(reader: StatementReader, start: QueryStatementStart): QueryStatementClass {
  switch (start) {
    case 'SELECT':
      return { kind: 'select', into: scanTopLevel(reader, 'INTO', 'FROM') };
    case 'DELETE':
      expectFromOrWhere(reader);
      return { kind: 'delete' };
    case 'DROP SERIES':
      expectFromOrWhere(reader);
      return { kind: 'drop-series' };
    case 'DROP MEASUREMENT': {
      const measurement = reader.identifier();
      reader.end();
      return { kind: 'drop-measurement', measurement };
    }
    case 'DROP SHARD': {
      const shardId = reader.unsigned();
      reader.end();
      return { kind: 'drop-shard', shardId };
    }
    case 'KILL': {
      reader.expect('QUERY');
      const queryId = reader.unsigned();
      const host = reader.accept('ON') ? reader.identifier() : null;
      reader.end();
      return { kind: 'kill-query', queryId, host };
    }
    case 'EXPLAIN': {
      const analyze = reader.accept('ANALYZE') !== null;
      reader.expect('SELECT');
      return { kind: 'explain', analyze };
    }
    case 'SHOW':
      return classifyShow(reader);
  }
}

function expectFromOrWhere(reader: StatementReader): void {
  const token = reader.next();
  if (!isKeyword(token, 'FROM') && !isKeyword(token, 'WHERE')) failExpecting(token, ['FROM', 'WHERE']);
}

const SHOW_WORDS = [
  'CONTINUOUS', 'DATABASES', 'DIAGNOSTICS', 'FIELD', 'GRANTS', 'MEASUREMENT', 'MEASUREMENTS', 'QUERIES',
  'RETENTION', 'SERIES', 'SHARD', 'SHARDS', 'STATS', 'SUBSCRIPTIONS', 'TAG', 'USERS',
];

/** SHOW statements without clauses (or with the given short one), read to their end. */
const SIMPLE_SHOWS: Record<string, ShowKind> = {
  DATABASES: 'databases', QUERIES: 'queries', SHARDS: 'shards', SUBSCRIPTIONS: 'subscriptions', USERS: 'users',
};

function classifyShow(reader: StatementReader): QueryStatementClass {
  const what = reader.next();
  const word = what.type === 'keyword' ? what.value : '';
  const show = (kind: ShowKind, fields: { database?: string | null; hasFrom?: boolean; user?: string | null } = {}): QueryStatementClass => ({
    kind: 'show', show: kind, database: fields.database ?? null, hasFrom: fields.hasFrom ?? false, user: fields.user ?? null,
  });
  const simple = SIMPLE_SHOWS[word];
  if (simple !== undefined) {
    reader.end();
    return show(simple);
  }
  switch (word) {
    case 'CONTINUOUS':
      reader.expect('QUERIES');
      reader.end();
      return show('continuous-queries');
    case 'DIAGNOSTICS':
    case 'STATS':
      if (reader.accept('FOR')) reader.string();
      reader.end();
      return show(word === 'STATS' ? 'stats' : 'diagnostics');
    case 'GRANTS': {
      reader.expect('FOR');
      const user = reader.identifier();
      reader.end();
      return show('grants', { user });
    }
    case 'RETENTION': {
      reader.expect('POLICIES');
      const database = reader.accept('ON') ? reader.identifier() : null;
      reader.end();
      return show('retention-policies', { database });
    }
    case 'SHARD':
      reader.expect('GROUPS');
      reader.end();
      return show('shard-groups');
    case 'MEASUREMENTS':
      return showWithClauses(reader, 'measurements');
    case 'MEASUREMENT':
      expectCardinality(reader, ['EXACT', 'CARDINALITY']);
      return showWithClauses(reader, 'measurement-cardinality');
    case 'SERIES':
      reader.accept('EXACT');
      return showWithClauses(reader, reader.accept('CARDINALITY') ? 'series-cardinality' : 'series');
    case 'FIELD':
    case 'TAG':
      return classifyKeyShow(reader, word);
    default:
      return failExpecting(what, SHOW_WORDS);
  }
}

/** SHOW FIELD KEY[S] and SHOW TAG KEY[S] / VALUES, after FIELD or TAG. */
function classifyKeyShow(reader: StatementReader, word: 'FIELD' | 'TAG'): QueryStatementClass {
  const prefix = word === 'FIELD' ? 'field' : 'tag';
  const next = reader.next();
  if (isKeyword(next, 'KEYS')) return showWithClauses(reader, `${prefix}-keys`);
  if (isKeyword(next, 'KEY')) {
    expectCardinality(reader, ['EXACT', 'CARDINALITY']);
    return showWithClauses(reader, `${prefix}-key-cardinality`);
  }
  if (word === 'TAG' && isKeyword(next, 'VALUES')) {
    const after = reader.next();
    if (isKeyword(after, 'EXACT')) {
      reader.expect('CARDINALITY');
      return showWithClauses(reader, 'tag-values-cardinality');
    }
    if (isKeyword(after, 'CARDINALITY')) return showWithClauses(reader, 'tag-values-cardinality');
    reader.unread(after);
    return showWithClauses(reader, 'tag-values');
  }
  return failExpecting(next, word === 'FIELD' ? ['KEY', 'KEYS'] : ['KEY', 'KEYS', 'VALUES']);
}

/** `[EXACT] CARDINALITY`, with influxd's expectations when it is missing. */
function expectCardinality(reader: StatementReader, expected: string[]): void {
  const token = reader.next();
  if (isKeyword(token, 'CARDINALITY')) return;
  if (!isKeyword(token, 'EXACT')) failExpecting(token, expected);
  reader.expect('CARDINALITY');
}

/** A SHOW over series data: optional `ON db`, then clauses that are only searched for a top-level FROM. */
function showWithClauses(reader: StatementReader, kind: ShowKind): QueryStatementClass {
  const database = reader.accept('ON') ? reader.identifier() : null;
  const hasFrom = scanTopLevel(reader, 'FROM', null);
  return { kind: 'show', show: kind, database, hasFrom, user: null };
}

/**
 * Whether `keyword` comes outside parentheses before `stopAt` (or the end).
 * Regexes are recognised, so that `/.../` hides its content.
 */
function scanTopLevel(reader: StatementReader, keyword: string, stopAt: string | null): boolean {
  reader.lexer.scanRegexes = true;
  let depth = 0;
  for (;;) {
    const token = reader.next();
    if (isEnd(token)) return false;
    if (token.type === 'punctuation' && token.value === '(') depth++;
    else if (token.type === 'punctuation' && token.value === ')') depth--;
    else if (depth === 0 && isKeyword(token, keyword)) return true;
    else if (depth === 0 && stopAt !== null && isKeyword(token, stopAt)) return false;
  }
}
