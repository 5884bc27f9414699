/**
 * Line-protocol splitter benchmark: generates --lines lines spread over
 * --measurements measurements (tags, float/integer fields, a timestamp; every
 * --string-every'th line also has a quoted string field with a space and a
 * comma, which takes the exact scanLine path), cuts them into write bodies of
 * --batch lines, and prints how many lines per second
 * splitLinesByMeasurement handles, for several rounds (the first warms up).
 *
 *   node bench/line-protocol-split.ts --lines 1000000 --measurements 100 --batch 5000
 */
import { parseArgs } from 'node:util';
import { splitLinesByMeasurement } from '../src/agent/proxy/line-protocol-splitter.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    measurements: { type: 'string', default: '100' },
    batch: { type: 'string', default: '5000' },
    'string-every': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
});
const totalLines = positive('lines', values.lines);
const measurementCount = positive('measurements', values.measurements);
const batchLines = positive('batch', values.batch);
const stringEvery = positive('string-every', values['string-every']);
const rounds = positive('rounds', values.rounds);

function positive(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${flag} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return value;
}

/** One line of a plausible Telegraf-like write; measurement i % measurementCount. */
function makeLine(i: number): string {
  const measurement = `measurement_${i % measurementCount}`;
  const tags = `,host=server${String(i % 997).padStart(4, '0')},region=eu-west-${i % 3}`;
  const text = i % stringEvery === 0 ? `,status="ok, all good ${i % 7}"` : '';
  return `${measurement}${tags} value=${(i % 1000) / 7},count=${i % 100000}i${text} ${1_700_000_000_000_000_000n + BigInt(i)}\n`;
}

const bodies: Buffer[] = [];
let bodyBytes = 0;
for (let first = 0; first < totalLines; first += batchLines) {
  const parts: string[] = [];
  for (let i = first; i < Math.min(totalLines, first + batchLines); i++) parts.push(makeLine(i));
  const body = Buffer.from(parts.join(''));
  bodies.push(body);
  bodyBytes += body.length;
}
console.log(`${totalLines} lines, ${measurementCount} measurements, ${bodies.length} bodies of ${batchLines} lines, ${(bodyBytes / 1048576).toFixed(1)} MiB, node ${process.version}`);

for (let round = 1; round <= rounds; round++) {
  let lines = 0;
  let groups = 0;
  const started = process.hrtime.bigint();
  for (const body of bodies) {
    const result = splitLinesByMeasurement(body);
    lines += result.lineCount;
    groups += result.groups.size;
    if (result.invalid.length > 0) throw new Error(`unexpected invalid line: ${JSON.stringify(result.invalid[0])}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (lines !== totalLines) throw new Error(`split ${lines} lines, expected ${totalLines}`);
  const perThousand = ((seconds * 1000) / totalLines) * 1000;
  console.log(
    `round ${round}: ${Math.round(lines / seconds).toLocaleString('en-US')} lines/s, ` +
      `${(bodyBytes / 1048576 / seconds).toFixed(0)} MiB/s, ${perThousand.toFixed(3)} ms per 1,000 lines, ` +
      `${(groups / bodies.length).toFixed(0)} groups per body${round === 1 ? ' (warm-up)' : ''}`,
  );
}
