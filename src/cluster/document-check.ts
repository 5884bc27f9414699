import type { ClusterMetadata } from './cluster-metadata.ts';

/** Where a document is wrong: a path like databases["db1"].retentionPolicies["autogen"].replicaN, and why. */
export interface DocumentProblem {
  /**
   * Path of the offending value, keys quoted as JSON strings; `""` is the
   * document itself. Keys longer than 256 characters are
   * cut and end in `…`, so a forged document cannot make the answer huge.
   */
  field: string;
  /** Why the value is wrong, readable by an operator. */
  error: string;
}

/** The verdict on a document: the same object, typed, or its first problem. */
export type DocumentCheck = { ok: true; metadata: ClusterMetadata } | ({ ok: false } & DocumentProblem);

/** Checks that a continuous query's text is a CREATE CONTINUOUS QUERY named `name` ON `database`; returns why not, or undefined. Injected because src/cluster/ may not import the InfluxQL parser (it lives in a higher layer). */
export type ContinuousQueryCheck = (query: string, database: string, name: string) => string | undefined;

const HOUR = 3600;
/** Far above any real replication; bounds the loops placement runs per write. */
const MAX_REPLICAS = 1000;
/** influxd 1.6 services/meta/data.go MaxNameLen: names become directory names on disk. */
const MAX_NAME_BYTES = 255;
/** A continuous query's text; every agent holds every query in memory. */
const MAX_QUERY_BYTES = 1024 * 1024;
/** A node name is a host name at most (DNS allows 253 characters). */
const MAX_NODE_NAME = 253;
/** A measurement name in a move (influxd allows up to 64 KiB keys; names longer than this are not moved by name). */
const MAX_MEASUREMENT = 65_535;
/** Longest key quoted whole in a field path; a longer one is never a valid name anyway. */
const MAX_KEY_IN_PATH = 256;

const PRIVILEGES: ReadonlySet<unknown> = new Set(['READ', 'WRITE', 'ALL']);
/**
 * Go's unicode.IsPrint: categories L, M, N, P, S and the ASCII space. Format
 * characters (zero-width joiner, soft hyphen), other spaces and lone
 * surrogates are not printable. Node's Unicode tables are newer than Go
 * 1.10's, so a character assigned since then passes here and fails in influxd.
 */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** secret-box.ts: `v2:<iv>:<tag>:<ciphertext>` (or the older `v1:`), padded standard base64; a v1 empty plaintext sealed to an empty ciphertext. */
const BASE64 = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?';
const NON_EMPTY_BASE64 = `(?=[A-Za-z0-9+/])${BASE64}`;
const SEALED = new RegExp(`^v[12]:${NON_EMPTY_BASE64}:${NON_EMPTY_BASE64}:${BASE64}$`);
/** placement.ts unitKey: `db\u0000measurement`, both parts non-empty. */
const UNIT_KEY = /^[^\u0000]+\u0000[^\u0000]+$/;

/**
 * Checks a cluster document (cluster-metadata.ts) before anyone relies on it:
 * an agent refuses a malformed or forged document instead of crashing on it,
 * and the manager answers 400 to a bad write. Reports the first problem, in
 * a stable order: format, revision, databases, users, settings. Reads own
 * data properties only (never getters, never the prototype chain) and never
 * throws. Unknown top-level and settings keys are allowed, for documents
 * written by a newer version. On success returns the same object, not a copy.
 */
export function checkClusterDocument(value: unknown, checkContinuousQuery?: ContinuousQueryCheck): DocumentCheck {
  try {
    checkDocument(value, checkContinuousQuery);
    return { ok: true, metadata: value as ClusterMetadata };
  } catch (err) {
    if (err instanceof Problem) return { ok: false, field: err.field, error: err.error };
    // Only a Proxy or a similarly hostile object gets here (a trap that throws); never let it escape.
    return { ok: false, field: '', error: 'cannot be read as a plain JSON document' };
  }
}

/** Unwinds from the first problem to checkClusterDocument; never escapes it. */
class Problem {
  readonly field: string;
  readonly error: string;
  constructor(field: string, error: string) {
    this.field = field;
    this.error = error;
  }
}

function fail(field: string, error: string): never {
  throw new Problem(field, error);
}

type Dictionary = Record<string, unknown>;

