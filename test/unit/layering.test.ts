import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { importCycles, importsOf, layeringViolations, readImportGraph } from '../helpers/import-graph.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

test('imports in src/ point only downward: cli → local → agent | manager → influxql → cluster → shared', () => {
  assert.deepEqual(layeringViolations(readImportGraph(SRC)), []);
});

test('src/ has no import cycles', () => {
  assert.deepEqual(importCycles(readImportGraph(SRC)), []);
});

test('the checker finds each kind of violation', () => {
  const graph = new Map<string, string[]>([
    ['shared/a.ts', ['agent/b.ts']],
    ['influxql/c.ts', ['cluster/d.ts', 'manager/e.ts']],
    ['agent/peer/f.ts', ['agent/proxy/g.ts', 'agent/influxd/h.ts']],
    ['agent/i.ts', ['manager/j.ts']],
    ['cluster/k.ts', ['node:fs', 'node:crypto', 'undici']],
    ['cli/l.ts', ['agent/m.ts', 'shared/n.ts', 'node:fs', 'commander']],
  ]);
  assert.deepEqual(layeringViolations(graph), [
    'shared/a.ts -> agent/b.ts: shared may not import from agent (a higher layer)',
    'influxql/c.ts -> manager/e.ts: influxql may not import from manager (a higher layer)',
    'agent/peer/f.ts -> agent/proxy/g.ts: agent/peer/ may not import from agent/proxy/',
    'agent/i.ts -> manager/j.ts: agent and manager may not import each other',
    'cluster/k.ts -> node:fs: src/cluster/ is pure (no I/O)',
    'cluster/k.ts -> undici: src/cluster/ imports no package',
  ]);
  assert.deepEqual(importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]])), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
});

test('imports are read from static, re-export, type-only and dynamic forms', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../cluster/b.ts';",
    "export { c } from './c.ts';",
    "const d = await import('../shared/d.ts');",
    "import {\n  e,\n} from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text, 'agent/x.ts'), ['agent/a.ts', 'cluster/b.ts', 'agent/c.ts', 'shared/d.ts', 'node:fs']);
});
