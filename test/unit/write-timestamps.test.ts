import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stampMissingTimestamps, timestampIn } from '../../src/agent/proxy/write-timestamps.ts';

const stamp = (text: string) => stampMissingTimestamps(Buffer.from(text), '42').toString();

test('points without a timestamp get the one stamp; points with one, blanks and comments stay as they are', () => {
  assert.equal(stamp('cpu value=1\nmem value=2 17\n'), 'cpu value=1 42\nmem value=2 17\n');
  assert.equal(stamp('cpu value=1'), 'cpu value=1 42');
  assert.equal(stamp('cpu value=1   \nmem value=2\r\n'), 'cpu value=1 42   \nmem value=2 42\r\n');
  assert.equal(stamp('\n# a comment\n   \ncpu value=-3 -17\n'), '\n# a comment\n   \ncpu value=-3 -17\n');
  assert.equal(stamp('cpu,host=a\\ 123 value=1\n'), 'cpu,host=a\\ 123 value=1 42\n', 'an escaped space in a tag is not the timestamp separator');
  assert.equal(stamp('cpu s="text 123"\n'), 'cpu s="text 123" 42\n', 'digits at the end of a string field are not a timestamp');
  assert.equal(stamp('cpu s="text 123" 99\n'), 'cpu s="text 123" 99\n');
  assert.equal(stamp('cpu value=12\n'), 'cpu value=12 42\n', 'a number field is not a timestamp');
  assert.equal(stamp('no_fields_here\ncpu,host=a\ncpu value=\n'), 'no_fields_here\ncpu,host=a\ncpu value=\n', 'lines influxd refuses are left as sent');
  const unchanged = Buffer.from('a v=1 1\nb v=2 2\n');
  assert.equal(stampMissingTimestamps(unchanged, '42'), unchanged, 'no copy when every point has a timestamp');
});

test('the stamp is in the request precision, as influxd would stamp it', () => {
  const now = 1_700_000_000_123_456_789n;
  assert.equal(timestampIn(null, now), '1700000000123456789');
  assert.equal(timestampIn('ns', now), '1700000000123456789');
  assert.equal(timestampIn('u', now), '1700000000123456');
  assert.equal(timestampIn('ms', now), '1700000000123');
  assert.equal(timestampIn('s', now), '1700000000');
  assert.equal(timestampIn('m', now), '28333333');
  assert.equal(timestampIn('h', now), '472222');
  assert.equal(timestampIn('fortnight', now), undefined);
});