function checkDocument(value: unknown, checkContinuousQuery: ContinuousQueryCheck | undefined): void {
  const document = plainObject('', value, 'the document');
  const format = read(document, 'format', 'format');
  if (format !== 1) fail('format', must('1', format));
  const revision = read(document, 'revision', 'revision');
  if (revision !== undefined && !(Number.isSafeInteger(revision) && (revision as number) >= 0)) {
    fail('revision', must('a non-negative integer', revision));
  }
  const databases = plainObject('databases', read(document, 'databases', 'databases'), 'the databases');
  for (const name of Object.keys(databases)) checkDatabase(databases, name, checkContinuousQuery);
  const users = plainObject('users', read(document, 'users', 'users'), 'the users');
  for (const name of Object.keys(users)) checkUser(users, name, databases);
  checkSettings(read(document, 'settings', 'settings'));
}

function checkDatabase(databases: Dictionary, name: string, checkContinuousQuery: ContinuousQueryCheck | undefined): void {
  const path = `databases${keyPath(name)}`;
  checkName(path, name, 'database');
  const database = plainObject(path, read(databases, name, path), 'a database');
  const policiesPath = `${path}.retentionPolicies`;
  const policies = plainObject(policiesPath, read(database, 'retentionPolicies', policiesPath), 'the retention policies');
  for (const policyName of Object.keys(policies)) checkRetentionPolicy(policies, policyName, `${policiesPath}${keyPath(policyName)}`);

  const defaultPath = `${path}.defaultRetentionPolicy`;
  const defaultPolicy = read(database, 'defaultRetentionPolicy', defaultPath);
  if (defaultPolicy !== null) {
    if (typeof defaultPolicy !== 'string') fail(defaultPath, must('a retention policy name or null', defaultPolicy));
    if (!Object.hasOwn(policies, defaultPolicy)) fail(defaultPath, `names ${describe(defaultPolicy)}, which is not one of the database's retention policies`);
  }

  const queriesPath = `${path}.continuousQueries`;
  const queries = plainObject(queriesPath, read(database, 'continuousQueries', queriesPath), 'the continuous queries');
  for (const queryName of Object.keys(queries)) {
    checkContinuousQueryEntry(queries, queryName, `${queriesPath}${keyPath(queryName)}`, name, checkContinuousQuery);
  }
}

function checkRetentionPolicy(policies: Dictionary, name: string, path: string): void {
  checkName(path, name, 'retention policy');
  const policy = plainObject(path, read(policies, name, path), 'a retention policy');
  checkInnerName(policy, name, path);
  const duration = read(policy, 'duration', `${path}.duration`);
  if (!Number.isSafeInteger(duration) || (duration as number) < 0) {
    fail(`${path}.duration`, must('a whole number of seconds, 0 for infinite', duration));
  }
  // The same limits apply-operation.ts enforces, so a document the manager wrote always passes.
  const seconds = duration as number;
  if (seconds !== 0 && seconds < HOUR) fail(`${path}.duration`, `retention policy duration must be at least 1h0m0s (3600 seconds), not ${seconds}`);
  const shardGroupDuration = read(policy, 'shardGroupDuration', `${path}.shardGroupDuration`);
  if (!Number.isSafeInteger(shardGroupDuration) || (shardGroupDuration as number) < HOUR) {
    fail(`${path}.shardGroupDuration`, must('a whole number of seconds, at least 3600 (1h)', shardGroupDuration));
  }
  if (seconds !== 0 && (shardGroupDuration as number) > seconds) {
    fail(`${path}.shardGroupDuration`, `must not exceed the retention policy duration (${seconds}), not ${shardGroupDuration as number}`);
  }
  const replicaN = read(policy, 'replicaN', `${path}.replicaN`);
  if (!isCount(replicaN)) fail(`${path}.replicaN`, must(`a whole number from 1 to ${MAX_REPLICAS}`, replicaN));
}

function checkContinuousQueryEntry(queries: Dictionary, name: string, path: string, database: string, checkQuery: ContinuousQueryCheck | undefined): void {
  // influxd checks no continuous query name and only that a user name is not empty: neither may the cluster.
  if (name === '') fail(path, 'invalid continuous query name: must not be empty');
  const entry = plainObject(path, read(queries, name, path), 'a continuous query');
  checkInnerName(entry, name, path);
  const queryPath = `${path}.query`;
  const query = read(entry, 'query', queryPath);
  if (typeof query !== 'string') fail(queryPath, must('the CREATE CONTINUOUS QUERY statement as a string', query));
  if (query.length > MAX_QUERY_BYTES || utf8Length(query) > MAX_QUERY_BYTES) fail(queryPath, `must be at most ${MAX_QUERY_BYTES} bytes`);
  if (checkQuery === undefined) return;
  let answer: string | undefined;
  try {
    answer = checkQuery(query, database, name);
  } catch (err) {
    fail(queryPath, `cannot be checked: ${err instanceof Error ? err.message : 'the check failed'}`);
  }
  if (answer !== undefined) fail(queryPath, typeof answer === 'string' && answer !== '' ? answer : 'is not a valid CREATE CONTINUOUS QUERY statement');
}

