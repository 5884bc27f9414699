import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fanOut, type Batch, type FanOutPorts, type OwnerAnswer } from '../../src/agent/proxy/write-fanout.ts';

const batch: Batch = { owners: ['a', 'b'], payload: Buffer.from('m v=1 1\n'), units: ['m'] };

/** Ports whose owners answer after `delays[owner]` ms with `statuses[owner]`; records what was kept and withdrawn. */
function ports(delays: Record<string, number>, statuses: Record<string, number>, mayWrite = true) {
  const kept: string[] = [];
  const withdrawn: string[] = [];
  /** Per owner kept, what its own write said in the end (undefined: it had answered already). */
  const stored: Record<string, Promise<boolean> | undefined> = {};
  const port: FanOutPorts = {
    target: { database: 'db', retentionPolicy: null, precision: null },
    write: async (owner): Promise<OwnerAnswer> => {
      await sleep(delays[owner] ?? 0);
      return { owner, status: statuses[owner] ?? 204, body: '' };
    },
    mayWrite: async () => mayWrite,
    keep: async (owner, _hint, running) => {
      kept.push(owner);
      stored[owner] = running;
      return () => withdrawn.push(owner);
    },
  };
  return { port, kept, withdrawn, stored };
}

test('consistency=one answers once one owner stored; a slow owner is queued, and the copy withdrawn when it stores after all', async () => {
  const { port, kept, withdrawn, stored } = ports({ a: 0, b: 300 }, {});
  const started = performance.now();
  const [outcome] = await fanOut([batch], 'one', port);
  assert.ok(performance.now() - started < 200, 'not held up by the slow owner');
  assert.equal(outcome!.stored, 1);
  assert.deepEqual(outcome!.kept, ['b']);
  assert.deepEqual(withdrawn, []);
  await sleep(400);
  assert.deepEqual(kept, ['b']);
  assert.deepEqual(withdrawn, ['b'], 'the slow owner stored it: its queued copy is withdrawn');
  assert.equal(await stored['b'], true, 'the queue is told the owner stored it');
});

test('an owner that fails keeps its queued copy; consistency=all is refused but the copy is still kept', async () => {
  const { port, withdrawn, stored } = ports({}, { b: 503 });
  const [outcome] = await fanOut([batch], 'all', port);
  assert.equal(outcome!.stored, 1);
  assert.equal(outcome!.needed, 2);
  assert.deepEqual(outcome!.kept, ['b']);
  assert.equal(stored['b'], undefined, 'it had answered: nothing to wait for');
  await sleep(50);
  assert.deepEqual(withdrawn, []);
});

test('a slow owner that then fails keeps its copy', async () => {
  const { port, withdrawn, stored } = ports({ b: 100 }, { b: 500 });
  const [outcome] = await fanOut([batch], 'one', port);
  assert.deepEqual(outcome!.kept, ['b']);
  assert.equal(await stored['b'], false, 'the queue is told the copy is needed');
  await sleep(200);
  assert.deepEqual(withdrawn, []);
});

test('nothing is kept for a client whose right to write is not established', async () => {
  const { port, kept } = ports({}, { a: 503, b: 503 }, false);
  const [outcome] = await fanOut([batch], 'any', port);
  assert.equal(outcome!.stored, 0);
  assert.deepEqual(kept, []);
});
