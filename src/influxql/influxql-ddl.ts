/**
 * Recognise one InfluxQL statement the way influxd 1.6 parses it: DDL is
 * parsed completely into a {@link MetadataOperation}; everything else is
 * classified for routing (which SHOW, whether SELECT writes with INTO, ...).
 * Statements that do not parse give influxd's own message, e.g.
 * `found DATABSE, expected CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION at line 1, char 8`
 * (influxd answers it as HTTP 400 `error parsing query: <message>`).
 *
 * Durations in operations are whole seconds (INF and `0s` are 0); a
 * sub-second remainder is rounded up, so that a tiny duration never turns
 * into INF (influxd keeps nanoseconds; it refuses retention policies under
 * 1h and raises shard durations under 1h to 1h, so rounding up only changes
 * nonsensical durations like `3600500ms`).
 */
import type { Privilege } from '../cluster/cluster-metadata.ts';
import type { MetadataOperation } from '../cluster/metadata-operations.ts';
import { InfluxqlLexer, durationLiteralNanoseconds } from './influxql-lexer.ts';
import type { Token } from './influxql-lexer.ts';
import { classifyQueryStatement } from './influxql-query-statements.ts';
import type { QueryStatementClass } from './influxql-query-statements.ts';
import { InfluxqlSyntaxError, StatementReader, failAt, failExpecting, isEnd, isKeyword } from './influxql-reader.ts';
import type { LocatedStatement } from './influxql-splitter.ts';

export { formatDuration, parseGoDuration, quoteIdentifier, quoteString } from './influxql-quoting.ts';
export type { QueryStatementClass, ShowKind } from './influxql-query-statements.ts';
export { InfluxqlSyntaxError } from './influxql-reader.ts';

const MAX_INT32 = 2_147_483_647;
const NANOS_PER_SECOND = 1_000_000_000n;

/** What one statement is: DDL with its operation, another kind of statement, or a parse error. */
export type StatementClass =
  | { kind: 'ddl'; operation: MetadataOperation }
  | QueryStatementClass
  | { kind: 'error'; message: string };

/**
 * Classify one statement: a {@link LocatedStatement} from locateStatements
 * (error positions are then relative to the whole query, exactly as influxd
 * reports them), or the text of one statement (as splitStatements returns;
 * anything after a `;` in it is not looked at).
 */
export function classifyStatement(statement: string | LocatedStatement): StatementClass {
  const lexer = typeof statement === 'string'
    ? new InfluxqlLexer(statement)
    : new InfluxqlLexer(statement.query, { from: statement.from, to: statement.to, start: statement.start });
  try {
    return classifyTokens(new StatementReader(lexer));
  } catch (err) {
    if (err instanceof InfluxqlSyntaxError) return { kind: 'error', message: err.message };
    throw err;
  }
}

const STATEMENT_STARTS = ['SELECT', 'DELETE', 'SHOW', 'CREATE', 'DROP', 'EXPLAIN', 'GRANT', 'REVOKE', 'ALTER', 'SET', 'KILL'];

function classifyTokens(reader: StatementReader): StatementClass {
  const first = reader.next();
  const keyword = first.type === 'keyword' ? first.value : '';
  const ddl = (operation: MetadataOperation): StatementClass => ({ kind: 'ddl', operation });
  switch (keyword) {
    case 'CREATE':
      return parseCreate(reader, first, ddl);
    case 'DROP':
      return parseDrop(reader, ddl);
    case 'ALTER':
      reader.expect('RETENTION', 'POLICY');
      return ddl(parseAlterRetentionPolicy(reader));
    case 'GRANT':
    case 'REVOKE':
      return ddl(parseGrantOrRevoke(reader, keyword));
    case 'SET': {
      reader.expect('PASSWORD', 'FOR');
      const name = reader.identifier();
      const equals = reader.next();
      if (equals.type !== 'punctuation' || equals.value !== '=') failExpecting(equals, ['=']);
      const password = reader.string();
      reader.end();
      return ddl({ op: 'setPassword', name, password });
    }
    case 'SELECT':
    case 'DELETE':
    case 'SHOW':
    case 'EXPLAIN':
    case 'KILL':
      return classifyQueryStatement(reader, keyword);
    default:
      return failExpecting(first, STATEMENT_STARTS);
  }
}

