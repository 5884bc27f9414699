/**
 * Merging the answers of several influxd 1.6 to one statement into the
 * answer one influxd holding all the data would give. Pure functions on the
 * JSON of /query results (`{results: [StatementResult, ...]}`); pass each
 * node's WHOLE result for the statement (chunks joined first).
 *
 * What influxd 1.6.7 does, checked against a real server:
 *
 * - strings sort in byte order (UTF-8, i.e. code point order: `B` < `_u` <
 *   `a` < `m1` < `m10` < `m2` < `Ä`);
 * - SHOW MEASUREMENTS: one series `measurements`, column `name`, sorted;
 *   LIMIT/OFFSET apply to the whole list. SHOW SERIES: one series WITHOUT a
 *   name, column `key`, sorted by measurement name, then tag by tag (key,
 *   then value, unescaped; fewer tags first): `s,a=b` < `s,a\ b=c`, `m` <
 *   `m+` although `m+,` < `m,` as text; LIMIT/OFFSET over the whole list;
 * - SHOW TAG KEYS (`tagKey`), SHOW TAG VALUES (`key`, `value`), SHOW FIELD
 *   KEYS (`fieldKey`, `fieldType`): one series per measurement, measurements
 *   sorted, rows sorted by their columns in order (a field with two types
 *   in different shards is listed twice: `value float`, `value integer`);
 *   LIMIT/OFFSET apply PER MEASUREMENT, and a measurement left without rows
 *   is dropped. LIMIT 0 means no limit. SHOW TAG KEYS ignores SLIMIT/SOFFSET;
 *   measurements without tags are not listed by SHOW TAG KEYS;
 * - an empty answer is `{statement_id}` alone (no `series`);
 * - SELECT: series sorted by measurement name, then tags (values in key
 *   order), all reversed by ORDER BY time DESC; every series of a result
 *   has the same columns: with wildcards, the union over all measurements
 *   (`SELECT *`: `time` then the sorted fields and tags; missing ones null);
 *   GROUP BY * gives every series all tag keys of all measurements (missing
 *   ones ""). LIMIT/OFFSET and also SLIMIT/SOFFSET apply per measurement, so
 *   the nodes already applied them correctly;
 * - SELECT ... INTO answers one series `result`, columns `time`, `written`.
 */
import { InfluxqlLexer } from '../../influxql/influxql-lexer.ts';
import type { Token } from '../../influxql/influxql-lexer.ts';
import type { ShowKind } from '../../influxql/influxql-query-statements.ts';
import { isEnd, isKeyword } from '../../influxql/influxql-reader.ts';
import type { ResultMessage, ResultSeries, StatementResult } from '../../influxql/query-result.ts';

/** The SHOW statements whose answers {@link mergeShowResults} merges. */
export type MergeableShowKind = Extract<ShowKind, 'measurements' | 'tag-keys' | 'tag-values' | 'field-keys' | 'series'>;

/** LIMIT and OFFSET of a SHOW; missing or 0: none. */
export interface LimitOffset {
  limit?: number;
  offset?: number;
}

/**
 * Compare strings in byte order (their UTF-8 encodings), as Go and influxd
 * do; JavaScript's `<` compares UTF-16 units, which differs above U+FFFF.
 */
