/**
 * InfluxQL splitter benchmark: how long splitting a 10 MB request into
 * statements takes, and inputs built to trap a backtracking scanner (long
 * unterminated literals, runs of slashes, comment openers, backslashes).
 * Each figure is the median of --rounds runs (the first warms up), with a
 * PASS/FAIL line against its target (under 1 s each on this 2-core VM).
 *
 *   node bench/influxql-split.ts [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { splitStatements } from '../src/influxql/influxql-splitter.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Math.max(1, Number(values.rounds) || 5);
const TARGET_MS = 1000;

const parts = [
  "SELECT mean(\"value\") / 2 FROM \"cpu\" WHERE host =~ /web;[0-9]+/ AND region = 'us;west' -- c;\n",
  '/* x; */ SHOW DATABASES',
  'SELECT a/b/c FROM m',
];
let tenMegabytes = '';
for (let count = 0; tenMegabytes.length < 10_000_000; count++) tenMegabytes += parts[count % parts.length] + ';';

const inputs: Array<[string, string]> = [
  ['10 MB of statements', tenMegabytes],
  ['unterminated string of escaped quotes (4 MB)', "'" + "\\'".repeat(2_000_000)],
  ['5 M slashes', 'SELECT ' + '/'.repeat(5_000_000)],
  ['2.5 M comment openers', '/*'.repeat(2_500_000)],
  ['unterminated identifier of backslashes (5 MB)', '"' + '\\'.repeat(5_000_000)],
];

let failed = false;
for (const [name, input] of inputs) {
  const times: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now();
    splitStatements(input);
    if (round > 0) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const pass = median < TARGET_MS;
  failed ||= !pass;
  console.log(`${name}: min ${times[0]!.toFixed(0)} ms, median ${median.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms (${(input.length / 1e6 / (median / 1000)).toFixed(0)} MB/s)`);
  console.log(`${pass ? 'PASS' : 'FAIL'}: ${name} split in under ${TARGET_MS} ms (median ${median.toFixed(0)} ms)`);
}
process.exitCode = failed ? 1 : 0;
