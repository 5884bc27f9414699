import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMsgpack, encodeQueryAnswer, Float64Value, Int64Value, TimeValue } from '../../src/influxql/msgpack-answer.ts';

test('MessagePack answers round-trip with every size of header, string and integer, and keep floats, int64 and times', () => {
  const values: unknown[][] = [];
  for (const value of [0, 127, 128, -1, -32, -33, -128, -129, 32767, 32768, -32769, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER]) values.push([value]);
  values.push([new Int64Value(9223372036854775807n)], [new Float64Value(2)], [new Float64Value(0.5)], ['x'.repeat(31)], ['y'.repeat(32)], ['z'.repeat(300)], ['é'.repeat(40000)], [true], [false], [null]);
  values.push([new TimeValue(-1n, 999_999_999)], [new TimeValue(1_700_000_000n, 1)]);
  const answer = { results: [{ statement_id: 3, series: [{ name: 'm', tags: { host: 'a' }, columns: Array.from({ length: 20 }, (_, i) => `c${i}`), values, partial: true }], partial: true }, { statement_id: 4, error: 'boom' }] };
  const decoded = decodeMsgpack(encodeQueryAnswer(answer)) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> };
  assert.deepEqual(decoded.results[0]!.series![0]!.values, values);
  assert.deepEqual(decoded.results[1], { error: 'boom' });
  assert.deepEqual(decoded.results[0]!.series![0], { ...answer.results[0]!.series![0]!, values });
  assert.equal(new TimeValue(1_700_000_000n, 1).toJSON(), '2023-11-14T22:13:20.000000001Z');
  assert.equal(new TimeValue(1_700_000_000n, 500_000_000).toJSON(), '2023-11-14T22:13:20.5Z');
});

test('truncated or unknown MessagePack is an error, never a hang', () => {
  const whole = encodeQueryAnswer({ results: [{ statement_id: 0, series: [{ columns: ['a'], values: [['text']] }] }] });
  assert.throws(() => decodeMsgpack(whole.subarray(0, whole.length - 2)), /unexpected end/);
  assert.throws(() => decodeMsgpack(Buffer.from([0xc1])), /unsupported/);
  assert.equal(decodeMsgpack(encodeQueryAnswer({ error: 'no' })) !== undefined, true);
});