function checkUser(users: Dictionary, name: string, databases: Dictionary): void {
  const path = `users${keyPath(name)}`;
  if (name === '') fail(path, 'invalid user name: must not be empty');
  const user = plainObject(path, read(users, name, path), 'a user');
  checkInnerName(user, name, path);
  const admin = read(user, 'admin', `${path}.admin`);
  if (typeof admin !== 'boolean') fail(`${path}.admin`, must('true or false', admin));

  const privilegesPath = `${path}.privileges`;
  const privileges = plainObject(privilegesPath, read(user, 'privileges', privilegesPath), 'the privileges');
  for (const database of Object.keys(privileges)) {
    const privilegePath = `${privilegesPath}${keyPath(database)}`;
    // hasOwn, not `in`: a grant on "toString" or "__proto__" must not find Object.prototype.
    if (!Object.hasOwn(databases, database)) fail(privilegePath, `grants a privilege on database ${describe(database)}, which is not in the document`);
    const privilege = read(privileges, database, privilegePath);
    if (!PRIVILEGES.has(privilege)) fail(privilegePath, must('"READ", "WRITE" or "ALL"', privilege));
  }

  const password = read(user, 'password', `${path}.password`);
  if (typeof password !== 'string' || !SEALED.test(password)) {
    fail(`${path}.password`, 'must be a sealed password ("v1:" or "v2:" then base64 IV, tag and ciphertext separated by ":"), never plaintext');
  }
}

function checkSettings(value: unknown): void {
  const settings = plainObject('settings', value, 'the settings');
  const replicationFactor = read(settings, 'replicationFactor', 'settings.replicationFactor');
  if (!isCount(replicationFactor)) fail('settings.replicationFactor', must(`a whole number from 1 to ${MAX_REPLICAS}`, replicationFactor));

  const members = read(settings, 'dataMembers', 'settings.dataMembers');
  if (!Array.isArray(members)) fail('settings.dataMembers', must('an array of node names', members));
  const seen = new Set<string>();
  for (let index = 0; index < members.length; index++) {
    const path = `settings.dataMembers[${index}]`;
    const member = read(members as unknown as Dictionary, String(index), path);
    const why = nodeNameProblem(member);
    if (why !== undefined) fail(path, why);
    if (seen.has(member as string)) fail(path, `repeats the node name ${describe(member)}`);
    seen.add(member as string);
  }

  const pins = plainObject('settings.pins', read(settings, 'pins', 'settings.pins'), 'the pins');
  for (const unit of Object.keys(pins)) {
    const path = `settings.pins${keyPath(unit)}`;
    if (!UNIT_KEY.test(unit)) fail(path, 'the pinned unit must be "database\\u0000measurement", both parts non-empty');
    const source = read(pins, unit, path);
    if (typeof source !== 'string' || !UNIT_KEY.test(source)) fail(path, must('the unit it follows, "database\\u0000measurement" with both parts non-empty', source));
  }

  const influxdAuth = read(settings, 'influxdAuth', 'settings.influxdAuth');
  if (influxdAuth !== undefined && typeof influxdAuth !== 'boolean') fail('settings.influxdAuth', must('true or false when present', influxdAuth));

  const move = read(settings, 'move', 'settings.move');
  if (move !== undefined) checkMove(move);
}

