/**
 * JSON.parse for influxd's query answers that keeps every number exactly as
 * influxd wrote it. JavaScript numbers hold integers exactly only up to 2^53:
 * parsed and written again, an int64 field (`9007199254740993`) or a
 * nanosecond time (`epoch=ns`) would come back changed. Such numbers are kept
 * as their text (`JSON.rawJSON`), which JSON.stringify writes back unchanged;
 * every number that survives the round trip stays a plain number, so code
 * that reads counts and sizes from an answer is unaffected.
 */
const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

function keepNumberText(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || rawJSON === undefined || context?.source === undefined) return value;
  return String(value) === context.source ? value : rawJSON(context.source);
}

/** Parses an influxd answer (see above); throws a SyntaxError as JSON.parse does. */
export function parseInfluxJson(text: string): unknown {
  return JSON.parse(text, keepNumberText as (key: string, value: unknown) => unknown);
}
