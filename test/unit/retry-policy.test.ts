import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CfluxError, StoreUnavailableError } from '../../src/shared/errors.ts';
import { isRecoverable, isRecoverableStatus, UnavailableAnswerError } from '../../src/shared/recoverable.ts';
import { withRetries } from '../../src/shared/retry-policy.ts';

const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

test('isRecoverable: unreachable, timed out or "cannot serve now" are; verdicts and a caller\'s abort are not', () => {
  for (const err of [
    systemError('ECONNREFUSED'),
    systemError('ECONNRESET'),
    Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    new StoreUnavailableError('etcd unavailable'),
    new CfluxError('UPSTREAM_UNAVAILABLE', 'influxd is not reachable'),
    new UnavailableAnswerError(503, 'manager answered 503'),
    new Error('wrapped', { cause: systemError('EPIPE') }),
  ]) {
    assert.equal(isRecoverable(err), true, String(err));
  }
  for (const err of [
    new CfluxError('BAD_REQUEST', 'malformed JSON'),
    new CfluxError('NOT_FOUND', 'unknown node'),
    new DOMException('This operation was aborted', 'AbortError'),
    new Error('certificate has expired'),
    new TypeError('x is not a function'),
    'a string',
    undefined,
  ]) {
    assert.equal(isRecoverable(err), false, String(err));
  }
});

test('isRecoverableStatus: 5xx but 501 and 505', () => {
  assert.deepEqual([200, 204, 400, 401, 404, 409, 413, 500, 501, 502, 503, 504, 505].filter(isRecoverableStatus), [500, 502, 503, 504]);
});

test('withRetries makes the call again only for recoverable errors, up to the attempt limit', async () => {
  const policy = { attempts: 3, baseMs: 1, capMs: 1, random: () => 0 };
  const seen: number[] = [];
  const value = await withRetries(policy, async (attempt) => {
    seen.push(attempt);
    if (attempt < 2) throw systemError('ECONNREFUSED');
    return 'answered';
  });
  assert.equal(value, 'answered');
  assert.deepEqual(seen, [0, 1, 2]);

  let calls = 0;
  await assert.rejects(withRetries(policy, async () => {
    calls++;
    throw systemError('ECONNREFUSED');
  }), /ECONNREFUSED/);
  assert.equal(calls, 3, 'stops after the attempt limit');

  calls = 0;
  await assert.rejects(withRetries(policy, async () => {
    calls++;
    throw new CfluxError('BAD_REQUEST', 'no');
  }), /no/);
  assert.equal(calls, 1, 'a verdict is not retried');
});

test('withRetries stops waiting when aborted', async () => {
  const controller = new AbortController();
  const started = Date.now();
  const pending = withRetries({ attempts: 5, baseMs: 60_000, capMs: 60_000, random: () => 1 }, async () => {
    throw systemError('ECONNREFUSED');
  }, controller.signal);
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(pending, (err: unknown) => (err as Error).name === 'AbortError');
  assert.ok(Date.now() - started < 5000);
});