type Ddl = (operation: MetadataOperation) => StatementClass;

function parseCreate(reader: StatementReader, create: Token, ddl: Ddl): StatementClass {
  const what = reader.next();
  const keyword = what.type === 'keyword' ? what.value : '';
  if (keyword === 'DATABASE') return ddl(parseCreateDatabase(reader));
  if (keyword === 'RETENTION') {
    reader.expect('POLICY');
    return ddl(parseCreateRetentionPolicy(reader));
  }
  if (keyword === 'USER') {
    const name = reader.identifier();
    reader.expect('WITH', 'PASSWORD');
    const password = reader.string();
    const admin = reader.accept('WITH') !== null;
    if (admin) reader.expect('ALL', 'PRIVILEGES');
    reader.end();
    return ddl({ op: 'createUser', name, password, admin });
  }
  if (keyword === 'CONTINUOUS') {
    reader.expect('QUERY');
    return ddl(parseCreateContinuousQuery(reader, create));
  }
  if (keyword === 'SUBSCRIPTION') return { kind: 'other', statement: 'CREATE SUBSCRIPTION' };
  return failExpecting(what, ['CONTINUOUS', 'DATABASE', 'USER', 'RETENTION', 'SUBSCRIPTION']);
}

function parseDrop(reader: StatementReader, ddl: Ddl): StatementClass {
  const what = reader.next();
  const keyword = what.type === 'keyword' ? what.value : '';
  const nameOnDatabase = (): { name: string; database: string } => {
    const name = reader.identifier();
    reader.expect('ON');
    const database = reader.identifier();
    reader.end();
    return { name, database };
  };
  switch (keyword) {
    case 'CONTINUOUS':
      reader.expect('QUERY');
      return ddl({ op: 'dropContinuousQuery', ...nameOnDatabase() });
    case 'DATABASE': {
      const name = reader.identifier();
      reader.end();
      return ddl({ op: 'dropDatabase', name });
    }
    case 'RETENTION':
      reader.expect('POLICY');
      return ddl({ op: 'dropRetentionPolicy', ...nameOnDatabase() });
    case 'USER': {
      const name = reader.identifier();
      reader.end();
      return ddl({ op: 'dropUser', name });
    }
    case 'MEASUREMENT':
    case 'SERIES':
    case 'SHARD':
      return classifyQueryStatement(reader, `DROP ${keyword}`);
    case 'SUBSCRIPTION':
      return { kind: 'other', statement: 'DROP SUBSCRIPTION' };
    default:
      return failExpecting(what, ['CONTINUOUS', 'DATABASE', 'MEASUREMENT', 'RETENTION', 'SERIES', 'SHARD', 'SUBSCRIPTION', 'USER']);
  }
}

function parseCreateDatabase(reader: StatementReader): MetadataOperation {
  const name = reader.identifier();
  if (!reader.accept('WITH')) {
    reader.end();
    return { op: 'createDatabase', name };
  }
  const peek = reader.next();
  if (!['DURATION', 'NAME', 'REPLICATION', 'SHARD'].some((keyword) => isKeyword(peek, keyword))) {
    failExpecting(peek, ['DURATION', 'NAME', 'REPLICATION', 'SHARD']);
  }
  reader.unread(peek);
  const retentionPolicy: NonNullable<Extract<MetadataOperation, { op: 'createDatabase' }>['retentionPolicy']> = {};
  if (reader.accept('DURATION')) retentionPolicy.duration = reader.durationSeconds();
  if (reader.accept('REPLICATION')) retentionPolicy.replicaN = reader.integer(1, MAX_INT32);
  if (reader.accept('SHARD')) {
    // influxd accepts SHARD DURATION INF here (it means "automatic", like 0s).
    reader.expect('DURATION');
    retentionPolicy.shardGroupDuration = reader.durationSeconds();
  }
  if (reader.accept('NAME')) retentionPolicy.name = reader.identifier();
  reader.end();
  return { op: 'createDatabase', name, retentionPolicy };
}

