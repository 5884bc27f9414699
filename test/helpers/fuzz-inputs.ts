/**
 * Seeded inputs for the HTTP fuzz test (test/integration/fuzz.test.ts): a
 * small PRNG and generators of line protocol, InfluxQL and manager JSON,
 * valid-looking first and then mutated. Every generator is a pure function
 * of the PRNG (no clock, no Math.random), so a seed, a surface and an index
 * give the same request again. No dependencies.
 */
import { gzipSync } from 'node:zlib';
import { testDocument } from './manager-process.ts';

/** Upper bound of every generated body (the brief: under about 2 MB). */
export const MAX_FUZZ_BODY = 2 * 1024 * 1024;
/** A fixed "now" (2023-11-14T22:13:20Z): timestamps must not depend on the clock, or a replay differs. */
const BASE_MS = 1_700_000_000_000;

/** A mulberry32 pseudo-random source. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Each choice with its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    let roll = this.next() * choices.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, value] of choices) if ((roll -= weight) < 0) return value;
    return choices[choices.length - 1]![1];
  }
}

/** The seed of one request: FNV-1a of (run seed, surface, index), so any request can be replayed alone. */
export function seedFor(seed: number, surface: string, index: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${seed}:${surface}:${index}`)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

/** One HTTP request, as sent on the wire. */
export interface FuzzRequest {
  method: string;
  /** Path and query string of the request line (percent-encoded, sometimes badly; bytes 0x21-0xff only). */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Asked for CSV or MessagePack (`Accept`): influxd answers its own errors in that format then, not JSON. */
  acceptsNonJson: boolean;
}

// ---------------------------------------------------------------- bytes

/** Fragments that break parsers: separators, quotes, escapes, NUL, CR, invalid UTF-8. */
const NASTY = ['\u0000', '\r', '\n', '\r\n', '"', "'", '\\', ',', ' ', '=', '#', '\t', '\\\n', '\\ ', '\u2028', '\ufeff', '🙂', 'é'];
const INVALID_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
const HUGE_NUMBERS = ['9'.repeat(40), '-9223372036854775809', '9223372036854775808', '1e400', '-1e400', '0x7fffffff', '1.7976931348623157e309', '00000000000000000001', 'NaN', 'Infinity', '-0'];

/** One random byte-level mutation of `data`: flip, truncate, insert, duplicate, delete, long token, huge number, invalid UTF-8. */
export function mutateBytes(rng: Prng, data: Buffer): Buffer {
  const at = rng.int(0, data.length);
  const insert = (piece: Buffer) => Buffer.concat([data.subarray(0, at), piece, data.subarray(at)]);
  switch (rng.int(0, 8)) {
    case 0: {
      if (data.length === 0) return Buffer.from([rng.int(0, 255)]);
      const copy = Buffer.from(data);
      const index = Math.min(at, copy.length - 1);
      copy[index] = copy[index]! ^ (1 << rng.int(0, 7));
      return copy;
    }
    case 1:
      return data.subarray(0, at);
    case 2:
      return insert(Buffer.from(rng.pick(NASTY)));
    case 3: {
      const end = rng.int(at, Math.min(data.length, at + 200));
      const fragment = data.subarray(at, end);
      return Buffer.concat([data.subarray(0, end), ...Array<Buffer>(rng.int(1, 20)).fill(fragment), data.subarray(end)]);
    }
    case 4:
      return Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + rng.int(1, 50)))]);
    case 5:
      return insert(Buffer.from(rng.pick(['a', 'x', '9', '"', '\\', ',', ' ', '=']).repeat(rng.pick([300, 5000, 70_000, 300_000]))));
    case 6:
      return insert(Buffer.from(rng.pick(HUGE_NUMBERS)));
    default:
      return insert(Buffer.from(rng.pick(INVALID_UTF8)));
  }
}

/** `rounds` byte mutations, the result cut to {@link MAX_FUZZ_BODY}. */
export function mutateBytesTimes(rng: Prng, data: Buffer, rounds: number): Buffer {
  let out = data;
  for (let i = 0; i < rounds; i++) out = mutateBytes(rng, out).subarray(0, MAX_FUZZ_BODY);
  return out;
}

/** A query string from parameters: well encoded mostly, sometimes with `+`, broken `%` escapes, raw Latin-1 bytes or duplicates. */
export function queryString(rng: Prng, params: ReadonlyArray<readonly [string, string]>): string {
  const encode = (text: string): string => {
    const mode = rng.weighted([[90, 'plain'], [4, 'plus'], [4, 'broken'], [2, 'raw']] as const);
    if (mode === 'plus') return encodeURIComponent(text).replace(/%20/g, '+');
    if (mode === 'broken') {
      const encoded = encodeURIComponent(text);
      const at = rng.int(0, encoded.length);
      return encoded.slice(0, at) + rng.pick(['%', '%g1', '%zz', '%C3', '%00', '%ff%fe', '%%']) + encoded.slice(at);
    }
    // Raw UTF-8 bytes as Latin-1 characters: invalid UTF-8 and non-ASCII reach the server unescaped.
    if (mode === 'raw') return Buffer.from(text).toString('latin1').replace(/[^\x21-\xff]|[#%&+?]/g, (c) => encodeURIComponent(c));
    return encodeURIComponent(text);
  };
  const parts = params.map(([key, value]) => `${encode(key)}=${encode(value)}`);
  if (parts.length > 0 && rng.chance(0.03)) parts.push(parts[rng.int(0, parts.length - 1)]!);
  if (rng.chance(0.02)) parts.push(rng.pick(['', '=', '&', 'novalue', '==x']));
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

// ---------------------------------------------------------------- line protocol

const MEASUREMENTS = ['fz_m0', 'fz_m1', 'fz_m2', 'fz m3', 'fz,m4', 'fz=m5', 'fz_ünï', 'fz_日本', 'fz_🙂', '"fz_q"', 'fz\\m6', '#fz_hash'];
const TAG_KEYS = ['host', 'region', 'k y', 'k,z', 'k=w', 'tëg', 'time', '_field', '_measurement'];
const TAG_VALUES = ['a', 'b', 'server 01', 'x,y', 'a=b', 'ünï', '日本', '🙂', 'quote"d', 'back\\slash', 'x'.repeat(300)];
const FIELD_KEYS = ['v', 'value', 'n', 's', 'b', 'f k', 'f,k', 'f=k', 'time', 'ünï'];
const PRECISIONS = ['n', 'ns', 'u', 'µ', 'ms', 's', 'm', 'h'];
const UNIT_NS: Record<string, bigint> = { n: 1n, ns: 1n, u: 1000n, µ: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

const escapeMeasurement = (name: string) => name.replace(/[\\, ]/g, (c) => `\\${c}`);
const escapeKey = (name: string) => name.replace(/[\\, =]/g, (c) => `\\${c}`);

function fieldValue(rng: Prng): string {
  switch (rng.int(0, 5)) {
    case 0:
      return rng.pick(['1', '1.5', '-0', '0.0', '1e10', '-1.7976931348623157e308', '3.14159', String(rng.int(-1000, 1000) / 7), '.5', '5.']);
    case 1:
      return rng.pick([`${rng.int(-100000, 100000)}i`, '9223372036854775807i', '-9223372036854775808i', '9223372036854775808i', '0i', '-0i']);
    case 2:
      return rng.pick(['12u', '0u', '18446744073709551615u']);
    case 3: {
      const text = rng.pick(['text', 'with "quotes"', 'back\\slash', 'new\nline', 'ünïcödé 日本 🙂', 'comma, space = equals', '', 'x'.repeat(rng.pick([10, 70_000]))]);
      return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    }
    default:
      return rng.pick(['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE']);
  }
}

function timestamp(rng: Prng, precision: string | undefined): string {
  const unit = UNIT_NS[precision ?? 'n'] ?? 1n;
  const ns = BigInt(BASE_MS + rng.int(-86_400_000, 86_400_000)) * 1_000_000n;
  return rng.weighted([
    [60, () => String(ns / unit)],
    [10, () => String(rng.int(-5, 5))],
    [10, () => rng.pick(HUGE_NUMBERS)],
    [5, () => `${ns / unit}.5`],
  ] as const)();
}

/** A batch of valid-looking lines: measurements, tags, fields of every type, timestamps, escapes, unicode. */
export function lineProtocolBatch(rng: Prng, precision: string | undefined): string {
  const lines: string[] = [];
  const count = rng.weighted([[70, rng.int(1, 20)], [25, rng.int(20, 500)], [5, rng.int(500, 5000)]] as const);
  for (let i = 0; i < count; i++) {
    let line = escapeMeasurement(rng.pick(MEASUREMENTS));
    for (let t = rng.int(0, 3); t > 0; t--) line += `,${escapeKey(rng.pick(TAG_KEYS))}=${escapeKey(rng.pick(TAG_VALUES))}`;
    const fields = Array.from({ length: rng.int(1, 4) }, () => `${escapeKey(rng.pick(FIELD_KEYS))}=${fieldValue(rng)}`);
    line += ` ${fields.join(',')}`;
    if (rng.chance(0.7)) line += ` ${timestamp(rng, precision)}`;
    lines.push(rng.chance(0.03) ? rng.pick(['', '# a comment', '   ', line + ' extra']) : line);
  }
  return lines.join(rng.chance(0.1) ? '\r\n' : '\n') + (rng.chance(0.5) ? '\n' : '');
}

/** A write: a (mutated) batch, gzip sometimes (corrupted sometimes), random db, rp, precision and consistency. */
export function writeRequest(rng: Prng, options: { path: string; databases: readonly string[] }): FuzzRequest {
  const params: Array<[string, string]> = [];
  if (rng.chance(0.93)) params.push(['db', rng.weighted([[85, rng.pick(options.databases)], [15, rng.pick(['', 'fz_missing', 'db with space', '..', '_internal', 'ünï', '"', 'x'.repeat(300)])]] as const)]);
  if (rng.chance(0.2)) params.push(['rp', rng.pick(['autogen', 'nope', '', 'fz_rp', 'x'.repeat(300)])]);
  const precision = rng.chance(0.5) ? rng.weighted([[90, rng.pick(PRECISIONS)], [10, rng.pick(['x', '', 'NS', '1s', 'ms ', 'msec'])]] as const) : undefined;
  if (precision !== undefined) params.push(['precision', precision]);
  if (rng.chance(0.3)) params.push(['consistency', rng.pick(['any', 'one', 'quorum', 'all', 'ALL', 'Quorum', 'bogus', ''])]);
  if (rng.chance(0.05)) params.push(['u', rng.pick(['fz_u', '', 'nobody'])], ['p', rng.pick(['pw', '', 'x'.repeat(200)])]);

  let body: Buffer = Buffer.from(lineProtocolBatch(rng, precision));
  if (rng.chance(0.6)) body = mutateBytesTimes(rng, body, rng.int(1, 4));
  const headers: Record<string, string> = {};
  const encoding = rng.weighted([[80, 'none'], [13, 'gzip'], [4, 'bad-gzip'], [3, 'label-only']] as const);
  if (encoding === 'gzip' || encoding === 'bad-gzip') {
    body = gzipSync(body);
    if (encoding === 'bad-gzip') body = rng.chance(0.5) ? body.subarray(0, rng.int(0, body.length - 1)) : mutateBytes(rng, body);
    headers['content-encoding'] = rng.pick(['gzip', 'GZIP', 'x-gzip', ' gzip ']);
  } else if (encoding === 'label-only') {
    headers['content-encoding'] = rng.pick(['gzip', 'deflate', 'br', 'identity', 'gzip, gzip', 'bogus']);
  }
  if (rng.chance(0.3)) headers['content-type'] = rng.pick(['text/plain; charset=utf-8', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/json', '']);
  const method = rng.weighted([[96, 'POST'], [4, rng.pick(['GET', 'PUT', 'DELETE'])]] as const);
  return { method, path: options.path + queryString(rng, params), headers, body: body.subarray(0, MAX_FUZZ_BODY), acceptsNonJson: false };
}

// ---------------------------------------------------------------- InfluxQL

const Q_MEASUREMENTS = ['fz_m0', 'fz_m1', 'fz_m2', '"fz m3"', '"fz,m4"', '"fz_日本"', 'cpu', '"fz\\"q"'];
const DDL_DATABASES = ['fz_d0', 'fz_d1', 'fz_d2', '"fz_d 3"', '"fz_dü"'];
const DURATIONS = ['1h', '2h', '1d', '7d', 'INF', '0s', '30m', '1w', '52w', '3600500ms', '99999999999999h'];

const part = (rng: Prng, p: number, text: () => string) => (rng.chance(p) ? text() : '');

function selectStatement(rng: Prng, databases: readonly string[], depth = 0): string {
  const aggregate = rng.chance(0.5);
  const fields = aggregate
    ? rng.pick(['mean(v)', 'count(*)', 'max(v), min(v)', 'top(v, 3)', 'percentile(v, 95)', 'sum(v) AS total', 'derivative(mean(v), 1m)', 'spread(v)', 'distinct(s)', 'count(distinct(host))'])
    : rng.pick(['*', 'v', 'v, host', 'v + 1', '"value"::float', 'v::integer, s', '*::field', '/v.*/', 'last(v)']);
  const source = (): string =>
    rng.weighted([
      [50, () => rng.pick(Q_MEASUREMENTS)],
      [15, () => rng.pick(['/fz_.*/', '/.*/', '/^fz_m[01]$/', '/(/', '/a{99999}/'])],
      [15, () => `"${rng.pick(databases)}".${rng.pick(['', '"autogen".', 'autogen.', '"nope".']) || '.'}${rng.pick(Q_MEASUREMENTS)}`],
      [10, () => `${rng.pick(Q_MEASUREMENTS)}, ${rng.pick(Q_MEASUREMENTS)}`],
      [10, () => (depth < 3 ? `(${selectStatement(rng, databases, depth + 1)})` : 'fz_m0')],
    ] as const)();
  const into = part(rng, 0.08, () => ` INTO ${rng.pick(['fz_into', '"fz_d0".."fz_into"', '"fz_d1"."autogen".:MEASUREMENT', 'fz_into_:MEASUREMENT'])}`);
  const where = part(rng, 0.5, () => ` WHERE ${rng.pick(["host = 'a'", 'v > 0', 'time > now() - 1h', `time >= '2023-11-14T00:00:00Z' AND time < '2023-11-15T00:00:00Z'`, 'host =~ /a.*/', 'v > $v', "time > '1677-09-21T00:12:43Z'", 'v = 1 OR s = \'x\''])}`);
  const groupBy = part(rng, aggregate ? 0.6 : 0.2, () => ` GROUP BY ${rng.pick(['time(1m)', 'time(10m, 1m)', 'time(1h)', '*', 'host', 'time(1d), host', '"k y"'])}${part(rng, 0.4, () => ` fill(${rng.pick(['null', 'none', '0', 'previous', 'linear', '-1.5'])})`)}`);
  const tail = part(rng, 0.2, () => ' ORDER BY time DESC') + part(rng, 0.3, () => ` LIMIT ${rng.pick(['1', '10', '0', '-1', '99999999999'])}${part(rng, 0.3, () => ` OFFSET ${rng.int(0, 5)}`)}`) +
    part(rng, 0.15, () => ` SLIMIT ${rng.int(0, 3)}${part(rng, 0.3, () => ` SOFFSET ${rng.int(0, 3)}`)}`) + part(rng, 0.05, () => ` tz('${rng.pick(['Europe/Paris', 'UTC', 'Nowhere/Land'])}')`);
  return `SELECT ${fields}${into} FROM ${source()}${where}${groupBy}${tail}`;
}

function showStatement(rng: Prng, databases: readonly string[]): string {
  const on = () => part(rng, 0.4, () => ` ON "${rng.pick(databases)}"`);
  const from = () => part(rng, 0.4, () => ` FROM ${rng.pick(Q_MEASUREMENTS)}`);
  const limit = () => part(rng, 0.3, () => ` LIMIT ${rng.int(0, 5)}${part(rng, 0.5, () => ` OFFSET ${rng.int(0, 5)}`)}`);
  return rng.pick([
    () => 'SHOW DATABASES',
    () => `SHOW MEASUREMENTS${on()}${part(rng, 0.3, () => ' WITH MEASUREMENT =~ /fz.*/')}${limit()}`,
    () => `SHOW TAG KEYS${on()}${from()}${limit()}`,
    () => `SHOW TAG VALUES${on()}${from()} WITH KEY ${rng.pick(['= "host"', 'IN ("host", "region")', '=~ /.*/'])}${limit()}`,
    () => `SHOW FIELD KEYS${on()}${from()}`,
    () => `SHOW SERIES${on()}${from()}${part(rng, 0.3, () => " WHERE host = 'a'")}${limit()}`,
    () => `SHOW RETENTION POLICIES${on()}`,
    () => 'SHOW USERS',
    () => `SHOW GRANTS FOR ${rng.pick(['fz_u', '"fz u2"', 'nobody'])}`,
    () => 'SHOW CONTINUOUS QUERIES',
    () => rng.pick(['SHOW SHARDS', 'SHOW SHARD GROUPS', 'SHOW STATS', 'SHOW DIAGNOSTICS', 'SHOW QUERIES', 'SHOW SUBSCRIPTIONS']),
    () => `SHOW ${rng.pick(['SERIES', 'MEASUREMENT', 'TAG KEY', 'FIELD KEY'])}${rng.pick(['', ' EXACT'])} CARDINALITY${on()}`,
  ])();
}

function ddlStatement(rng: Prng): string {
  const db = () => rng.pick(DDL_DATABASES);
  const user = () => rng.pick(['fz_u', '"fz u2"', 'fz_ü']);
  const rp = () => rng.pick(['fz_rp', '"fz rp2"', 'autogen']);
  return rng.pick([
    () => `CREATE DATABASE ${db()}${part(rng, 0.4, () => ` WITH${part(rng, 0.6, () => ` DURATION ${rng.pick(DURATIONS)}`)}${part(rng, 0.6, () => ` REPLICATION ${rng.pick(['1', '2', '3', '0', '99'])}`)}${part(rng, 0.4, () => ` SHARD DURATION ${rng.pick(DURATIONS)}`)}${part(rng, 0.4, () => ` NAME ${rp()}`)}`)}`,
    () => `DROP DATABASE ${db()}`,
    () => `CREATE RETENTION POLICY ${rp()} ON ${db()} DURATION ${rng.pick(DURATIONS)} REPLICATION ${rng.int(0, 3)}${part(rng, 0.4, () => ` SHARD DURATION ${rng.pick(DURATIONS)}`)}${part(rng, 0.3, () => ' DEFAULT')}`,
    () => `ALTER RETENTION POLICY ${rp()} ON ${db()}${part(rng, 0.5, () => ` DURATION ${rng.pick(DURATIONS)}`)}${part(rng, 0.5, () => ` REPLICATION ${rng.int(1, 3)}`)}${part(rng, 0.3, () => ' DEFAULT')}`,
    () => `DROP RETENTION POLICY ${rp()} ON ${db()}`,
    () => `CREATE USER ${user()} WITH PASSWORD '${rng.pick(['pw', '', "it\\'s", 'x'.repeat(300), 'ünï'])}'${part(rng, 0.3, () => ' WITH ALL PRIVILEGES')}`,
    () => `DROP USER ${user()}`,
    () => `SET PASSWORD FOR ${user()} = '${rng.pick(['pw2', ''])}'`,
    () => `GRANT ${rng.pick(['READ', 'WRITE', 'ALL'])} ON ${db()} TO ${user()}`,
    () => `REVOKE ${rng.pick(['READ', 'WRITE', 'ALL'])} ON ${db()} FROM ${user()}`,
    () => `${rng.pick(['GRANT ALL PRIVILEGES TO', 'REVOKE ALL PRIVILEGES FROM'])} ${user()}`,
    () => `CREATE CONTINUOUS QUERY ${rng.pick(['fz_cq', '"fz cq2"'])} ON ${db()}${part(rng, 0.3, () => ` RESAMPLE${part(rng, 0.7, () => ' EVERY 1m')}${part(rng, 0.5, () => ' FOR 2m')}`)} BEGIN SELECT ${rng.pick(['mean(v)', 'count(*)', 'v'])} INTO ${rng.pick(['fz_cq_out', '"fz_d1"."autogen"."fz_cq_out"', ':MEASUREMENT'])} FROM ${rng.pick(['fz_m0', '/fz_.*/'])} GROUP BY time(${rng.pick(['1m', '1h', '0s'])}) END`,
    () => `DROP CONTINUOUS QUERY ${rng.pick(['fz_cq', '"fz cq2"'])} ON ${db()}`,
    () => `DELETE${part(rng, 0.7, () => ` FROM ${rng.pick(Q_MEASUREMENTS)}`)}${part(rng, 0.7, () => ` WHERE ${rng.pick(['time < now() - 30d', "host = 'a'", 'v > 1'])}`)}`,
    () => `DROP SERIES${part(rng, 0.7, () => ` FROM ${rng.pick(Q_MEASUREMENTS)}`)}${part(rng, 0.6, () => " WHERE host = 'a'")}`,
    () => `DROP MEASUREMENT ${rng.pick(Q_MEASUREMENTS)}`,
  ])();
}

