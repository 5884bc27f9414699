import assert from 'node:assert/strict';
import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Built-ins that src/ loads through src/shared/node-builtins.ts, never by an ESM value import (why: that file's comment). */
const LAZY_BUILTINS = /^\s*import\s+(?!type\s)[^;]*?from\s*'node:(http|https|tls|util)'/gm;

test('src/ loads node:http, node:https, node:tls and node:util through node-builtins.ts (an ESM import of node:http costs 6-13 MiB)', () => {
  const offenders: string[] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.relative(SRC, path.join(entry.parentPath, entry.name));
    // The manager loads etcd3, whose gRPC client loads http2 and tls whatever we do.
    if (file.startsWith('manager/')) continue;
    for (const match of readFileSync(path.join(SRC, file), 'utf8').matchAll(LAZY_BUILTINS)) offenders.push(`${file}: node:${match[1]}`);
  }
  assert.deepEqual(offenders, []);
  const sample = "import type { IncomingMessage } from 'node:http';\nimport { createServer, type Server } from 'node:http';\nimport { connect } from 'node:tls';";
  assert.deepEqual([...sample.matchAll(LAZY_BUILTINS)].map((match) => match[1]), ['http', 'tls']);
});
