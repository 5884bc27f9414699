import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  countLines,
  INVALID_LINE_MAX_CHARS,
  joinChunks,
  describeInvalidLines,
  splitLinesByMeasurement,
} from '../../src/agent/proxy/line-protocol-splitter.ts';
import type { SplitOptions, SplitResult } from '../../src/agent/proxy/line-protocol-splitter.ts';

/** Split a string body; groups as { measurement: text } and invalid lines as [lineNumber, reason, line]. */
function split(text: string, options?: SplitOptions): { groups: Record<string, string>; invalid: [number, string, string][]; lineCount: number } {
  const result: SplitResult = splitLinesByMeasurement(Buffer.from(text), options);
  const groups: Record<string, string> = {};
  let grouped = 0;
  for (const [key, group] of result.groups) {
    assert.equal(group.measurement, key);
    assert.ok(group.body.toString().endsWith('\n'), `group ${key} ends with a newline`);
    groups[key] = group.body.toString();
    grouped += group.lineCount;
  }
  assert.equal(grouped + result.invalid.length, result.lineCount);
  // Every body split in these tests also checks the count of bodies sent on unsplit.
  if (!options?.stripCarriageReturns) assert.equal(countLines(Buffer.from(text)), result.lineCount, `countLines of ${JSON.stringify(text)}`);
  return { groups, invalid: result.invalid.map((bad) => [bad.lineNumber, bad.reason, bad.line]), lineCount: result.lineCount };
}

test('split: lines are grouped by measurement, in order, with their original bytes', () => {
  const result = split('cpu,host=a usage=1 1\nmem,host=a used=2i 1\ncpu,host=b usage=3 1\n  disk free=4\nmem used=5i\n');
  assert.deepEqual(result.groups, {
    cpu: 'cpu,host=a usage=1 1\ncpu,host=b usage=3 1\n',
    mem: 'mem,host=a used=2i 1\nmem used=5i\n',
    disk: '  disk free=4\n',
  });
  assert.deepEqual(Object.keys(result.groups), ['cpu', 'mem', 'disk']);
  assert.equal(result.lineCount, 5);
  assert.deepEqual(result.invalid, []);
});

test('split: escaped commas, spaces, = and " in measurements are unescaped like influxd Point.Name()', () => {
  const result = split(
    'cpu\\ load,host=a v=1\n"cpu load" v=2\ncpu\\,x v=3\nm\\=x v=4\nm=x v=5\nm\\"y v=6\nm"y v=7\ncpu\\ load v=8\n',
  );
  assert.deepEqual(result.groups, {
    'cpu load': 'cpu\\ load,host=a v=1\ncpu\\ load v=8\n',
    '"cpu': '"cpu load" v=2\n',
    'cpu,x': 'cpu\\,x v=3\n',
    'm=x': 'm\\=x v=4\nm=x v=5\n',
    'm"y': 'm\\"y v=6\nm"y v=7\n',
  });
});

test('split: a backslash escapes the next byte, so \\\\ is not an escaped backslash (influxd 1.6)', () => {
  const result = split('cpu\\\\x v=1\ncpu\\x v=2\ncpu\\\\ v=3\ncpu\\\\,t=1 v=4\ncpu\\\n');
  assert.deepEqual(result.groups, {
    'cpu\\\\x': 'cpu\\\\x v=1\n', // both backslashes stay in the name
    'cpu\\x': 'cpu\\x v=2\n',
    'cpu\\,t=1': 'cpu\\\\,t=1 v=4\n', // the comma is escaped by the second backslash
  });
  assert.deepEqual(result.invalid, [
    [3, 'missing fields', 'cpu\\\\ v=3'], // the space is escaped: no fields
    [5, 'missing fields', 'cpu\\'],
  ]);
});