function parseCreateRetentionPolicy(reader: StatementReader): MetadataOperation {
  const name = reader.identifier();
  reader.expect('ON');
  const database = reader.identifier();
  reader.expect('DURATION');
  const duration = reader.durationSeconds();
  reader.expect('REPLICATION');
  const replicaN = reader.integer(1, MAX_INT32);
  const shardGroupDuration = reader.accept('SHARD') ? reader.shardDurationSeconds() : undefined;
  const makeDefault = reader.accept('DEFAULT') !== null;
  reader.end();
  return {
    op: 'createRetentionPolicy', database, name, duration, replicaN, makeDefault,
    ...(shardGroupDuration === undefined ? {} : { shardGroupDuration }),
  };
}

function parseAlterRetentionPolicy(reader: StatementReader): MetadataOperation {
  const nameToken = reader.next();
  // ALTER (only) accepts the keyword DEFAULT as the policy name "default".
  if (nameToken.type !== 'ident' && !isKeyword(nameToken, 'DEFAULT')) failExpecting(nameToken, ['identifier']);
  const name = nameToken.type === 'ident' ? nameToken.value : 'default';
  reader.expect('ON');
  const database = reader.identifier();
  const operation: Extract<MetadataOperation, { op: 'alterRetentionPolicy' }> = { op: 'alterRetentionPolicy', database, name, makeDefault: false };
  const seen = new Set<string>();
  for (;;) {
    const option = reader.next();
    const keyword = option.type === 'keyword' ? option.value : '';
    if (seen.has(keyword)) failAt(`found duplicate ${keyword} option`, option.pos);
    if (keyword === 'DURATION') operation.duration = reader.durationSeconds();
    else if (keyword === 'REPLICATION') operation.replicaN = reader.integer(1, MAX_INT32);
    else if (keyword === 'SHARD') operation.shardGroupDuration = reader.shardDurationSeconds();
    else if (keyword === 'DEFAULT') operation.makeDefault = true;
    else if (seen.size === 0) failExpecting(option, ['DURATION', 'REPLICATION', 'SHARD', 'DEFAULT']);
    else {
      reader.unread(option);
      break;
    }
    seen.add(keyword);
  }
  reader.end();
  return operation;
}

function parseGrantOrRevoke(reader: StatementReader, verb: 'GRANT' | 'REVOKE'): MetadataOperation {
  const privilegeToken = reader.next();
  const privilege = privilegeToken.type === 'keyword' ? privilegeToken.value : '';
  if (privilege !== 'READ' && privilege !== 'WRITE' && privilege !== 'ALL') {
    return failExpecting(privilegeToken, ['READ', 'WRITE', 'ALL [PRIVILEGES]']);
  }
  if (privilege === 'ALL') reader.accept('PRIVILEGES');
  const preposition = verb === 'GRANT' ? 'TO' : 'FROM';
  const next = reader.next();
  if (isKeyword(next, 'ON')) {
    const database = reader.identifier();
    reader.expect(preposition);
    const user = reader.identifier();
    reader.end();
    return { op: verb === 'GRANT' ? 'grant' : 'revoke', user, database, privilege: privilege satisfies Privilege };
  }
  if (!isKeyword(next, preposition) || privilege !== 'ALL') {
    failExpecting(next, privilege === 'ALL' ? ['ON', preposition] : ['ON']);
  }
  const user = reader.identifier();
  reader.end();
  return verb === 'GRANT' ? { op: 'grantAdmin', user } : { op: 'revokeAdmin', user };
}

