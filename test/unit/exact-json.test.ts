// influxd answers parsed and written again keep every number's text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInfluxJson } from '../../src/influxql/exact-json.ts';

test('numbers JavaScript would change keep their text; the others stay numbers', () => {
  const answer = '{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v","f"],"values":[[1700000000123456789,9223372036854775807,0.1],[-9007199254740993,-0,1e-7],[3,12,1.5e+300]]}]}]}';
  const parsed = parseInfluxJson(answer) as { results: Array<{ statement_id: number; series: Array<{ values: unknown[][] }> }> };
  assert.equal(JSON.stringify(parsed), answer);
  assert.equal(parsed.results[0]!.statement_id, 0);
  assert.deepEqual(parsed.results[0]!.series[0]!.values[2], [3, 12, 1.5e300], 'plain numbers where nothing is lost');
  assert.equal(typeof parsed.results[0]!.series[0]!.values[0]![0], 'object', 'a nanosecond time is kept as its text');
  assert.equal(JSON.stringify(parsed, null, 2).includes('9223372036854775807'), true, 'pretty output too');
  assert.throws(() => parseInfluxJson('{"a":'), SyntaxError);
});
