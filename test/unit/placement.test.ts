import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyMetadata } from '../../src/cluster/cluster-metadata.ts';
import { ownersOf, Placement, replicationFactorOf, unitKey } from '../../src/cluster/placement.ts';

const members = ['node-0', 'node-1', 'node-2', 'node-3', 'node-4'];
const units = Array.from({ length: 2000 }, (_, i) => `m${i}`);

test('owners: RF distinct members, deterministic, independent of member order', () => {
  for (const unit of units.slice(0, 200)) {
    const owners = ownersOf('db', unit, members, 2);
    assert.equal(owners.length, 2);
    assert.notEqual(owners[0], owners[1]);
    assert.deepEqual(ownersOf('db', unit, [...members].reverse(), 2), owners);
  }
  assert.deepEqual(ownersOf('db', 'm', ['a'], 3), ['a'], 'RF is clamped to the member count');
});

test('load spreads evenly over members', () => {
  const firstOwners = new Map<string, number>();
  for (const unit of units) {
    const [first] = ownersOf('db', unit, members, 2);
    firstOwners.set(first!, (firstOwners.get(first!) ?? 0) + 1);
  }
  for (const member of members) {
    const share = (firstOwners.get(member) ?? 0) / units.length;
    assert.ok(share > 0.15 && share < 0.25, `${member} leads ${share}`);
  }
});

test('adding a member moves only about RF/N of the units, and only to the new member', () => {
  const before = new Map(units.map((unit) => [unit, ownersOf('db', unit, members, 2)]));
  const grown = [...members, 'node-5'];
  let moved = 0;
  for (const unit of units) {
    const after = ownersOf('db', unit, grown, 2);
    const lost = before.get(unit)!.filter((owner) => !after.includes(owner));
    if (lost.length > 0) {
      moved++;
      assert.ok(after.includes('node-5'), 'a unit only moves to the new member');
      assert.equal(lost.length, 1);
    }
  }
  const share = moved / units.length;
  assert.ok(share > 0.25 && share < 0.42, `moved ${share} (expected about 2/6)`);
});

test('pins: a measurement written by SELECT ... INTO follows its source', () => {
  const pins = { [unitKey('db', 'cpu_hourly')]: unitKey('db', 'cpu') };
  assert.deepEqual(ownersOf('db', 'cpu_hourly', members, 2, pins), ownersOf('db', 'cpu', members, 2));
  const cyclic = { [unitKey('db', 'a')]: unitKey('db', 'b'), [unitKey('db', 'b')]: unitKey('db', 'a') };
  assert.equal(ownersOf('db', 'a', members, 2, cyclic).length, 2, 'a pin cycle does not hang');
});

test('placement over metadata: RF from the largest replicaN, _internal and no members stay local', () => {
  const doc = emptyMetadata(2);
  doc.databases['db'] = {
    retentionPolicies: { a: { name: 'a', duration: 0, shardGroupDuration: 604800, replicaN: 1 }, b: { name: 'b', duration: 0, shardGroupDuration: 604800, replicaN: 3 } },
    defaultRetentionPolicy: 'a',
    continuousQueries: {},
  };
  assert.equal(replicationFactorOf(doc, 'db'), 3);
  assert.equal(replicationFactorOf(doc, 'unknown'), 2);
  assert.deepEqual(new Placement(doc).owners('db', 'cpu'), [], 'no data members yet');
  doc.settings.dataMembers = members;
  const placement = new Placement(doc);
  assert.equal(placement.owners('db', 'cpu').length, 3);
  assert.deepEqual(placement.owners('_internal', 'runtime'), []);
});