test('split: escapes in tags do not end the series key', () => {
  const result = split('cpu,host=a\\ b,dc=x\\,y v=1\ncpu,a\\=b=c\\=d v=2\ncpu,a\\ b=c\\ d\\,e v=3\nmem,k=v\\ \\ w v=4\n');
  assert.deepEqual(result.groups, {
    cpu: 'cpu,host=a\\ b,dc=x\\,y v=1\ncpu,a\\=b=c\\=d v=2\ncpu,a\\ b=c\\ d\\,e v=3\n',
    mem: 'mem,k=v\\ \\ w v=4\n',
  });
  assert.deepEqual(split('cpu,host=a\\ b\\ c\n').invalid, [[1, 'missing fields', 'cpu,host=a\\ b\\ c']]);
});

test('split: quoted field values may hold spaces, commas, =, escaped quotes and newlines', () => {
  const body = [
    'log,app=x msg="a b, c=d" 1',
    'log msg="say \\"hi\\", ok",n=1i',
    'log msg="first\nsecond\\nthird",level="warn"',
    'mem v=2',
    'bad',
  ].join('\n');
  const result = split(body);
  assert.deepEqual(result.groups, {
    log: 'log,app=x msg="a b, c=d" 1\nlog msg="say \\"hi\\", ok",n=1i\nlog msg="first\nsecond\\nthird",level="warn"\n',
    mem: 'mem v=2\n',
  });
  // The string with a real newline spans physical lines 3 and 4, so `bad` is physical line 6.
  assert.deepEqual(result.invalid, [[6, 'missing fields', 'bad']]);
  assert.equal(result.lineCount, 5);
});

test('split: an unterminated string runs to the end of the body, as in influxd', () => {
  const result = split('a v=1\nr s="open\nq v=2\nq v=3');
  assert.deepEqual(result.groups, { a: 'a v=1\n', r: 'r s="open\nq v=2\nq v=3\n' });
  // The body's last \n is then part of the line; influxd strips it from the line like a line end.
  assert.deepEqual(split('r s="open\nq v=2\n').groups, { r: 'r s="open\nq v=2\n' });
  assert.deepEqual(split('a v=1\n,x s="open\nq v=2\n').invalid, [[2, 'missing measurement', ',x s="open\nq v=2']]);
});

test('split: a backslash before the newline joins two physical lines (influxd scanLine)', () => {
  const result = split('a\\\nb v=1\nc v=2\n');
  assert.deepEqual(result.groups, { 'a\\\nb': 'a\\\nb v=1\n', c: 'c v=2\n' });
});

test('split: comments, blank lines, blanks and NUL bytes are skipped', () => {
  const result = split('# header\n\ncpu v=1\n   \n\t\n  # indented comment\n\0\0\ncpu v=2\n#\n \t\0mem v=3\n\n\n');
  assert.deepEqual(result.groups, { cpu: 'cpu v=1\ncpu v=2\n', mem: ' \t\0mem v=3\n' });
  assert.equal(result.lineCount, 3);
  assert.deepEqual(split('').groups, {});
  assert.deepEqual(split('\n\n# only comments\n').groups, {});
  assert.equal(split('\n\n').lineCount, 0);
});

test('split: CRLF bodies keep their \\r by default, as influxd sees them', () => {
  const result = split('cpu v=1\r\n\r\nmem,h=a v=2\r\n# c\r\n');
  assert.deepEqual(result.groups, { cpu: 'cpu v=1\r\n', mem: 'mem,h=a v=2\r\n' });
  // influxd answers `unable to parse '\r': missing fields` for the \r-only line.
  assert.deepEqual(result.invalid, [[2, 'missing fields', '\r']]);
});

test('split: stripCarriageReturns drops the \\r that ends a line and skips \\r-only lines', () => {
  const options = { stripCarriageReturns: true };
  const result = split('cpu v=1\r\n\r\nmem,h=a v=2\r\ncpu v=3\r\n  \r\ncpu\r\ndisk v=4\r', options);
  assert.deepEqual(result.groups, { cpu: 'cpu v=1\ncpu v=3\n', mem: 'mem,h=a v=2\n', disk: 'disk v=4\n' });
  assert.deepEqual(result.invalid, [[6, 'missing fields', 'cpu']]);
  assert.deepEqual(split('a s="x\r\ny"\r\n', options).groups, { a: 'a s="x\r\ny"\n' });
});

