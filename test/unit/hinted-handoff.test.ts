import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { HintedHandoff, type DeliveryOutcome, type ReplayBatch } from '../../src/agent/handoff/hinted-handoff.ts';
import type { Hint } from '../../src/agent/handoff/hint.ts';

const logger = createLogger({ level: 'silent', format: 'json' });
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

test('a large batch goes as concurrent lanes split by measurement: each measurement in one lane, its lines in queue order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  node.state.up = true;
  let inFlight = 0;
  let mostInFlight = 0;
  const deliver = node.delivery.deliver;
  node.delivery.deliver = async (name, batch) => {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await sleep(20);
    inFlight--;
    return deliver(name, batch);
  };
  const handoff = await HintedHandoff.open({ dir, maxBytes: 1 << 26, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger });
  // Every hint writes the same eight points again with a higher value: the last write must win.
  for (let round = 0; round < 40; round++) {
    const lines = Array.from({ length: 8 }, (_, m) => `m${m},host=h v=${round}i,pad="${'x'.repeat(1000)}" 1`);
    await handoff.enqueue('n2', hint(`${lines.join('\n')}\n`, { units: lines.map((_, m) => `m${m}`) }));
  }
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  stop.abort();
  await running;
  await handoff.close();
  assert.ok(mostInFlight > 1, `lanes went concurrently (at most ${mostInFlight} in flight)`);
  assert.equal(node.delivered.length, 4, 'one batch (320 KB) in four lanes');
  const laneOf = new Map<string, number>();
  node.delivered.forEach((body, lane) => {
    const values = new Map<string, number[]>();
    for (const line of body.trimEnd().split('\n')) {
      const measurement = line.slice(0, line.indexOf(','));
      assert.ok(!laneOf.has(measurement) || laneOf.get(measurement) === lane, `${measurement} is in one lane`);
      laneOf.set(measurement, lane);
      values.set(measurement, [...(values.get(measurement) ?? []), Number(/ v=(\d+)i/.exec(line)![1])]);
    }
    for (const [measurement, seen] of values) assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `${measurement} keeps queue order in its lane`);
  });
  const all = node.delivered.join('');
  for (let m = 0; m < 8; m++) assert.equal(all.split(`m${m},`).length - 1, 40, `every write of m${m} was delivered once`);
});

test('a target missing from the node list is asked itself (probe) and replay starts when it answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  let back = false;
  let probes = 0;
  const handoff = await HintedHandoff.open({
    dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, logger,
    delivery: { ...node.delivery, probe: async () => (probes++, back) },
  });
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  await handoff.enqueue('n2', hint('m v=1 1\n'));
  await until(() => probes >= 2, 'probes while the target is away');
  assert.deepEqual(node.delivered, []);
  back = true; // node.state.up stays false: only the probe says it is back
  await until(() => node.delivered.length === 1, 'the replay after the probe');
  stop.abort();
  await running;
  await handoff.close();
});

test('a withdrawn hint (its owner stored the batch after all) is not replayed and stops marking the owner behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  const handoff = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger });
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  const withdrawFirst = await handoff.enqueue('n2', hint('a v=1 1\n', { units: ['a'] }));
  await handoff.enqueue('n2', hint('b v=2 2\n', { units: ['b'] }));
  const withdrawThird = await handoff.enqueue('n2', hint('a v=3 3\n', { units: ['a'] }));
  withdrawFirst();
  withdrawFirst(); // twice: still one
  assert.equal(handoff.isBehind('n2', 'db', 'a'), true, 'the third hint still touches a');
  withdrawThird();
  assert.equal(handoff.isBehind('n2', 'db', 'a'), false);
  assert.equal(handoff.isBehind('n2', 'db', 'b'), true);
  node.state.up = true;
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  assert.deepEqual(node.delivered, ['b v=2 2\n'], 'only the hint not withdrawn is replayed');
  assert.equal(handoff.isBehind('n2', 'db', 'b'), false);
  // Withdrawing after replay changes nothing (it was counted off once).
  const late = await handoff.enqueue('n2', hint('c v=4 4\n', { units: ['c'] }));
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain again');
  late();
  assert.deepEqual(handoff.behind(), {});
  stop.abort();
  await running;
  await handoff.close();
});

test('lines of units the target no longer owns (a move ended) are left out on replay; the rest still go', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  const owned = new Set(['kept', 'mixed_kept']);
  const handoff = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, owns: (_target, _database, measurement) => owned.has(measurement), logger });
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  await handoff.enqueue('n2', hint('moved v=1 1\n', { units: ['moved'] }));
  await handoff.enqueue('n2', hint('kept v=2 2\n', { units: ['kept'] }));
  await handoff.enqueue('n2', hint('mixed_moved v=3 3\nmixed_kept v=4 4\n', { units: ['mixed_moved', 'mixed_kept'] }));
  node.state.up = true;
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  const lines = node.delivered.join('').split('\n').filter(Boolean);
  assert.deepEqual(lines, ['kept v=2 2', 'mixed_kept v=4 4']);
  assert.equal(handoff.isBehind('n2', 'db', 'moved'), false, 'a skipped hint stops marking the target behind');
  stop.abort();
  await running;
  await handoff.close();
});

test('a hint kept while its owner was still writing waits for that write: skipped when it stored the batch, replayed (in order) when not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cflux-hh-'));
  const node = target();
  node.state.up = true;
  const handoff = await HintedHandoff.open({ dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, replayBytesPerSecond: 1e9, delivery: node.delivery, logger });
  const stop = new AbortController();
  const running = handoff.run(stop.signal);
  const settle: Array<(stored: boolean) => void> = [];
  const pending = () => new Promise<boolean>((resolve) => settle.push(resolve));
  await handoff.enqueue('n2', hint('m v=1 1\n'), pending());
  await handoff.enqueue('n2', hint('m v=2 2\n'), pending());
  await handoff.enqueue('n2', hint('m v=3 3\n'));
  await sleep(300);
  assert.deepEqual(node.delivered, [], 'nothing is replayed past a hint whose owner may still store it');
  settle[0]!(true);
  await sleep(300);
  assert.deepEqual(node.delivered, [], 'the first was stored by its owner: withdrawn; the second still waits');
  settle[1]!(false);
  await until(() => handoff.status()[0]?.records === 0, 'the queue to drain');
  assert.deepEqual(node.delivered.join(''), 'm v=2 2\nm v=3 3\n');
  stop.abort();
  await running;
  await handoff.close();
});
