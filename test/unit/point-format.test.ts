import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeepingNumbers } from '../../src/agent/repair/number-text-json.ts';
import { pointKeys, seriesToLines, type RawSeries } from '../../src/agent/repair/point-format.ts';

test('numbers keep their source text: nanosecond timestamps and int64 values are exact', () => {
  const parsed = parseKeepingNumbers('{"values":[[1700000000123456789,9223372036854775807,1.5,-3e-7,"12"]]}') as { values: unknown[][] };
  assert.deepEqual(parsed.values[0], [{ number: '1700000000123456789' }, { number: '9223372036854775807' }, { number: '1.5' }, { number: '-3e-7' }, '12']);
});

test('rows become line protocol with types, escapes and tags; null fields are left out', () => {
  const series = parseKeepingNumbers(JSON.stringify({
    tags: { host: 'a b', 'dc,1': 'x=y', empty: '' },
    columns: ['time', 'big', 'f', 'flag', 'note', 'only_null'],
    values: [[1, 2, 3.5, true, 'say "hi" \\ ok', null], [2, null, null, false, '12', null], [3, null, null, null, null, null]],
  })) as RawSeries;
  const types = new Map([['big', ['integer']], ['f', ['float']], ['flag', ['boolean']], ['note', ['string']], ['only_null', ['float']]]);
  assert.deepEqual(seriesToLines('cpu load,x', series, types), [
    'cpu\\ load\\,x,dc\\,1=x\\=y,host=a\\ b big=2i,f=3.5,flag=true,note="say \\"hi\\" \\\\ ok" 1',
    'cpu\\ load\\,x,dc\\,1=x\\=y,host=a\\ b flag=false,note="12" 2',
  ]);
  assert.deepEqual(seriesToLines('m', parseKeepingNumbers('{"columns":["time","v"],"values":[[5,5]]}') as RawSeries, new Map([['v', ['float']]])), ['m v=5 5']);
});

test('a point is known by its tags and time', () => {
  const series = { tags: { b: '2', a: '1', c: '' }, columns: ['time', 'v'], values: [[{ number: '10' }, { number: '1' }], [{ number: '11' }, { number: '2' }]] } as RawSeries;
  assert.deepEqual(pointKeys(series), ['[["a","1"],["b","2"]]\u000010', '[["a","1"],["b","2"]]\u000011']);
});
