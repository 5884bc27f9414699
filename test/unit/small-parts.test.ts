import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { backoffDelay } from '../../src/shared/backoff.ts';
import { formatPrettyLine } from '../../src/shared/logging.ts';
import { Router } from '../../src/shared/http/router.ts';
import { CFLUX_VERSION } from '../../src/shared/version.ts';
import { parseHeartbeat, parseNodeId, parseRegistration } from '../../src/manager/api/node-json.ts';
import { CfluxError } from '../../src/shared/errors.ts';

test('backoff: exponential ceiling, capped, full jitter', () => {
  const top = () => 0.999999;
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoffDelay(n, { baseMs: 100, capMs: 1000, random: top })), [99, 199, 399, 799, 999]);
  assert.equal(backoffDelay(5, { baseMs: 100, capMs: 1000, random: () => 0 }), 0);
  assert.equal(backoffDelay(2, { baseMs: 100, capMs: 1000, random: () => 0.5 }), 200);
  assert.equal(backoffDelay(5000, { baseMs: 100, capMs: 1000, random: top }), 999);
});

test('router: decoded params, 404, 405, bad encoding', () => {
  const router = new Router().add('GET', '/nodes/:cluster', async () => ({ status: 200 })).add('PUT', '/nodes/:cluster/:id', async () => ({ status: 200 }));
  const match = router.match('GET', '/nodes/a%2Fb%20%C3%BC');
  assert.ok('route' in match);
  assert.deepEqual(match.params, { cluster: 'a/b ü' });
  assert.deepEqual(router.match('GET', '/nope'), { status: 404, body: { error: 'no such endpoint: /nope' } });
  assert.equal((router.match('DELETE', '/nodes/x') as { status: number }).status, 405);
  assert.equal((router.match('GET', '/nodes/%E0%A4%A') as { status: number }).status, 400);
  assert.equal((router.match('GET', '/nodes/') as { status: number }).status, 404);
});

test('registration bodies are validated field by field', () => {
  const ok = parseRegistration({ name: 'n', 'bind-address': '1.2.3.4:8888', ip: ['1.2.3.4'], extra: 1 });
  assert.equal(ok.bindAddress, '1.2.3.4:8888');
  assert.deepEqual(ok.stats, {});
  const bad: unknown[] = [null, [], 'x', { 'bind-address': 'a:1' }, { name: 'n' }, { name: 'n', 'bind-address': 'a:1', ip: 'x' }, { name: 7, 'bind-address': 'a:1' }, { name: 'a\nb', 'bind-address': 'a:1' }, { name: 'n', 'bind-address': 'a:1', stats: [] }];
  for (const body of bad) assert.throws(() => parseRegistration(body), (err: unknown) => err instanceof CfluxError && err.code === 'BAD_REQUEST');
  assert.deepEqual(parseHeartbeat(undefined), {});
  assert.deepEqual(parseHeartbeat({ stats: { a: 1 } }), { stats: { a: 1 } });
  assert.deepEqual(parseHeartbeat({ name: 'node-1', stats: { a: 1 } }), { name: 'node-1', stats: { a: 1 } });
  assert.throws(() => parseHeartbeat([1]));
  assert.throws(() => parseHeartbeat({ name: 7 }));
  assert.equal(parseNodeId('12'), 12);
  for (const id of ['0', '-1', '1.5', 'x', '9999999999999999']) assert.throws(() => parseNodeId(id));
});

test('pretty log lines: time, level, component, message, fields', () => {
  const line = formatPrettyLine(JSON.stringify({ level: 30, time: '2026-01-01T10:11:12.345Z', pid: 1, component: 'manager', msg: 'node registered', id: 3 }));
  assert.equal(line, '10:11:12.345 INFO  [manager] node registered id=3');
  assert.equal(formatPrettyLine('not json'), 'not json');
});

test('CFLUX_VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(CFLUX_VERSION, pkg.version);
});

test('JSON bodies nested deeper than the limit are refused before parsing; brackets in strings do not count', async () => {
  const { jsonDepth, parseJsonBody, MAX_JSON_DEPTH } = await import('../../src/shared/http/json-http.ts');
  assert.equal(jsonDepth('{"a":[1,{"b":2}]}'), 3);
  assert.equal(jsonDepth('{"a":"[[[[\\"[["}'), 1);
  assert.equal(jsonDepth('[]'), 1);
  assert.equal(jsonDepth('"x"'), 0);
  const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
  assert.throws(() => parseJsonBody(Buffer.from(deep)), (err: unknown) => err instanceof CfluxError && err.code === 'BAD_REQUEST' && /nested deeper than 64 levels/.test(err.message));
  assert.throws(() => parseJsonBody(Buffer.from('['.repeat(1_000_000))), /nested deeper/);
  assert.deepEqual(parseJsonBody(Buffer.from('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))), JSON.parse('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)));
});
