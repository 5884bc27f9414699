import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { HintedHandoff, type DeliveryOutcome, type ReplayBatch } from '../../src/agent/handoff/hinted-handoff.ts';
import type { Hint } from '../../src/agent/handoff/hint.ts';

const logger = pino({ level: 'silent' });
const hint = (body: string, extra: Partial<Hint> = {}): Hint => ({ database: 'db', retentionPolicy: null, precision: 's', units: ['m'], at: Date.now(), body: Buffer.from(body), ...extra });

/** A target that takes batches while `up`, recording them; `answer` decides the outcome. */
function target(answer: (batch: ReplayBatch) => DeliveryOutcome = () => ({ result: 'ok' })) {
  const delivered: string[] = [];
  const state = { up: false };
  return {
    state,
    delivered,
    delivery: {
      available: () => state.up,
      deliver: async (_target: string, batch: ReplayBatch) => {
        const outcome = answer(batch);
        if (outcome.result === 'ok') delivered.push(batch.body.toString());
        return outcome;
      },
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('hints wait while the target is down, then replay in order, joined, and the queue empties', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  const handoff = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger });
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  for (let i = 0; i < 5; i++) await handoff.enqueue('n2', hint(`m v=${i} ${i}\n`));
  assert.equal(handoff.isBehind('n2', 'db', 'm'), true);
  assert.equal(handoff.isBehind('n2', 'db', 'other'), false);
  assert.deepEqual(handoff.behind(), { n2: { db: ['m'] } });
  await sleep(300);
  assert.deepEqual(node.delivered, [], 'nothing is sent to a target that is down');
  node.state.up = true;
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  assert.deepEqual(node.delivered.join(''), Array.from({ length: 5 }, (_, i) => `m v=${i} ${i}\n`).join(''));
  assert.equal(handoff.isBehind('n2', 'db', 'm'), false);
  assert.deepEqual(handoff.behind(), {});
  stop.abort();
  await running;
  await handoff.close();
});

test('queued hints survive a restart and are replayed after it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const first = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: target().delivery, logger });
  await first.enqueue('n3', hint('a v=1 1\n', { units: ['a'] }));
  await first.enqueue('n3', hint('b v=1 1\n', { units: '*' }));
  await first.close();
  const node = target();
  node.state.up = true;
  const second = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger });
  assert.equal(second.status()[0]?.records, 2);
  assert.equal(second.isBehind('n3', 'db', 'anything'), true, "an unsplit batch makes every unit of its database behind");
  const stop = new AbortController();
  const running = second.run(stop.signal);
  await until(() => second.status()[0]?.records === 0, 'the queue to drain');
  assert.equal(node.delivered.join(''), 'a v=1 1\nb v=1 1\n');
  stop.abort();
  await running;
  await second.close();
});

test('a batch that can never be stored is dropped and the next ones still go; a retry keeps the order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  let failNext = 2;
  const node = target((batch) => {
    if (batch.database === 'gone') return { result: 'drop', reason: 'database not found' };
    if (failNext-- > 0) return { result: 'retry', reason: 'connection refused' };
    return { result: 'ok' };
  });
  node.state.up = true;
  const dropped: string[] = [];
  const handoff = await HintedHandoff.open({
    dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger,
    events: { replayed: () => undefined, dropped: (_target, reason, records) => dropped.push(`${reason}:${records}`) },
  });
  await handoff.enqueue('n2', hint('x v=1 1\n', { database: 'gone' }));
  await handoff.enqueue('n2', hint('y v=1 1\n'));
  await handoff.enqueue('n2', hint('z v=1 1\n'));
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  assert.deepEqual(dropped, ['unstorable:1']);
  assert.equal(node.delivered.join(''), 'y v=1 1\nz v=1 1\n');
  stop.abort();
  await running;
  await handoff.close();
});

test('hints past the age bound are dropped with a metric; over the size bound the oldest go first', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  const dropped: string[] = [];
  const handoff = await HintedHandoff.open({
    dir, maxBytes: 64 * 1024, maxAgeMs: 60_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger,
    events: { replayed: () => undefined, dropped: (_target, reason) => dropped.push(reason) },
  });
  await handoff.enqueue('old', hint('stale v=1 1\n', { at: Date.now() - 120_000 }));
  for (let i = 0; i < 40; i++) await handoff.enqueue('full', hint(`${'x'.repeat(4000)} v=${i} ${i}\n`));
  assert.ok(handoff.status().find((queue) => queue.target === 'full')!.bytes <= 64 * 1024, 'the queue stays within its bound');
  assert.ok(dropped.includes('size'));
  await assert.rejects(handoff.enqueue('full', hint('y'.repeat(100 * 1024))), /over --hh-max-size/);
  node.state.up = true;
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  await until(() => handoff.status().every((queue) => queue.records === 0), 'the queues to drain');
  assert.ok(dropped.includes('age'));
  assert.ok(!node.delivered.some((body) => body.startsWith('stale')), 'the expired hint was not replayed');
  assert.ok(node.delivered.join('').includes(' v=39 39'), 'the newest hints were kept');
  stop.abort();
  await running;
  await handoff.close();
});