function parseCreateContinuousQuery(reader: StatementReader, create: Token): MetadataOperation {
  const name = reader.identifier();
  reader.expect('ON');
  const database = reader.identifier();
  let every = 0n;
  let resampleFor = 0n;
  if (reader.accept('RESAMPLE')) {
    if (reader.accept('EVERY')) every = resampleDuration(reader);
    if (reader.accept('FOR')) resampleFor = resampleDuration(reader);
    if (every === 0n && resampleFor === 0n) failExpecting(reader.next(), ['EVERY', 'FOR']);
  }
  reader.expect('BEGIN', 'SELECT');
  const body = scanContinuousQueryBody(reader);
  reader.end();
  let interval = body.groupByInterval;
  if (resampleFor !== 0n) {
    if (every > interval) interval = every;
    if (interval > resampleFor) {
      throw new InfluxqlSyntaxError(
        `FOR duration must be >= GROUP BY time duration: must be a minimum of ${formatGoInfluxDuration(interval)}, got ${formatGoInfluxDuration(resampleFor)}`,
      );
    }
  }
  const query = reader.lexer.slice(create.start, body.end.end);
  return { op: 'createContinuousQuery', database, name, query };
}

function resampleDuration(reader: StatementReader): bigint {
  return reader.durationNanoseconds({ infinite: false });
}

/**
 * The SELECT between BEGIN and END, read token by token (not parsed): it
 * must have INTO before FROM, and an aggregate needs GROUP BY time(...).
 */
function scanContinuousQueryBody(reader: StatementReader): { end: Token; groupByInterval: bigint } {
  reader.lexer.scanRegexes = true;
  let depth = 0;
  let sawInto = false;
  let sawFrom = false;
  let sawGroupBy = false;
  let aggregate = false;
  let groupByInterval = 0n;
  let previous: Token | null = null;
  for (;;) {
    const token = reader.next();
    if (isEnd(token)) failExpecting(token, [sawInto ? (sawFrom ? 'END' : 'FROM') : 'INTO']);
    const punct = token.type === 'punctuation' ? token.value : '';
    const call = punct === '(' && previous !== null && previous.end === token.start && (previous.type === 'ident' || isKeyword(previous, 'DISTINCT'));
    if (call && !sawInto) aggregate = true;
    if (call && sawGroupBy && depth === 0 && previous?.value.toLowerCase() === 'time') {
      const argument = reader.next();
      if (argument.type === 'duration') groupByInterval = safeDuration(argument);
      reader.unread(argument);
    }
    if (punct === '(') depth++;
    else if (punct === ')') depth--;
    else if (depth === 0 && isKeyword(token, 'INTO') && !sawFrom) sawInto = true;
    else if (depth === 0 && isKeyword(token, 'FROM') && !sawFrom) {
      if (!sawInto) failExpecting(token, ['INTO']);
      sawFrom = true;
    } else if (depth === 0 && sawFrom && isKeyword(token, 'BY') && previous !== null && isKeyword(previous, 'GROUP')) {
      sawGroupBy = true;
    } else if (isKeyword(token, 'END')) {
      if (aggregate && groupByInterval === 0n) failExpecting(previous ?? token, ['GROUP BY time(...)']);
      reader.lexer.scanRegexes = false;
      return { end: token, groupByInterval };
    }
    previous = token;
  }
}

function safeDuration(token: Token): bigint {
  try {
    return durationLiteralNanoseconds(token.value);
  } catch {
    return 0n;
  }
}

/** influxql.FormatDuration: the largest unit that divides (`10s`, `90m`, `2w`). */
function formatGoInfluxDuration(nanoseconds: bigint): string {
  const units: Array<[string, bigint]> = [
    ['w', 604_800n * NANOS_PER_SECOND], ['d', 86_400n * NANOS_PER_SECOND], ['h', 3_600n * NANOS_PER_SECOND],
    ['m', 60n * NANOS_PER_SECOND], ['s', NANOS_PER_SECOND], ['ms', 1_000_000n], ['u', 1_000n],
  ];
  if (nanoseconds === 0n) return '0s';
  for (const [unit, size] of units) if (nanoseconds % size === 0n) return `${nanoseconds / size}${unit}`;
  return `${nanoseconds}ns`;
}
