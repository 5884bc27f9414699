// The repair's JSON parser against JSON.parse (with a reviver keeping number
// source text, the reference): the same value for every input JSON.parse
// takes, an error for every input it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeepingNumbers } from '../../src/agent/repair/number-text-json.ts';

function reference(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => (typeof value === 'number' ? { number: context!.source } : value));
}

function outcome(parse: (text: string) => unknown, text: string): { value?: unknown; error?: boolean } {
  try {
    return { value: parse(text) };
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `a SyntaxError, not ${String(err)}`);
    return { error: true };
  }
}

function check(text: string): void {
  const expected = outcome(reference, text);
  const actual = outcome(parseKeepingNumbers, text);
  assert.deepEqual(actual, expected, `input ${JSON.stringify(text)}`);
}

test('influxd answers: numbers keep their text (nanosecond times, int64), strings that look like numbers stay strings', () => {
  const answer = '{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a\\"b"},"columns":["time","v","s"],"values":[[1700000000123456789,9223372036854775807,"12"],[-1,1.5e-7,null],[0,true,false]]}]}]}';
  check(answer);
  const parsed = parseKeepingNumbers(answer) as { results: Array<{ series: Array<{ values: unknown[][] }> }> };
  assert.deepEqual(parsed.results[0]!.series[0]!.values[0], [{ number: '1700000000123456789' }, { number: '9223372036854775807' }, '12']);
});

test('edge cases agree with JSON.parse', () => {
  const cases = [
    '', ' ', '0', '-0', '01', '1.', '.5', '-', '+1', '1e', '1e+', '1E-2', '2.50', '[1,]', '[,1]', '[]', '{}', '{"a":1,}', '{"a" 1}', '{1:2}',
    '"a', '"\\u00e9"', '"\\x"', '"\\u12"', '"tab\there"', '"\\ud800"', 'tru', 'true ', ' null', 'nul', '[true,false,null]', '{"__proto__":{"x":1}}',
    '{"a":1,"a":2}', '[1] [2]', '"\u2028"', '\ufeff1', '[1\n,\r2\t]', '{"a":[{"b":[[]]}]}', `${'['.repeat(100)}1${']'.repeat(100)}`,
  ];
  for (const text of cases) check(text);
  // Beyond 512 levels it refuses (JSON.parse would go on): no influxd answer nests so deep.
  assert.throws(() => parseKeepingNumbers(`${'['.repeat(600)}${']'.repeat(600)}`), /nested too deeply/);
  assert.throws(() => parseKeepingNumbers('['.repeat(1_000_000)), /nested too deeply/);
});

test('generated inputs, valid and broken, agree with JSON.parse', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const generate = (depth: number): unknown => {
    const kind = depth > 3 ? pick(['n', 's', 'b']) : pick(['n', 's', 'b', 'a', 'o']);
    if (kind === 'n') return pick([0, -1, 1.5, 1e21, 123456789, -0.000123, 2 ** 53 + 1]);
    if (kind === 's') return pick(['', 'x', 'a"b', 'back\\slash', 'line\nbreak', '12', 'é', '\u0001']);
    if (kind === 'b') return pick([true, false, null]);
    if (kind === 'a') return Array.from({ length: Math.floor(random() * 4) }, () => generate(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [pick(['k', 'time', `f${i}`, '']), generate(depth + 1)]));
  };
  for (let i = 0; i < 3000; i++) {
    let text = JSON.stringify(generate(0)).replace(/2\.?\d*e\+21|1e\+21/, pick(['1e+21', '1E21', '12345678901234567890']));
    if (random() < 0.5) {
      // Break it: cut it short, drop or insert a character.
      const at = Math.floor(random() * (text.length + 1));
      text = pick([text.slice(0, at), text.slice(0, at) + text.slice(at + 1), text.slice(0, at) + pick([',', ']', '}', '"', ':', '0', '\\', ' ', '\u0000']) + text.slice(at)]);
    }
    check(text);
  }
});
