import { describeInvalidLines, type InvalidLine } from './line-protocol-splitter.ts';

/**
 * The error influxd 1.6 would give for a whole write whose lines were split
 * over several owners (services/httpd/handler.go, serveWrite), from the lines
 * refused here and the 400 texts the owners answered:
 *
 * - no line parsed anywhere: the parse errors alone, no `partial write:`;
 * - a refusal by influxd's points writer (a field type conflict, a point
 *   outside the retention policy): that alone, as `partial write: <reason>
 *   dropped=N` (influxd reports the first reason and every dropped point, and
 *   no parse error then);
 * - else the parse errors as `partial write: ... dropped=0`.
 *
 * Parse errors are listed in the order of their lines in the request.
 */
export function combinedWriteError(body: Buffer, invalid: readonly InvalidLine[], ownerErrors: readonly string[], nothingStored: boolean): string {
  const parseErrors = invalid.map((bad) => ({ line: bad.line, text: describeInvalidLines([bad]) }));
  const writerRefusals: string[] = [];
  let dropped = 0;
  for (const error of ownerErrors) {
    const partial = /^partial write: ([\s\S]*) dropped=(\d+)$/.exec(error);
    const reason = partial ? partial[1]! : error;
    if (partial) dropped += Number(partial[2]);
    if (!reason.startsWith('unable to parse ')) {
      writerRefusals.push(reason);
      continue;
    }
    for (const entry of reason.split(/\n(?=unable to parse ')/)) {
      const line = /^unable to parse '([\s\S]*)': [^']*$/.exec(entry)?.[1] ?? entry;
      parseErrors.push({ line, text: entry });
    }
  }
  if (writerRefusals.length > 0) return `partial write: ${writerRefusals[0]} dropped=${dropped}`;
  const text = body.toString('latin1');
  const position = (line: string) => {
    const at = text.indexOf(Buffer.from(line).toString('latin1'));
    return at < 0 ? Number.MAX_SAFE_INTEGER : at;
  };
  const seen = new Set<string>();
  const ordered = parseErrors
    .filter((error) => !seen.has(error.text) && seen.add(error.text))
    .map((error) => ({ ...error, at: position(error.line) }))
    .sort((a, b) => a.at - b.at)
    .map((error) => error.text)
    .join('\n');
  return nothingStored ? ordered : `partial write: ${ordered} dropped=${dropped}`;
}