test('split: unicode measurement names', () => {
  const result = split('温度,房间=客厅 值=21.5\ncafé v=1\n温度 值=22\n🌡\\ sensor v=3\nΣ');
  assert.deepEqual(result.groups, {
    温度: '温度,房间=客厅 值=21.5\n温度 值=22\n',
    café: 'café v=1\n',
    '🌡 sensor': '🌡\\ sensor v=3\n',
  });
  assert.deepEqual(result.invalid, [[5, 'missing fields', 'Σ']]);
});

test('split: a last line without a newline gets one in its group', () => {
  assert.deepEqual(split('cpu v=1\ncpu v=2').groups, { cpu: 'cpu v=1\ncpu v=2\n' });
  assert.deepEqual(split('cpu v=1\nmem v=2\ncpu v=3').groups, { cpu: 'cpu v=1\ncpu v=3\n', mem: 'mem v=2\n' });
  assert.deepEqual(split('cpu v=1').groups, { cpu: 'cpu v=1\n' });
});

test('split: lines influxd refuses for their series key are reported with line numbers and its wording', () => {
  const body = [
    'cpu v=1', //  1
    'cpu', //  2
    'cpu,host=a', //  3
    ',host=a v=1', //  4
    ' value=1', //  5: the blank is skipped, `value=1` is the measurement
    'cpu ', //  6
    'cpu,host=a  \t', //  7
    'cpu,host', //  8
    'cpu,=a', //  9
    'cpu,a=b=c', // 10
    'cpu,a=', // 11
    'cpu,', // 12
    'mem v=2', // 13
    'cpu\tv=1', // 14: a tab does not end the measurement
    'cpu, ', // 15: influxd finds the bad tag before the missing fields
    'cpu,a=b,c ', // 16
  ].join('\n');
  const result = split(body);
  assert.deepEqual(result.groups, { cpu: 'cpu v=1\n', mem: 'mem v=2\n' });
  assert.deepEqual(result.invalid, [
    [2, 'missing fields', 'cpu'],
    [3, 'missing fields', 'cpu,host=a'],
    [4, 'missing measurement', ',host=a v=1'],
    [5, 'missing fields', 'value=1'],
    [6, 'invalid field format', 'cpu '],
    [7, 'invalid field format', 'cpu,host=a  \t'],
    [8, 'missing tag value', 'cpu,host'],
    [9, 'missing tag key', 'cpu,=a'],
    [10, 'invalid tag format', 'cpu,a=b=c'],
    [11, 'missing tag value', 'cpu,a='],
    [12, 'missing tag key', 'cpu,'],
    [14, 'missing fields', 'cpu\tv=1'],
    [15, 'missing tag key', 'cpu, '],
    [16, 'missing tag value', 'cpu,a=b,c '],
  ]);
  assert.equal(result.lineCount, 16);
});

test('split: lines with a bad tag but fields go to influxd, which reports them itself', () => {
  const result = split('cpu,host v=1\ncpu,=a v=1\ncpu,a=b,a=c v=1\ncpu v=1 bad\n');
  assert.deepEqual(result.groups, { cpu: 'cpu,host v=1\ncpu,=a v=1\ncpu,a=b,a=c v=1\ncpu v=1 bad\n' });
  assert.deepEqual(result.invalid, []);
});

test('describeInvalidLines: the same text influxd answers (before its partial-write wrapper)', () => {
  const result = splitLinesByMeasurement(Buffer.from('a value=1\nb\nc value=2\n,x=1 y=2\n d'));
  // influxd 1.6.7: partial write: unable to parse 'b': missing fields\nunable to parse ',x=1 y=2': missing measurement\nunable to parse 'd': missing fields dropped=0
  assert.equal(
    describeInvalidLines(result.invalid),
    "unable to parse 'b': missing fields\nunable to parse ',x=1 y=2': missing measurement\nunable to parse 'd': missing fields",
  );
});

