import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOperation } from '../../src/cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../../src/cluster/cluster-metadata.ts';
import { DocumentContendedError, updateDocument, type CasWrite, type VersionedDocument } from '../../src/cluster/document-update.ts';

/** A manager's document held in memory, with the manager's CAS rule; `race` lets another writer land first. */
function fakeManager(initial: VersionedDocument, race: (stored: VersionedDocument) => VersionedDocument | undefined = () => undefined) {
  let stored = initial;
  const writes: number[] = [];
  const write: CasWrite = async (base, metadata) => {
    writes.push(base);
    stored = race(stored) ?? stored;
    if (base !== stored.version) return { ok: false, current: stored };
    stored = { version: stored.version + 1, metadata };
    return { ok: true, version: stored.version };
  };
  return { write, writes, get stored() { return stored; } };
}

const addMember = (name: string) => (metadata: ClusterMetadata | null) => {
  const result = applyOperation(metadata ?? emptyMetadata(), { op: 'addMember', name }, undefined);
  if (!result.ok) throw new Error(result.error);
  return { ...result, result: result.metadata.settings.dataMembers };
};

test('a change is written on the base version', async () => {
  const manager = fakeManager({ version: 3, metadata: emptyMetadata() });
  const update = await updateDocument(manager.stored, addMember('a'), manager.write);
  assert.deepEqual(update.result, ['a']);
  assert.equal(update.written?.version, 4);
  assert.deepEqual(manager.writes, [3]);
  assert.deepEqual(manager.stored.metadata?.settings.dataMembers, ['a']);
});

test('a lost race is re-applied on the newest document, keeping the other writer\'s change', async () => {
  let raced = false;
  const manager = fakeManager({ version: 1, metadata: emptyMetadata() }, (stored) => {
    if (raced) return undefined;
    raced = true;
    const other = applyOperation(stored.metadata!, { op: 'addMember', name: 'other' }, undefined);
    return other.ok ? { version: stored.version + 1, metadata: other.metadata } : undefined;
  });
  const update = await updateDocument(manager.stored, addMember('mine'), manager.write);
  assert.deepEqual(manager.writes, [1, 2]);
  assert.deepEqual(update.result, ['mine', 'other']);
  assert.deepEqual(manager.stored.metadata?.settings.dataMembers, ['mine', 'other']);
});

test('nothing is written when nothing changes', async () => {
  const manager = fakeManager({ version: 1, metadata: emptyMetadata() });
  await updateDocument(manager.stored, addMember('a'), manager.write);
  const again = await updateDocument(manager.stored, addMember('a'), manager.write);
  assert.equal(again.written, undefined);
  assert.equal(again.latest.version, 2);
  assert.deepEqual(manager.writes, [1]);
});

test('a writer that always loses gives up after the attempt limit with a clear error', async () => {
  const manager = fakeManager({ version: 1, metadata: emptyMetadata() }, (stored) => ({ version: stored.version + 1, metadata: stored.metadata }));
  await assert.rejects(updateDocument(manager.stored, addMember('a'), manager.write, 4), (err: unknown) => err instanceof DocumentContendedError && /4 writes in a row/.test(err.message));
  assert.equal(manager.writes.length, 4);
});
