import type { QueryResponse, StatementResult } from '../../influxql/query-result.ts';

/** influxd's chunk size when `chunked=true` names none (or not a positive number). */
const DEFAULT_CHUNK_SIZE = 10_000;

/** The chunk size of a request with `chunked=true`, as influxd reads `chunk_size`. */
export function chunkSizeOf(params: URLSearchParams): number {
  const size = Number.parseInt(params.get('chunk_size') ?? '', 10);
  return Number.isSafeInteger(size) && size > 0 ? size : DEFAULT_CHUNK_SIZE;
}

/**
 * How influxd 1.6 streams a statement's answer with `chunked=true`:
 * `select` (SELECT, and the SHOWs it runs as selects: SERIES, FIELD KEYS,
 * CARDINALITY) cuts every series into pieces of at most `chunkSize` rows; a
 * piece is `partial` when more rows of its series follow, and its result is
 * `partial` unless it is the statement's last piece. `per-series` (SHOW TAG
 * KEYS, TAG VALUES): one line per series, no flags. `whole`: one line.
 */
export type ChunkMode = 'select' | 'per-series' | 'whole';

export function chunkModeOf(statementClass: { kind: string; show?: string }): ChunkMode {
  if (statementClass.kind === 'select') return 'select';
  if (statementClass.kind !== 'show' || statementClass.show === undefined) return 'whole';
  if (statementClass.show === 'series' || statementClass.show === 'field-keys' || statementClass.show.endsWith('cardinality')) return 'select';
  return statementClass.show === 'tag-keys' || statementClass.show === 'tag-values' ? 'per-series' : 'whole';
}

/** A merged answer as influxd streams it with `chunked=true`: one answer per piece (a JSON line, or a MessagePack map; see ChunkMode); errors are one piece. */
export function chunkedPieces(results: readonly StatementResult[], chunkSize: number, modeOf: (index: number) => ChunkMode): QueryResponse[] {
  const lines: QueryResponse[] = [];
  for (const [index, result] of results.entries()) {
    const series = result.series ?? [];
    const mode = modeOf(index);
    if (mode === 'whole' || series.length === 0 || result.error !== undefined) {
      lines.push({ results: [result] });
      continue;
    }
    if (mode === 'per-series') {
      for (const one of series) lines.push({ results: [{ statement_id: result.statement_id, series: [one] }] });
      continue;
    }
    for (const [seriesIndex, one] of series.entries()) {
      const values = one.values ?? [];
      const pieces = Math.max(1, Math.ceil(values.length / chunkSize));
      for (let piece = 0; piece < pieces; piece++) {
        const moreOfSeries = piece < pieces - 1;
        const last = !moreOfSeries && seriesIndex === series.length - 1;
        const { partial: _partial, ...rest } = one;
        const fragment = { ...rest, values: values.slice(piece * chunkSize, (piece + 1) * chunkSize), ...(moreOfSeries ? { partial: true } : {}) };
        const messages = piece === 0 && seriesIndex === 0 && result.messages ? { messages: result.messages } : {};
        lines.push({ results: [{ statement_id: result.statement_id, series: [fragment], ...messages, ...(last ? {} : { partial: true }) }] });
      }
    }
  }
  return lines;
}
