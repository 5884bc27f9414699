import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOperation } from '../../src/cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { checkClusterDocument } from '../../src/cluster/document-check.ts';
import { moveProgress, pendingUnits, type MemberMove } from '../../src/cluster/member-moves.ts';
import type { MetadataOperation } from '../../src/cluster/metadata-operations.ts';
import { ownersOf, Placement } from '../../src/cluster/placement.ts';

function cluster(members: string[]): ClusterMetadata {
  const doc = emptyMetadata(2);
  doc.settings.dataMembers = members;
  doc.databases['db'] = { retentionPolicies: { autogen: { name: 'autogen', duration: 0, shardGroupDuration: 604800, replicaN: 2 } }, defaultRetentionPolicy: 'autogen', continuousQueries: {} };
  return doc;
}

function apply(doc: ClusterMetadata, ...ops: MetadataOperation[]): ClusterMetadata {
  for (const op of ops) {
    const result = applyOperation(doc, op, undefined);
    if (!result.ok) throw new Error(result.error);
    doc = result.metadata;
  }
  return doc;
}

const move = (target: string[], extra: Partial<MemberMove> = {}): MemberMove => ({ id: 'm1', kind: 'add', target, empty: [], startedAt: '2026-12-01T00:00:00Z', phase: 'dual', units: {}, ...extra });
const measurements = Array.from({ length: 400 }, (_, i) => `m${i}`);

test('adding a member: a moving unit is written to old and new owners, read from the old until copied, then from the new', () => {
  const old = ['a', 'b', 'c'];
  let doc = apply(cluster(old), { op: 'startMove', move: move(['a', 'b', 'c', 'd']) });
  const placement = new Placement(doc);
  assert.deepEqual([...placement.members], ['a', 'b', 'c', 'd']);
  let moving = 0;
  for (const m of measurements) {
    const before = ownersOf('db', m, old, 2);
    const after = ownersOf('db', m, ['a', 'b', 'c', 'd'], 2);
    const unit = placement.moving('db', m);
    if (before.every((owner) => after.includes(owner))) {
      assert.equal(unit, undefined, `${m} stays where it is`);
      assert.deepEqual(placement.owners('db', m), before);
      continue;
    }
    moving++;
    assert.deepEqual(unit!.destinations, ['d'], 'only the new member receives copies');
    assert.deepEqual(new Set(placement.owners('db', m)), new Set([...before, ...after]));
    assert.deepEqual(placement.readOwners('db', m), before);
  }
  const share = moving / measurements.length;
  assert.ok(share > 0.4 && share < 0.6, `about RF/N = 0.5 of the units move (${share})`);
  const first = measurements.find((m) => placement.moving('db', m))!;
  doc = apply(doc, { op: 'startCopying', id: 'm1', units: [{ database: 'db', measurement: first }] }, { op: 'unitsMoved', id: 'm1', units: [{ database: 'db', measurement: first, points: 42 }] });
  assert.deepEqual(new Placement(doc).readOwners('db', first), ownersOf('db', first, ['a', 'b', 'c', 'd'], 2), 'a copied unit is read from its new owners');
  assert.deepEqual(moveProgress(doc.settings.move!), { units: 1, done: 1, points: 42 });
  assert.equal(checkClusterDocument(doc).ok, true);
  doc = apply(doc, { op: 'finishMove', id: 'm1' });
  assert.deepEqual(doc.settings.dataMembers, ['a', 'b', 'c', 'd']);
  assert.equal(doc.settings.move, undefined);
});

test('a member replaced with an empty disk under the same name is never read from until its units are copied', () => {
  const doc = apply(cluster(['a', 'b', 'c']), { op: 'startMove', move: move(['a', 'b', 'c'], { kind: 'replace', empty: ['b'] }) });
  const placement = new Placement(doc);
  for (const m of measurements.slice(0, 50)) {
    const owners = ownersOf('db', m, ['a', 'b', 'c'], 2);
    const unit = placement.moving('db', m);
    if (!owners.includes('b')) {
      assert.equal(unit, undefined);
      continue;
    }
    assert.deepEqual(unit!.destinations, ['b']);
    assert.ok(!placement.readOwners('db', m).includes('b'));
    assert.deepEqual(placement.owners('db', m), owners, 'writes still reach b');
  }
});

test('the move cannot finish with units still copying; a second move, and member changes, wait; cancel ends it', () => {
  let doc = apply(cluster(['a', 'b']), { op: 'startMove', move: move(['a', 'b', 'c']) }, { op: 'startCopying', id: 'm1', units: [{ database: 'db', measurement: 'cpu' }] });
  assert.deepEqual(pendingUnits(doc), [{ database: 'db', measurement: 'cpu' }]);
  assert.match(String((applyOperation(doc, { op: 'finishMove', id: 'm1' }, undefined) as { error: string }).error), /1 units still copying/);
  assert.match(String((applyOperation(doc, { op: 'startMove', move: move(['a']) }, undefined) as { error: string }).error), /already running/);
  assert.match(String((applyOperation(doc, { op: 'addMember', name: 'z' }, undefined) as { error: string }).error), /move of the data members is running/);
  assert.match(String((applyOperation(doc, { op: 'unitsMoved', id: 'other', units: [] }, undefined) as { error: string }).error), /no longer running/);
  // Units of a dropped database no longer hold the move back.
  doc = apply(doc, { op: 'dropDatabase', name: 'db' });
  assert.deepEqual(pendingUnits(doc), []);
  doc = apply(doc, { op: 'cancelMove', id: 'm1' });
  assert.equal(doc.settings.move, undefined);
  assert.deepEqual(doc.settings.dataMembers, ['a', 'b'], 'cancel keeps the old members');
});

test('the document check refuses a malformed move, naming the field', () => {
  const doc = apply(cluster(['a', 'b']), { op: 'startMove', move: move(['a', 'b', 'c']) }, { op: 'startCopying', id: 'm1', units: [{ database: 'db', measurement: 'cpu' }] });
  const broken = (edit: (move: Record<string, unknown>) => void) => {
    const copy = structuredClone(doc) as unknown as { settings: { move: Record<string, unknown> } };
    edit(copy.settings.move);
    return checkClusterDocument(copy);
  };
  assert.deepEqual(broken((m) => (m['phase'] = 'later')), { ok: false, field: 'settings.move.phase', error: 'must be "dual" or "copying", not "later"' });
  assert.equal((broken((m) => (m['target'] = [])) as { field: string }).field, 'settings.move.target');
  assert.equal((broken((m) => ((m['units'] as Record<string, Record<string, unknown>>)['db']!['cpu'] = { state: 'done', points: -1 })) as { field: string }).field, 'settings.move.units["db"]["cpu"].points');
  assert.equal((broken((m) => (m['id'] = '../x')) as { field: string }).field, 'settings.move.id');
});
