/** The JSON shape of influxd 1.x `/query` answers: one type for every part that reads or builds them. */

/** A message influxd attaches to a result (e.g. deprecation warnings). */
export interface ResultMessage {
  level: string;
  text: string;
}

/** One series of a result, as influxd 1.x prints it. */
export interface ResultSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
  /** The series continues in the next chunk. */
  partial?: boolean;
}

/** The result of one statement, as influxd 1.x prints it. */
export interface StatementResult {
  statement_id: number;
  series?: ResultSeries[];
  messages?: ResultMessage[];
  /** More chunks follow for this statement. */
  partial?: boolean;
  error?: string;
}

/** A whole `/query` answer: per-statement results, or a request-level error. */
export interface QueryResponse {
  results?: StatementResult[];
  error?: string;
}

/** Rows of every series as objects keyed by column. */
export function rowsOf(result: StatementResult): Array<Record<string, unknown>> {
  return (result.series ?? []).flatMap((series) => (series.values ?? []).map((row) => Object.fromEntries(series.columns.map((column, i) => [column, row[i]]))));
}