test('split: long invalid lines are cut to 200 characters', () => {
  const long = `${'é'.repeat(300)},t=1`;
  const [bad] = splitLinesByMeasurement(Buffer.from(`ok v=1\n${long}\n`)).invalid;
  assert.equal(bad?.line.length, INVALID_LINE_MAX_CHARS);
  assert.equal(bad?.line, 'é'.repeat(200));
  assert.equal(bad?.lineNumber, 2);
});

test('split: a body of one measurement is returned as a view, interleaved lines as a copy', () => {
  const body = Buffer.from('cpu v=1\ncpu v=2\ncpu v=3\n');
  const group = splitLinesByMeasurement(body).groups.get('cpu');
  assert.ok(group);
  assert.equal(group.body.buffer, body.buffer);
  assert.equal(group.body.byteOffset, body.byteOffset);
  assert.equal(group.body.length, body.length);
  const mixed = splitLinesByMeasurement(Buffer.from('cpu v=1\nmem v=1\ncpu v=2\n')).groups.get('cpu');
  assert.equal(mixed?.body.toString(), 'cpu v=1\ncpu v=2\n');
  assert.equal(mixed?.lineCount, 2);
});

test('split: many measurements with colliding-looking names stay apart', () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(`m${i % 1000},i=${i} v=${i}`);
  const result = splitLinesByMeasurement(Buffer.from(lines.join('\n')));
  assert.equal(result.groups.size, 1000);
  assert.equal(result.lineCount, 3000);
  assert.equal(result.groups.get('m7')?.body.toString(), 'm7,i=7 v=7\nm7,i=1007 v=1007\nm7,i=2007 v=2007\n');
});

// Linear time shows as finishing at all (a quadratic scan of these bodies would hit the test
// timeout); the splitter's speed is measured by `npm run bench:split`, not asserted here.
test('split: bodies without spaces or quotes after a point stay linear', () => {
  const noFields = splitLinesByMeasurement(Buffer.from(`${'cpu,a=b\n'.repeat(200_000)}mem v=1 2\n`));
  assert.equal(noFields.invalid.length, 200_000);
  assert.equal(noFields.groups.get('mem')?.lineCount, 1);
  const oneQuote = splitLinesByMeasurement(Buffer.from(`a s="x"\n${'cpu v=1\n'.repeat(200_000)}`));
  assert.equal(oneQuote.groups.get('cpu')?.lineCount, 200_000);
  const backslashes = splitLinesByMeasurement(Buffer.from('cpu,a=b\\ c\\ d v=1\\\n'.repeat(100_000)));
  assert.equal(backslashes.lineCount, 1);
});

test('countLines: the points influxd would try to store, without splitting', () => {
  assert.equal(countLines(Buffer.from('cpu v=1\ncpu v=2\nmem v=3')), 3);
  assert.equal(countLines(Buffer.from('# c\n\n  \ncpu v=1\n')), 1);
  assert.equal(countLines(Buffer.from('log msg="two\nlines" 1\ncpu v=1\n')), 2);
  assert.equal(countLines(Buffer.from('a\\\nb v=1\n')), 1);
  assert.equal(countLines(Buffer.alloc(0)), 0);
  assert.equal(countLines(Buffer.from('cpu v=1\n'.repeat(100_000))), 100_000);
});

test('joinChunks: one chunk is returned as is, several are concatenated in order', () => {
  const one = Buffer.from('a v=1\n');
  assert.equal(joinChunks([one]), one);
  assert.equal(joinChunks([one, Buffer.from('b v=2\n')]).toString(), 'a v=1\nb v=2\n');
  assert.equal(joinChunks([]).length, 0);
});

