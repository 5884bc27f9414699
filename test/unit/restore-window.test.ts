import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { RestoreWindow } from '../../src/manager/api/restore-window.ts';

const at = (revision: number): ClusterMetadata => ({ ...emptyMetadata(), revision });

test('a fresh cluster (first document at revision 1) never waits', () => {
  let now = 0;
  const window = new RestoreWindow(15_000, () => now);
  assert.deepEqual(window.judge('c', null, at(1), false), { accept: true });
  now = 1;
  assert.deepEqual(window.judge('c', at(1), at(2), false), { accept: true });
  // A restore arriving later (an agent of an older life) is taken, and opens nothing.
  assert.deepEqual(window.judge('c', at(2), at(9), true), { accept: true });
  assert.deepEqual(window.judge('c', at(9), at(10), false), { accept: true });
});

test('after a restore, changes wait out the window; restores are taken at once', () => {
  let now = 1000;
  const window = new RestoreWindow(15_000, () => now);
  assert.deepEqual(window.judge('c', null, at(9), true), { accept: true });
  now = 3000;
  assert.deepEqual(window.judge('c', at(9), at(10), false), { accept: false, retryAfterMs: 13_000 });
  assert.deepEqual(window.judge('c', at(9), at(15), true), { accept: true });
  now = 16_000;
  assert.deepEqual(window.judge('c', at(15), at(16), false), { accept: true });
  // Other clusters are judged on their own.
  assert.deepEqual(window.judge('d', null, at(1), false), { accept: true });
});

test('a first change built on a document this manager never held opens the window itself', () => {
  let now = 0;
  const window = new RestoreWindow(10_000, () => now);
  assert.deepEqual(window.judge('c', null, at(8), false), { accept: false, retryAfterMs: 10_000 });
  now = 10_000;
  assert.deepEqual(window.judge('c', null, at(8), false), { accept: true });
});

test('length 0 turns it off', () => {
  const window = new RestoreWindow(0);
  assert.deepEqual(window.judge('c', null, at(9), true), { accept: true });
  assert.deepEqual(window.judge('c', at(9), at(10), false), { accept: true });
});
