import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { decodeWriteBody, WriteBodyError } from '../../src/agent/influxd/write-body.ts';

async function decodeError(fn: () => Promise<unknown>): Promise<WriteBodyError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof WriteBodyError, `expected a WriteBodyError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected decodeWriteBody to throw');
}

test('decodeWriteBody: plain bodies pass through, gzip bodies are gunzipped', async () => {
  const text = 'cpu,host=a v=1\nmem v=2\n';
  const plain = Buffer.from(text);
  assert.equal(await decodeWriteBody(plain, undefined, 1024), plain);
  assert.equal(await decodeWriteBody(plain, '', 1024), plain);
  assert.equal(await decodeWriteBody(plain, 'identity', 1024), plain);
  assert.equal(await decodeWriteBody(plain, 'deflate', 1024), plain); // influxd reads other encodings as plain text too
  assert.equal((await decodeWriteBody(gzipSync(plain), 'gzip', 1024)).toString(), text);
  assert.equal((await decodeWriteBody(gzipSync(plain), ' GZIP ', 1024)).toString(), text);
  assert.equal((await decodeWriteBody(gzipSync(plain), 'x-gzip', 1024)).toString(), text);
  const twoMembers = Buffer.concat([gzipSync('a v=1\n'), gzipSync('b v=2\n')]);
  assert.equal((await decodeWriteBody(twoMembers, 'gzip', 1024)).toString(), 'a v=1\nb v=2\n');
  assert.equal((await decodeWriteBody(gzipSync(plain), 'gzip', plain.length)).toString(), text);
});

test('decodeWriteBody: bodies over the limit are TOO_LARGE', async () => {
  const plain = Buffer.from('cpu v=1\n'.repeat(10));
  const gzipped = await decodeError(() => decodeWriteBody(gzipSync(plain), 'gzip', plain.length - 1));
  assert.equal(gzipped.code, 'TOO_LARGE');
  assert.equal(gzipped.httpStatus, 413);
  assert.match(gzipped.message, /more than 79 bytes after gzip decoding/);
  assert.equal((await decodeError(() => decodeWriteBody(plain, undefined, plain.length - 1))).code, 'TOO_LARGE');
  await assert.rejects(decodeWriteBody(plain, undefined, 0), RangeError);
});

test('decodeWriteBody: a gzip bomb is refused without inflating it', async () => {
  // 100 MiB of zeros, compressed by streaming a reused 1 MiB buffer (about 100 KiB of gzip).
  const zeros = Buffer.alloc(1024 * 1024);
  const gzip = createGzip({ level: 9 });
  const compressed: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => compressed.push(chunk));
  const done = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  for (let i = 0; i < 100; i++) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  gzip.end();
  await done;
  const bomb = Buffer.concat(compressed);
  assert.ok(bomb.length < 1024 * 1024);

  const peakBefore = process.resourceUsage().maxRSS; // KiB
  const err = await decodeError(() => decodeWriteBody(bomb, 'gzip', 1024 * 1024));
  assert.equal(err.code, 'TOO_LARGE');
  assert.match(err.message, /more than 1048576 bytes/);
  // Inflating all of it would raise the peak RSS by about 100 MiB.
  assert.ok(process.resourceUsage().maxRSS - peakBefore < 40 * 1024, 'peak memory grew by less than 40 MiB');
});

test('decodeWriteBody: corrupted, truncated and non-gzip bodies are BAD_GZIP', async () => {
  const good = gzipSync(Buffer.from('cpu v=1\n'.repeat(100)));
  const corrupted = Buffer.from(good);
  for (let i = 12; i < 20; i++) corrupted[i] = corrupted[i]! ^ 0xff;
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 6] = badCrc[badCrc.length - 6]! ^ 1;
  for (const body of [corrupted, badCrc, good.subarray(0, good.length - 10), Buffer.from('cpu v=1\n'), Buffer.alloc(0), Buffer.concat([good, Buffer.from('junk')])]) {
    const err = await decodeError(() => decodeWriteBody(body, 'gzip', 1 << 20));
    assert.equal(err.code, 'BAD_GZIP');
    assert.equal(err.httpStatus, 400);
    assert.match(err.message, /^request body is not valid gzip \(Content-Encoding: gzip\): /);
  }
});