/** settings.move (member-moves.ts): a move of the data members in progress. */
function checkMove(value: unknown): void {
  const move = plainObject('settings.move', value, 'the move');
  const id = read(move, 'id', 'settings.move.id');
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) fail('settings.move.id', must('1 to 64 letters, digits, "-" or "_"', id));
  const kind = read(move, 'kind', 'settings.move.kind');
  if (kind !== 'add' && kind !== 'remove' && kind !== 'replace') fail('settings.move.kind', must('"add", "remove" or "replace"', kind));
  for (const list of ['target', 'empty']) {
    const names = read(move, list, `settings.move.${list}`);
    if (!Array.isArray(names)) fail(`settings.move.${list}`, must('an array of node names', names));
    for (let index = 0; index < names.length; index++) {
      const path = `settings.move.${list}[${index}]`;
      const why = nodeNameProblem(read(names as unknown as Dictionary, String(index), path));
      if (why !== undefined) fail(path, why);
    }
    if (list === 'target' && names.length === 0) fail('settings.move.target', 'must name at least one data member');
  }
  const startedAt = read(move, 'startedAt', 'settings.move.startedAt');
  if (typeof startedAt !== 'string' || Number.isNaN(Date.parse(startedAt))) fail('settings.move.startedAt', must('an ISO 8601 time', startedAt));
  const phase = read(move, 'phase', 'settings.move.phase');
  if (phase !== 'dual' && phase !== 'copying') fail('settings.move.phase', must('"dual" or "copying"', phase));
  const units = plainObject('settings.move.units', read(move, 'units', 'settings.move.units'), 'the moving units');
  for (const database of Object.keys(units)) {
    const path = `settings.move.units${keyPath(database)}`;
    checkName(path, database, 'database');
    const perDatabase = plainObject(path, read(units, database, path), 'the moving units of a database');
    for (const measurement of Object.keys(perDatabase)) {
      const unitPath = `${path}${keyPath(measurement)}`;
      if (measurement === '' || measurement.includes('\u0000') || measurement.length > MAX_MEASUREMENT) fail(unitPath, `a measurement name must be 1 to ${MAX_MEASUREMENT} characters without NUL`);
      const unit = plainObject(unitPath, read(perDatabase, measurement, unitPath), 'a moving unit');
      const state = read(unit, 'state', `${unitPath}.state`);
      if (state !== 'copying' && state !== 'done') fail(`${unitPath}.state`, must('"copying" or "done"', state));
      const points = read(unit, 'points', `${unitPath}.points`);
      if (!Number.isSafeInteger(points) || (points as number) < 0) fail(`${unitPath}.points`, must('a whole number of points, 0 or more', points));
    }
  }
}

/**
 * influxd 1.6's rule for names, services/meta/data.go `ValidName` (applied by
 * coordinator/statement_executor.go to CREATE DATABASE and CREATE RETENTION
 * POLICY) plus `MaxNameLen` from the same file: not empty, at most 255 bytes
 * of UTF-8, not "." or "..", no "/" or "\" (the name is a directory on disk),
 * and every character printable (Go's unicode.IsPrint).
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  // UTF-16 length never exceeds UTF-8 length: a cheap first cut for huge keys.
  if (name.length > MAX_NAME_BYTES || utf8Length(name) > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes of UTF-8`;
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (name.includes('/') || name.includes('\\')) return 'must not contain "/" or "\\"';
  if (!PRINTABLE.test(name)) return 'must contain only printable characters (no control, format or non-ASCII space characters)';
  return undefined;
}

function checkName(path: string, name: string, kind: string): void {
  const why = nameProblem(name);
  if (why !== undefined) fail(path, `invalid ${kind} name: ${why}`);
}

function checkInnerName(entry: Dictionary, key: string, path: string): void {
  const name = read(entry, 'name', `${path}.name`);
  if (name !== key) fail(`${path}.name`, must(`its key ${describe(key)}`, name));
}

function nodeNameProblem(member: unknown): string | undefined {
  if (typeof member !== 'string') return must('a node name', member);
  if (member === '') return 'must not be empty';
  // Code points, not UTF-16 units; the length check first keeps a huge string cheap.
  if (member.length > 2 * MAX_NODE_NAME || [...member].length > MAX_NODE_NAME) return `must be at most ${MAX_NODE_NAME} characters`;
  if (CONTROL.test(member)) return 'must not contain control characters';
  return undefined;
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_REPLICAS;
}

/** An object JSON.stringify writes as an object: an array is one even with its prototype swapped. */
function isPlainObject(value: unknown): value is Dictionary {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function plainObject(path: string, value: unknown, what: string): Dictionary {
  if (!isPlainObject(value)) fail(path, must(`an object (${what})`, value));
  return value;
}

/**
 * An own data property's value; undefined when absent. A getter is a
 * problem, not something to call: it could throw or answer differently later.
 */
function read(object: Dictionary, key: string, path: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  if (descriptor === undefined) return undefined;
  if (!('value' in descriptor)) fail(path, 'must be a plain value, not an accessor');
  return descriptor.value;
}

function keyPath(key: string): string {
  if (key.length <= MAX_KEY_IN_PATH) return `[${JSON.stringify(key)}]`;
  return `[${JSON.stringify(key.slice(0, MAX_KEY_IN_PATH)).slice(0, -1)}…"]`;
}

/** The error for a value that is not `what`: "is required" when it is absent. */
function must(what: string, value: unknown): string {
  return value === undefined ? `is required: ${what}` : `must be ${what}, not ${describe(value)}`;
}

/** A short account of a value for an error message; never echoes a long string whole. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length <= 64 ? JSON.stringify(value) : `a string of ${value.length} characters`;
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `the bigint ${value <= 10n ** 20n && value >= -(10n ** 20n) ? String(value) : '(huge)'}`;
    case 'object':
      return isPlainObject(value) ? 'an object' : 'a non-plain object';
    default:
      return `a ${typeof value}`;
  }
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
