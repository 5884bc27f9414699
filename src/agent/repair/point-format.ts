/**
 * Points read back from influxd (`SELECT * ... GROUP BY *`, `epoch=ns`) as
 * line protocol again, exactly: numbers are kept as influxd's own text (a
 * JSON number would lose the low digits of nanosecond timestamps and int64
 * values), integer fields get their `i`, strings their quotes, and tags,
 * keys and measurement their escapes.
 */

import type { NumberText } from './number-text-json.ts';

/** A series of a `/query` answer whose numbers are still source text (see parseKeepingNumbers). */
export interface RawSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

const isNumberText = (value: unknown): value is NumberText => typeof value === 'object' && value !== null && typeof (value as NumberText).number === 'string';
const escapeMeasurement = (name: string) => name.replace(/[, ]/g, (c) => `\\${c}`);
const escapeKey = (key: string) => key.replace(/[,= ]/g, (c) => `\\${c}`);
const escapeString = (value: string) => value.replace(/[\\"]/g, (c) => `\\${c}`);

/**
 * A field value as line protocol; undefined for null. A number is an
 * integer (`i`) when the field is an integer field and the text is whole
 * (a field with both types in different shards: whole numbers are taken as
 * integers), else a float.
 */
function fieldValue(raw: unknown, types: readonly string[] | undefined): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'boolean') return raw ? 'true' : 'false';
  if (typeof raw === 'string') return `"${escapeString(raw)}"`;
  if (!isNumberText(raw)) return undefined;
  return types?.includes('integer') && /^-?\d+$/.test(raw.number) ? `${raw.number}i` : raw.number;
}

const timeText = (value: unknown) => (isNumberText(value) ? value.number : String(value));

/**
 * One line per row of `series` (its time first, then fields), under the
 * series' tags. Rows whose fields are all null write nothing. `fieldTypes`
 * maps a field to its types, as SHOW FIELD KEYS lists them.
 */
export function seriesToLines(measurement: string, series: RawSeries, fieldTypes: ReadonlyMap<string, readonly string[]>): string[] {
  const tags = Object.entries(series.tags ?? {})
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `,${escapeKey(key)}=${escapeKey(value)}`)
    .join('');
  const key = `${escapeMeasurement(measurement)}${tags}`;
  const timeIndex = series.columns.indexOf('time');
  // Per column, once: its position, escaped name and types (rows are many, columns few).
  const columns = series.columns.flatMap((column, index) => (index === timeIndex ? [] : [{ index, prefix: `${escapeKey(column)}=`, types: fieldTypes.get(column) }]));
  const lines: string[] = [];
  for (const row of series.values ?? []) {
    let fields = '';
    for (const column of columns) {
      const value = fieldValue(row[column.index], column.types);
      if (value !== undefined) fields += (fields === '' ? '' : ',') + column.prefix + value;
    }
    if (fields !== '') lines.push(`${key} ${fields} ${timeText(row[timeIndex])}`);
  }
  return lines;
}

/** The identity of a point in a series: its tags and time (what influxd overwrites on). */
export function pointKeys(series: RawSeries): string[] {
  const tags = JSON.stringify(Object.entries(series.tags ?? {}).filter(([, value]) => value !== '').sort());
  const timeIndex = series.columns.indexOf('time');
  return (series.values ?? []).map((row) => `${tags}\u0000${timeText(row[timeIndex])}`);
}
