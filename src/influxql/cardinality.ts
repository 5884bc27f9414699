import { InfluxqlLexer } from './influxql-lexer.ts';
import type { StatementResult } from './query-result.ts';

/**
 * SHOW ... CARDINALITY across nodes that each hold some measurements whole
 * (a unit is a measurement; replicas hold the same). What influxd 1.6
 * answers, and how it is rebuilt from every node's per-measurement figures:
 *
 * - SERIES, TAG KEY, TAG VALUES, FIELD KEY with EXACT, FROM or WHERE (and
 *   TAG/FIELD forms always): one `count` per measurement (and per GROUP BY
 *   tags), taken from one node each (the largest, should a replica lag);
 * - SERIES without EXACT, FROM and WHERE: one `cardinality estimation`, the
 *   sum of the exact per-measurement figures (an exact figure where influxd
 *   estimates; docs/data-plane.md);
 * - MEASUREMENT: the number of measurements that have matching series (one
 *   `count`, or a `cardinality estimation` without EXACT, FROM, WHERE and GROUP BY;
 *   per GROUP BY tags a row without a name), from the nodes' SHOW SERIES
 *   EXACT CARDINALITY with the same clauses.
 */
export interface CardinalityPlan {
  /** The statement every node answers. */
  fanOut: string;
  shape: 'per-measurement' | 'series-estimate' | 'measurements';
  /** Column name of a single figure. */
  column: 'count' | 'cardinality estimation';
}

export function cardinalityPlan(statement: string): CardinalityPlan {
  const lexer = new InfluxqlLexer(statement);
  const words: Array<{ value: string; start: number; end: number }> = [];
  let clauses = false;
  for (let token = lexer.next(); token.type !== 'eof'; token = lexer.next()) {
    if (token.type === 'keyword') {
      if (words.length < 5 && !words.some((word) => word.value === 'CARDINALITY')) words.push({ value: token.value, start: token.start, end: token.end });
      else if (token.value === 'FROM' || token.value === 'WHERE' || token.value === 'GROUP') clauses = true;
    }
  }
  const kind = words[1]?.value;
  const exact = words.some((word) => word.value === 'EXACT');
  const cardinality = words.find((word) => word.value === 'CARDINALITY');
  const rest = cardinality ? statement.slice(cardinality.end) : '';
  if (kind === 'MEASUREMENT') return { fanOut: `SHOW SERIES EXACT CARDINALITY${rest}`, shape: 'measurements', column: exact || clauses ? 'count' : 'cardinality estimation' };
  if (kind === 'SERIES' && !exact && !clauses) return { fanOut: `SHOW SERIES EXACT CARDINALITY${rest}`, shape: 'series-estimate', column: 'cardinality estimation' };
  return { fanOut: statement, shape: 'per-measurement', column: 'count' };
}

type Row = { name?: string; tags?: Record<string, string>; count: number };

/** The merged answer, from every node's answer to `plan.fanOut`. */
export function mergeCardinality(plan: CardinalityPlan, results: readonly StatementResult[]): StatementResult {
  const perMeasurement = new Map<string, Row>();
  for (const result of results) {
    for (const series of result.series ?? []) {
      const count = Number(series.values?.[0]?.[0] ?? 0);
      const key = JSON.stringify([series.name ?? '', tagsKey(series.tags)]);
      const known = perMeasurement.get(key);
      if (!known || known.count < count) perMeasurement.set(key, { ...(series.name !== undefined ? { name: series.name } : {}), ...(series.tags ? { tags: series.tags } : {}), count });
    }
  }
  const rows = [...perMeasurement.values()];
  if (plan.shape === 'series-estimate') return { statement_id: 0, series: [{ columns: [plan.column], values: [[rows.reduce((sum, row) => sum + row.count, 0)]] }] };
  if (plan.shape === 'measurements') {
    const grouped = rows.some((row) => row.tags !== undefined);
    if (!grouped) return { statement_id: 0, series: [{ columns: [plan.column], values: [[new Set(rows.map((row) => row.name)).size]] }] };
    const byTags = new Map<string, { tags: Record<string, string>; names: Set<string | undefined> }>();
    for (const row of rows) {
      const key = tagsKey(row.tags);
      const entry = byTags.get(key) ?? { tags: row.tags ?? {}, names: new Set() };
      entry.names.add(row.name);
      byTags.set(key, entry);
    }
    const ordered = [...byTags.entries()].sort(([a], [b]) => compare(a, b));
    return { statement_id: 0, series: ordered.map(([, entry]) => ({ tags: entry.tags, columns: [plan.column], values: [[entry.names.size]] })) };
  }
  rows.sort((a, b) => compare(a.name ?? '', b.name ?? '') || compare(tagsKey(a.tags), tagsKey(b.tags)));
  if (rows.length === 0) return { statement_id: 0 };
  return { statement_id: 0, series: rows.map((row) => ({ ...(row.name !== undefined ? { name: row.name } : {}), ...(row.tags ? { tags: row.tags } : {}), columns: ['count'], values: [[row.count]] })) };
}

/** Tags in key order, values kept, as influxd orders grouped series. */
function tagsKey(tags: Record<string, string> | undefined): string {
  return tags ? Object.keys(tags).sort().map((key) => `${key}\u0000${tags[key]}`).join('\u0001') : '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