export function compareInfluxStrings(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Merge the answers of several nodes to the same SHOW MEASUREMENTS / TAG
 * KEYS / TAG VALUES / FIELD KEYS / SERIES, each asked WITHOUT LIMIT and
 * OFFSET (see {@link showLimitOffset}): union, duplicates removed, sorted
 * like influxd, then `options.limit` / `options.offset` applied as influxd
 * does (overall for MEASUREMENTS and SERIES, per measurement for the
 * others). The first error wins.
 */
export function mergeShowResults(kind: MergeableShowKind, results: readonly StatementResult[], options: LimitOffset = {}): StatementResult {
  const failed = firstError(results);
  if (failed !== null) return failed;
  const allSeries = results.flatMap((result) => result.series ?? []);
  let series: ResultSeries[];
  if (kind === 'measurements' || kind === 'series') {
    const rows = distinct(allSeries.flatMap((one) => (one.values ?? []).map((row) => String(row[0]))));
    const sorted = kind === 'measurements' ? rows.sort(compareInfluxStrings) : sortSeriesKeys(rows);
    const values = page(sorted, options).map((value) => [value]);
    const only: ResultSeries = kind === 'measurements' ? { name: 'measurements', columns: ['name'], values } : { columns: ['key'], values };
    series = values.length === 0 ? [] : [only];
  } else {
    series = mergePerMeasurement(allSeries, options);
  }
  return envelope(results, series);
}

/** SHOW TAG KEYS / TAG VALUES / FIELD KEYS: rows of each measurement united, sorted, paged. */
function mergePerMeasurement(allSeries: readonly ResultSeries[], options: LimitOffset): ResultSeries[] {
  const byName = new Map<string, { columns: string[]; rows: Map<string, unknown[]> }>();
  for (const one of allSeries) {
    const name = one.name ?? '';
    let entry = byName.get(name);
    if (entry === undefined) {
      entry = { columns: one.columns, rows: new Map() };
      byName.set(name, entry);
    }
    for (const row of one.values ?? []) entry.rows.set(JSON.stringify(row), row);
  }
  const merged: ResultSeries[] = [];
  for (const name of [...byName.keys()].sort(compareInfluxStrings)) {
    const entry = byName.get(name);
    if (entry === undefined) continue;
    const values = page([...entry.rows.values()].sort(compareRows), options);
    if (values.length > 0) merged.push({ name, columns: entry.columns, values });
  }
  return merged;
}

/**
 * The answers of several nodes to one SELECT whose measurements were split
 * between them (each measurement asked from one node), as one answer: all
 * series in influxd's order (measurement name, then tags; reversed with
 * `descending`, see {@link selectOrdersDescending}). Columns differing
 * between answers (wildcards) become their union, missing values null; with
 * GROUP BY *, tag keys become their union, missing ones "". The first
 * error wins; `partial` flags and messages are kept.
 *
 * Column order of a union: each answer's order is kept and ties are broken
 * in byte order; that is influxd's order for `SELECT *` and one wildcard
 * call (`count(*)`), not always for several (`mean(*), count(*)`) when
 * answers lack different fields.
 */
export function concatSeriesResults(results: readonly StatementResult[], options: { descending?: boolean } = {}): StatementResult {
  const failed = firstError(results);
  if (failed !== null) return failed;
  let series = results.flatMap((result) => result.series ?? []);
  series = unifyColumns(series);
  series = unifyTags(series);
  const direction = options.descending === true ? -1 : 1;
  const sorted = series
    .map((one, index) => ({ one, index }))
    .sort((a, b) => direction * compareSeries(a.one, b.one) || a.index - b.index)
    .map(({ one }) => one);
  return envelope(results, sorted);
}

/**
 * The top-level LIMIT and OFFSET of a statement (read with the InfluxQL
 * lexer, so quoted names, strings, regexes and subqueries do not confuse
 * it), and the statement without them, to ask every node for everything
 * and page after merging. A value that is not a safe integer is left in
 * place, for influxd to judge.
 */
export function showLimitOffset(statement: string): LimitOffset & { stripped: string } {
  const found: LimitOffset = {};
  const cuts: Array<{ start: number; end: number }> = [];
  eachTopLevelToken(statement, (token, peek) => {
    if (!isKeyword(token, 'LIMIT') && !isKeyword(token, 'OFFSET')) return;
    const value = peek();
    if (value.type !== 'integer' || !Number.isSafeInteger(Number(value.value))) return;
    found[token.value === 'LIMIT' ? 'limit' : 'offset'] = Number(value.value);
    let start = token.start;
    while (start > 0 && /\s/.test(statement.charAt(start - 1))) start--;
    cuts.push({ start, end: value.end });
  });
  let stripped = '';
  let at = 0;
  for (const cut of cuts) {
    stripped += statement.slice(at, cut.start);
    at = cut.end;
  }
  return { ...found, stripped: stripped + statement.slice(at) };
}

/** Whether a SELECT orders by time descending (top-level `ORDER BY time DESC`): influxd then reverses the series order. */
export function selectOrdersDescending(statement: string): boolean {
  let inOrderBy = false;
  let descending = false;
  eachTopLevelToken(statement, (token) => {
    if (isKeyword(token, 'ORDER')) inOrderBy = true;
    else if (inOrderBy && ['LIMIT', 'OFFSET', 'SLIMIT', 'SOFFSET'].some((word) => isKeyword(token, word))) inOrderBy = false;
    else if (inOrderBy && isKeyword(token, 'DESC')) descending = true;
  });
  return descending;
}

/** Call `visit` for each token outside parentheses; `peek()` shows the token after it (which is visited next). */
function eachTopLevelToken(statement: string, visit: (token: Token, peek: () => Token) => void): void {
  const lexer = new InfluxqlLexer(statement);
  lexer.scanRegexes = true;
  let depth = 0;
  let peeked: Token | null = null;
  const peek = (): Token => (peeked ??= lexer.next());
  for (;;) {
    const token = peeked ?? lexer.next();
    peeked = null;
    if (isEnd(token)) return;
    if (token.type === 'punctuation' && token.value === '(') depth++;
    else if (token.type === 'punctuation' && token.value === ')') depth--;
    else if (depth === 0) visit(token, peek);
  }
}

/** The first error among the results, alone, as influxd prints it. */
function firstError(results: readonly StatementResult[]): StatementResult | null {
  const failed = results.find((result) => result.error !== undefined);
  return failed === undefined ? null : { statement_id: failed.statement_id, error: failed.error ?? '' };
}

/** A merged result: statement_id of the first answer, messages (deduplicated) and partial of all. */
function envelope(results: readonly StatementResult[], series: ResultSeries[]): StatementResult {
  const merged: StatementResult = { statement_id: results[0]?.statement_id ?? 0 };
  if (series.length > 0) merged.series = series;
  const messages = new Map<string, ResultMessage>();
  for (const message of results.flatMap((result) => result.messages ?? [])) messages.set(`${message.level}\n${message.text}`, message);
  if (messages.size > 0) merged.messages = [...messages.values()];
  if (results.some((result) => result.partial === true)) merged.partial = true;
  return merged;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function page<T>(rows: readonly T[], { limit, offset }: LimitOffset): T[] {
  const from = offset !== undefined && offset > 0 ? offset : 0;
  return rows.slice(from, limit !== undefined && limit > 0 ? from + limit : undefined);
}

function compareRows(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareInfluxStrings(String(a[i]), String(b[i]));
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** A series key (`m\ b,host=a\,b`) as its unescaped measurement and tag pairs. */
interface ParsedSeriesKey {
  measurement: string;
  tags: Array<readonly [string, string]>;
}

/** Split at `separator` where it is not escaped by a backslash (which escapes any next character). */
function splitUnescaped(text: string, separator: string, max = Infinity): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < text.length && parts.length < max - 1; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === separator) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

function parseSeriesKey(key: string): ParsedSeriesKey {
  const [measurement = '', ...tagTexts] = splitUnescaped(key, ',');
  const unescapeTag = (text: string): string => text.replace(/\\([,= ])/g, '$1');
  return {
    measurement: measurement.replace(/\\([, ])/g, '$1'),
    tags: tagTexts.map((text) => {
      const [tagKey = '', tagValue = ''] = splitUnescaped(text, '=', 2);
      return [unescapeTag(tagKey), unescapeTag(tagValue)] as const;
    }),
  };
}

/** Series keys in influxd's order (tsdb.CompareSeriesKeys): measurement, then tag by tag, fewer tags first. */
function sortSeriesKeys(keys: readonly string[]): string[] {
  const parsed = new Map(keys.map((key) => [key, parseSeriesKey(key)]));
  const compare = (a: ParsedSeriesKey, b: ParsedSeriesKey): number => {
    const byName = compareInfluxStrings(a.measurement, b.measurement);
    if (byName !== 0) return byName;
    for (let i = 0; i < Math.min(a.tags.length, b.tags.length); i++) {
      const [keyA = '', valueA = ''] = a.tags[i] ?? [];
      const [keyB = '', valueB = ''] = b.tags[i] ?? [];
      const order = compareInfluxStrings(keyA, keyB) || compareInfluxStrings(valueA, valueB);
      if (order !== 0) return order;
    }
    return a.tags.length - b.tags.length;
  };
  return [...keys].sort((a, b) => {
    const parsedA = parsed.get(a);
    const parsedB = parsed.get(b);
    return parsedA === undefined || parsedB === undefined ? 0 : compare(parsedA, parsedB);
  });
}

/** influxd's series order: name, then tags as query.Tags.ID compares them (sorted keys, then values). */
function compareSeries(a: ResultSeries, b: ResultSeries): number {
  const byName = compareInfluxStrings(a.name ?? '', b.name ?? '');
  if (byName !== 0) return byName;
  const keysA = Object.keys(a.tags ?? {}).sort(compareInfluxStrings);
  const keysB = Object.keys(b.tags ?? {}).sort(compareInfluxStrings);
  const byKeys = compareRows(keysA, keysB);
  if (byKeys !== 0) return byKeys;
  return compareRows(keysA.map((key) => a.tags?.[key] ?? ''), keysB.map((key) => b.tags?.[key] ?? ''));
}

/** Give every series the union of all columns (values of missing columns null). */
function unifyColumns(series: readonly ResultSeries[]): ResultSeries[] {
  const first = series[0];
  if (first === undefined || series.every((one) => sameList(one.columns, first.columns))) return [...series];
  const columns = mergeColumnOrders(series.map((one) => one.columns));
  return series.map((one) => {
    if (sameList(one.columns, columns)) return one;
    const sourceIndex = columns.map((column) => one.columns.indexOf(column));
    const values = one.values?.map((row) => sourceIndex.map((index) => (index < 0 ? null : row[index] ?? null)));
    return rebuildSeries(one, { columns, values });
  });
}

/** With GROUP BY *, give every series all tag keys found (missing ones ""), keys in byte order. */
function unifyTags(series: readonly ResultSeries[]): ResultSeries[] {
  const keys = distinct(series.flatMap((one) => Object.keys(one.tags ?? {}))).sort(compareInfluxStrings);
  if (keys.length === 0) return [...series];
  return series.map((one) => {
    const tags: Record<string, string> = {};
    for (const key of keys) tags[key] = one.tags?.[key] ?? '';
    return rebuildSeries(one, { tags });
  });
}

/** A copy of a series with some fields replaced, keeping influxd's field order (name, tags, columns, values, partial). */
function rebuildSeries(one: ResultSeries, replace: Partial<ResultSeries>): ResultSeries {
  const merged = { ...one, ...replace };
  const rebuilt: ResultSeries = { ...(merged.name !== undefined ? { name: merged.name } : {}), ...(merged.tags !== undefined ? { tags: merged.tags } : {}), columns: merged.columns };
  if (merged.values !== undefined) rebuilt.values = merged.values;
  if (merged.partial !== undefined) rebuilt.partial = merged.partial;
  return rebuilt;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/**
 * One column order containing every list's columns in that list's order
 * (a topological merge); among columns free to come next, the smallest in
 * byte order first.
 */
function mergeColumnOrders(lists: readonly string[][]): string[] {
  const placed = new Set<string>();
  const merged: string[] = [];
  const remaining = lists.map((list) => distinct(list));
  for (;;) {
    for (let i = 0; i < remaining.length; i++) remaining[i] = (remaining[i] ?? []).filter((column) => !placed.has(column));
    const heads = distinct(remaining.flatMap((list) => (list.length > 0 ? [list[0] ?? ''] : [])));
    if (heads.length === 0) return merged;
    const free = heads.filter((head) => remaining.every((list) => list.indexOf(head) <= 0));
    const next = (free.length > 0 ? free : heads).sort(compareInfluxStrings)[0] ?? '';
    placed.add(next);
    merged.push(next);
  }
}