const TOKEN = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\/(?:[^/\\\n]|\\.)+\/|\w+|\s+|[^\w\s]/g;
const QL_INSERTS = ["'", '"', '(', ')', '/', ';', ',', '*', '=~', '!~', '::', '.', '..', '$', '\\', '\u0000', '\n', 'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'INTO', 'ON', 'LIMIT', 'time', 'AND', 'OR', 'BEGIN', 'END', '-- comment\n', '/* comment */', '/*', '*/'];
const ODD_IDENTIFIERS = ['""', '" "', '"\\\\"', '"\u0000"', '"🙂"', '"a\\"b"', '_', '"x\n"', `"${'i'.repeat(5000)}"`, '`tick`', 'SELECT', '"SELECT"'];
const HUGE_LITERALS = ['9'.repeat(400), '1e400', '99999999999999999999h', `'${'s'.repeat(100_000)}'`, '-9223372036854775809', '0.000000000000000000000000001', "'2023-13-45T99:99:99Z'"];

/** One token-level mutation: drop, swap, duplicate, insert a breaking token, odd identifier, huge literal, deep parentheses. */
export function mutateInfluxql(rng: Prng, text: string): string {
  const tokens = text.match(TOKEN) ?? [''];
  const at = rng.int(0, tokens.length - 1);
  switch (rng.int(0, 6)) {
    case 0:
      tokens.splice(at, 1);
      break;
    case 1: {
      const other = rng.int(0, tokens.length - 1);
      [tokens[at], tokens[other]] = [tokens[other]!, tokens[at]!];
      break;
    }
    case 2:
      tokens.splice(at, 0, ...Array<string>(rng.int(1, 30)).fill(tokens[at]!));
      break;
    case 3:
      tokens.splice(at, 0, rng.pick(QL_INSERTS));
      break;
    case 4:
      tokens[at] = rng.pick(ODD_IDENTIFIERS);
      break;
    case 5:
      tokens.splice(at, 0, rng.pick(HUGE_LITERALS));
      break;
    default: {
      const depth = rng.pick([10, 100, 1000, 20_000]);
      tokens.splice(at, 0, '('.repeat(depth), rng.pick(['v', '1', 'SELECT v FROM fz_m0']), rng.chance(0.8) ? ')'.repeat(depth) : '');
    }
  }
  return tokens.join('');
}

/** 1-4 statements from the grammar joined with `;`, mutated more often than not. `databases` may appear in SELECT and SHOW only. */
export function influxqlText(rng: Prng, databases: readonly string[]): string {
  const statements = Array.from({ length: rng.weighted([[70, 1], [20, 2], [10, rng.int(3, 4)]] as const) }, () =>
    rng.weighted([[45, () => selectStatement(rng, databases)], [25, () => showStatement(rng, databases)], [30, () => ddlStatement(rng)]] as const)(),
  );
  let text = statements.join(rng.pick(['; ', ';', ';\n', ' ;; ']));
  if (rng.chance(0.1)) text += ';';
  if (rng.chance(0.6)) for (let i = rng.int(1, 3); i > 0; i--) text = mutateInfluxql(rng, text);
  if (rng.chance(0.05)) text = mutateBytesTimes(rng, Buffer.from(text), 1).toString('latin1');
  return text.slice(0, MAX_FUZZ_BODY / 2);
}

/** Statements that change or remove data or metadata; with one of these in a query, the protected database is kept out. */
const CHANGING = /drop|delete|alter|into|shard|kill|grant|revoke|create|set/i;

/**
 * Keeps a query away from the database a test checks afterwards: a query
 * that could change anything (any of the keywords above, in any spelling,
 * even inside an identifier) neither names it nor runs with it as `db`.
 */
export function shieldDatabase(text: string, db: string | undefined, protectedDb: string, replacement: string): { text: string; db: string | undefined } {
  if (!CHANGING.test(text)) return { text, db };
  return { text: text.replace(new RegExp(protectedDb, 'gi'), replacement), db: db !== undefined && db.toLowerCase().includes(protectedDb.toLowerCase()) ? replacement : db };
}

/** A /query request: GET or POST (form body, URL, both), with `db`, `rp`, `epoch`, `pretty`, `chunked`, `params` now and then. */
export function queryRequest(rng: Prng, options: { path: string; databases: readonly string[]; protectedDb: string; postOnly?: boolean }): FuzzRequest {
  const dbParam = rng.chance(0.8) ? rng.weighted([[85, rng.pick(options.databases)], [15, rng.pick(['', 'fz_missing', '_internal', 'x'.repeat(300)])]] as const) : undefined;
  const shielded = shieldDatabase(influxqlText(rng, options.databases), dbParam, options.protectedDb, 'fz_d0');
  const params: Array<[string, string]> = [['q', shielded.text]];
  if (shielded.db !== undefined) params.push(['db', shielded.db]);
  if (rng.chance(0.1)) params.push(['rp', rng.pick(['autogen', 'nope', ''])]);
  if (rng.chance(0.2)) params.push(['epoch', rng.pick(['ns', 'n', 'u', 'µ', 'ms', 's', 'm', 'h', 'bogus', ''])]);
  if (rng.chance(0.1)) params.push(['pretty', rng.pick(['true', 'false', 'yes'])]);
  if (rng.chance(0.15)) params.push(['chunked', rng.pick(['true', 'false', '1'])], ...(rng.chance(0.5) ? [['chunk_size', rng.pick(['1', '2', '0', '-1', '99999999999'])] as [string, string]] : []));
  if (rng.chance(0.08)) params.push(['params', rng.pick(['{"v": 1}', '{"v": "x"}', '{', '[]', '{"v": {"a": 1}}', 'null'])]);
  if (rng.chance(0.03)) params.push(['u', 'fz_u'], ['p', rng.pick(['pw', 'wrong'])]);
  const acceptsNonJson = rng.chance(0.05);
  const headers: Record<string, string> = acceptsNonJson ? { accept: rng.pick(['application/csv', 'text/csv', 'application/x-msgpack']) } : rng.chance(0.05) ? { accept: rng.pick(['application/json', 'text/html', '*/*', '']) } : {};
  const picked = options.postOnly ? rng.pick(['form', 'form', 'form', 'url', 'both', 'raw'] as const) : rng.pick(['get', 'get', 'form', 'form', 'url', 'both', 'raw'] as const);
  // A huge statement goes in the body, as clients send it: request heads stay far below influxd's 1 MB limit.
  const mode = (picked === 'get' || picked === 'url') && shielded.text.length > 32 * 1024 ? 'form' : picked;
  if (mode === 'get') return { method: 'GET', path: options.path + queryString(rng, params), headers, body: undefined, acceptsNonJson };
  const form = (list: ReadonlyArray<readonly [string, string]>) => Buffer.from(queryString(rng, list).slice(1)).subarray(0, MAX_FUZZ_BODY);
  headers['content-type'] = mode === 'raw' ? rng.pick(['text/plain', 'application/json', '']) : rng.pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8']);
  if (mode === 'form' || mode === 'raw') return { method: 'POST', path: options.path, headers, body: form(params), acceptsNonJson };
  if (mode === 'url') return { method: 'POST', path: options.path + queryString(rng, params), headers, body: Buffer.alloc(0), acceptsNonJson };
  // Both: influxd lets the form body win; the URL carries a harmless statement.
  return { method: 'POST', path: options.path + queryString(rng, [['q', 'SHOW DATABASES']]), headers, body: form(params), acceptsNonJson };
}

// ---------------------------------------------------------------- manager JSON

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A valid registration body. */
export function registrationBody(rng: Prng): Record<string, Json> {
  return {
    name: `fz-node-${rng.int(0, 5)}`,
    hostname: rng.pick(['host-a', 'host-b', 'ünï']),
    ip: ['127.0.0.1', '::1'].slice(0, rng.int(0, 2)),
    'bind-address': `127.0.0.1:${rng.int(1024, 65535)}`,
    'proxy-address': `127.0.0.1:${rng.int(1024, 65535)}`,
    version: '0.1.0',
    stats: { cpu: rng.int(0, 100), mem: rng.next(), disk: { used: rng.int(0, 1e6) } },
  };
}

/** A valid cluster document: testDocument() with a database, a CQ, a user and a pin. */
export function clusterDocument(rng: Prng): Record<string, unknown> {
  const db = rng.pick(['fz_doc', 'fz_doc2']);
  return testDocument({
    revision: rng.int(0, 100),
    databases: {
      [db]: {
        retentionPolicies: { autogen: { name: 'autogen', duration: rng.pick([0, 3600, 86400]), shardGroupDuration: 3600, replicaN: rng.int(1, 3) } },
        defaultRetentionPolicy: 'autogen',
        continuousQueries: rng.chance(0.5) ? { cq: { name: 'cq', query: `CREATE CONTINUOUS QUERY cq ON ${db} BEGIN SELECT mean(v) INTO out FROM m GROUP BY time(1h) END` } } : {},
      },
    },
    users: rng.chance(0.5) ? { fz_user: { name: 'fz_user', admin: rng.chance(0.5), privileges: { [db]: rng.pick(['READ', 'WRITE', 'ALL']) }, password: 'v2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:AAAA' } } : {},
    settings: { replicationFactor: rng.int(1, 3), dataMembers: ['fz-node-0', 'fz-node-1'].slice(0, rng.int(0, 2)), pins: rng.chance(0.3) ? { [`${db}\u0000out`]: `${db}\u0000m` } : {}, ...(rng.chance(0.3) ? { influxdAuth: rng.chance(0.5) } : {}) },
  });
}

function nested(rng: Prng, depth: number): Json {
  let value: Json = rng.pick<Json>([1, 'x', null, {}]);
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { k: value };
  return value;
}

const ODD_VALUES: ReadonlyArray<(rng: Prng) => Json> = [
  () => null, () => true, () => 0, () => -1, () => 1.5, () => 1e308, () => 2 ** 53 + 1, () => '', () => 'x', () => [], () => ({}),
  (rng) => 'h'.repeat(rng.pick([300, 70_000, 1_000_000])),
  (rng) => nested(rng, rng.pick([5, 30, 63, 64, 65, 200])),
  (rng) => `ctl${rng.pick(['\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\n', '\r\n'])}end`,
  (rng) => String(rng.int(0, 9)),
  (rng) => Array.from({ length: rng.pick([2, 100, 10_000]) }, (_, i) => `item-${i}`),
];

/** Every object and array inside `value`, with the way to replace or delete a member. */
function containers(value: Json, out: Array<Json[] | { [key: string]: Json }> = []): Array<Json[] | { [key: string]: Json }> {
  if (typeof value === 'object' && value !== null) {
    out.push(value);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** One structural mutation in place: wrong type, null, array for object, huge string, deep nesting, unknown or `__proto__` keys, control characters. */
export function mutateJson(rng: Prng, root: Json): Json {
  const all = containers(root);
  if (all.length === 0 || rng.chance(0.03)) return rng.pick(ODD_VALUES)(rng);
  const target = rng.pick(all);
  const keys = Object.keys(target);
  const key = keys.length > 0 && rng.chance(0.8) ? rng.pick(keys) : rng.pick(['extra', 'ünknown', '', 'x'.repeat(300), '\u0000', 'toString', 'constructor']);
  const action = rng.weighted([[60, 'replace'], [15, 'delete'], [15, 'proto'], [10, 'wrap']] as const);
  const set = (value: Json) => (Array.isArray(target) ? (target[Number(key) || 0] = value) : Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true }));
  if (action === 'delete') {
    if (Array.isArray(target)) target.splice(Number(key) || 0, 1);
    else delete target[key];
  } else if (action === 'proto' && !Array.isArray(target)) {
    // An own "__proto__" key, as JSON.parse makes one: JSON.stringify writes it like any other.
    Object.defineProperty(target, rng.pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty']), { value: rng.pick<Json>([{ admin: true }, null, 'x', []]), enumerable: true, writable: true, configurable: true });
  } else if (action === 'wrap') {
    const current = (target as Record<string, Json>)[key] ?? null;
    set(rng.chance(0.5) ? [current] : { value: current });
  } else {
    set(rng.pick(ODD_VALUES)(rng));
  }
  return root;
}

/** A JSON body: `value` mutated structurally (often), serialised, then byte-mutated (sometimes); or a bare odd body. */
export function jsonBody(rng: Prng, value: unknown): Buffer {
  if (rng.chance(0.05)) return Buffer.from(rng.pick(['', ' ', 'null', '[]', '"x"', '1', '{}', '{"a":1}{"b":2}', '\ufeff{}', '[[[[[[[[', '{"a":1e999}', 'true', '{"a":"\\ud800"}', '{"name":"x","name":"y"}']));
  let root = JSON.parse(JSON.stringify(value)) as Json;
  if (rng.chance(0.75)) for (let i = rng.int(1, 3); i > 0; i--) root = mutateJson(rng, root);
  let body: Buffer = Buffer.from(JSON.stringify(root) ?? 'null');
  if (rng.chance(0.2)) body = mutateBytesTimes(rng, body, rng.int(1, 3));
  return body.subarray(0, MAX_FUZZ_BODY);
}

/** A path segment: plain mostly, else empty, percent-encoded oddities, traversal, very long, unicode. */
export function oddSegment(rng: Prng, plain: string): string {
  return rng.weighted([
    [80, encodeURIComponent(plain)],
    [20, rng.pick(['', '%', '%zz', '%00', '%2F', 'a%2Fb', '..', '.', '%2e%2e', 'ünï', encodeURIComponent('ünï 日本'), '%ff', 'x'.repeat(rng.pick([300, 5000, 20_000])), '-1', '0', '1e3', '9'.repeat(20), '1.5', ' ', '%20'])],
  ] as const);
}
