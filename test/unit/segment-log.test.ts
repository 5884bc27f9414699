import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SegmentLog } from '../../src/agent/handoff/segment-log.ts';

const temp = () => mkdtemp(join(tmpdir(), 'cflux-segment-log-'));
const texts = (records: Array<{ payload: Buffer }>) => records.map((record) => record.payload.toString());

test('records come back in order across segments; consumed segments are deleted', async () => {
  const dir = await temp();
  const log = await SegmentLog.open(dir, { maxSegmentBytes: 64 });
  await log.append([Buffer.from('one'), Buffer.from('two')]);
  // Concurrent appends share one write and one fsync (group commit); these come one after another.
  for (let i = 0; i < 10; i++) await log.append([Buffer.from(`r${i}`.padEnd(20, '.'))]);
  assert.equal(log.pendingRecords, 12);
  assert.ok((await readdir(dir)).filter((name) => name.endsWith('.seg')).length > 2, 'small segments roll over');
  const first = await log.read(3, 1 << 20);
  assert.deepEqual(texts(first), ['one', 'two', 'r0'.padEnd(20, '.')]);
  assert.deepEqual(texts(await log.read(3, 1 << 20)), texts(first), 'reading does not consume');
  await log.consume(first.at(-1)!.next, first.length, first.reduce((sum, record) => sum + record.size, 0));
  const rest = await log.read(100, 1 << 20);
  assert.equal(rest.length, 9);
  await log.consume(rest.at(-1)!.next, rest.length, rest.reduce((sum, record) => sum + record.size, 0));
  assert.equal(log.pendingRecords, 0);
  assert.equal(log.pendingBytes, 0);
  assert.deepEqual(await log.read(10, 1 << 20), []);
  assert.equal((await readdir(dir)).filter((name) => name.endsWith('.seg')).length, 1, 'only the segment appended to is left');
  await log.close();
  await log.close();
});

test('after a restart the log continues from the saved cursor; a torn tail is cut off', async () => {
  const dir = await temp();
  let log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  await log.append(['a', 'b', 'c'].map((text) => Buffer.from(text)));
  const [a] = await log.read(1, 1 << 20);
  await log.consume(a!.next, 1, a!.size);
  await log.close();
  const segment = join(dir, (await readdir(dir)).find((name) => name.endsWith('.seg'))!);
  await appendFile(segment, Buffer.from([0, 0, 0, 50, 1, 2, 3, 4, 9, 9])); // a record cut short by a crash
  const seen: string[] = [];
  log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20, onRecord: (payload) => seen.push(payload.toString()) });
  assert.deepEqual(seen, ['b', 'c'], 'only the unread whole records are seen');
  assert.equal(log.pendingRecords, 2);
  await log.append([Buffer.from('d')]);
  assert.deepEqual(texts(await log.read(10, 1 << 20)), ['b', 'c', 'd']);
  await log.close();
});

test('a damaged record in the middle is cut off on open, never crashing or blocking', async () => {
  const dir = await temp();
  let log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  await log.append(['first', 'second', 'third'].map((text) => Buffer.from(text)));
  await log.close();
  const segment = join(dir, (await readdir(dir)).find((name) => name.endsWith('.seg'))!);
  const size = (await stat(segment)).size;
  await truncate(segment, size - 2);
  log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  assert.deepEqual(texts(await log.read(10, 1 << 20)), ['first', 'second']);
  await log.close();
});

test('dropping the oldest segment loses only its unread records and says how many', async () => {
  const dir = await temp();
  const log = await SegmentLog.open(dir, { maxSegmentBytes: 40 });
  for (let i = 0; i < 6; i++) await log.append([Buffer.from(`record-${i}`.padEnd(12, '_'))]);
  const before = log.pendingRecords;
  const dropped = await log.dropOldest();
  assert.ok(dropped.records >= 1 && dropped.bytes > 0);
  assert.equal(log.pendingRecords, before - dropped.records);
  const left = texts(await log.read(10, 1 << 20));
  assert.equal(left.length, before - dropped.records);
  assert.equal(left.at(-1), 'record-5'.padEnd(12, '_'), 'the newest records stay');
  await log.close();
});

test('appends made at the same time share one flush, and all of them are durable when they resolve', async () => {
  const dir = await temp();
  const log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([Buffer.from(`c${i}`)])));
  await log.close();
  const reopened = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  assert.equal(reopened.pendingRecords, 50);
  assert.deepEqual(new Set(texts(await reopened.read(100, 1 << 20))), new Set(Array.from({ length: 50 }, (_, i) => `c${i}`)));
  await reopened.close();
});

test('a read stays within its byte budget (one record at least), so the next read starts on a record boundary', async () => {
  const dir = await temp();
  const log = await SegmentLog.open(dir, { maxSegmentBytes: 1 << 20 });
  await log.append(['a', 'b', 'c', 'd'].map((letter) => Buffer.from(letter.repeat(100))));
  const first = await log.read(100, 250); // two records of 108 bytes fit, a third would not
  assert.equal(first.length, 2);
  await log.consume(first.at(-1)!.next, first.length, first.reduce((sum, record) => sum + record.size, 0));
  assert.deepEqual(texts(await log.read(100, 50)).map((text) => text[0]), ['c'], 'a record over the budget still comes alone');
  await log.close();
});
