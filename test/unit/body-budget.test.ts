import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyBudget } from '../../src/agent/proxy/body-budget.ts';

const never = new AbortController().signal;
const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

test('bodies that fit are granted at once; one that does not waits, unread, until room is released', async () => {
  const budget = new BodyBudget(100);
  const releaseA = await budget.take(60, never);
  const releaseB = await budget.take(40, never);
  assert.equal(budget.used, 100);
  const c = budget.take(10, never);
  assert.equal(await settled(c), false, 'no room: waits');
  assert.equal(budget.waiting, 1);
  releaseA();
  releaseA(); // twice: released once
  assert.equal(await settled(c), true);
  assert.equal(budget.used, 50);
  releaseB();
  (await c)();
  assert.equal(budget.used, 0);
});

test('first come, first served: a small body does not overtake a large one waiting', async () => {
  const budget = new BodyBudget(100);
  const releaseA = await budget.take(90, never);
  const large = budget.take(50, never);
  const small = budget.take(5, never);
  assert.equal(await settled(small), false, 'the small one waits behind the large one, though it would fit');
  releaseA();
  assert.equal(await settled(large), true);
  assert.equal(await settled(small), true);
  assert.equal(budget.used, 55);
});

test('a body larger than the whole budget goes alone', async () => {
  const budget = new BodyBudget(100);
  const huge = await budget.take(500, never);
  const next = budget.take(1, never);
  assert.equal(await settled(next), false);
  huge();
  assert.equal(await settled(next), true);
  (await next)();
  assert.equal(budget.used, 0);
  const alone = budget.take(500, never);
  assert.equal(await settled(alone), true, 'granted when nothing else is held');
});

test('a client that leaves while waiting takes nothing, and the next waiting one gets its turn', async () => {
  const budget = new BodyBudget(100);
  const release = await budget.take(80, never);
  const leaving = new AbortController();
  const gone = budget.take(50, leaving.signal);
  const after = budget.take(20, never);
  assert.equal(await settled(after), false, 'behind the one waiting');
  leaving.abort();
  await assert.rejects(gone);
  assert.equal(await settled(after), true, 'fits once the one ahead left');
  assert.equal(budget.used, 100);
  assert.equal(budget.waiting, 0);
  await assert.rejects(budget.take(1, AbortSignal.abort()), 'no room and already gone: rejected at once');
  assert.equal(budget.waiting, 0);
  release();
});

test('a request without a body never waits, even behind a waiting write', async () => {
  const budget = new BodyBudget(100);
  const release = await budget.take(90, never);
  const waiting = budget.take(50, never);
  assert.equal(await settled(budget.take(0, never)), true, 'a GET goes at once');
  assert.equal(budget.used, 90);
  release();
  (await waiting)();
  assert.equal(budget.used, 0);
});
