import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The layers of `src/`, highest first. A file may import from its own layer
 * and from any layer below it, never from one above. `agent` and `manager`
 * share a rank but may not import each other.
 */
export const LAYERS: ReadonlyArray<{ name: string; rank: number }> = [
  { name: 'cli', rank: 6 },
  { name: 'local', rank: 5 },
  { name: 'agent', rank: 4 },
  { name: 'manager', rank: 4 },
  { name: 'influxql', rank: 3 },
  { name: 'cluster', rank: 2 },
  { name: 'shared', rank: 1 },
];

/** Rules inside a layer: `from` may not import anything under `to` (paths relative to src/). */
export const FORBIDDEN_WITHIN: ReadonlyArray<{ from: string; to: string }> = [
  { from: 'agent/peer/', to: 'agent/proxy/' },
];

/** Node built-ins the pure domain layer may use: no I/O. */
export const PURE_BUILTINS = new Set(['node:crypto']);

/** Every import (static, `export ... from`, dynamic) of every .ts file under `dir`, as repo-relative paths. */
export function readImportGraph(srcDir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) graph.set(path.relative(srcDir, full), importsOf(readFileSync(full, 'utf8'), path.relative(srcDir, full)));
    }
  };
  walk(srcDir);
  return graph;
}

/** The specifiers a source text imports: relative ones resolved against `file` (relative to src/), others as written. */
export function importsOf(text: string, file: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|[^\w.])(?:import|export)\s[^;]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s*'([^']+)'/gm;
  for (const match of text.matchAll(pattern)) {
    const spec = match[1] ?? match[2] ?? match[3]!;
    found.push(spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : spec);
  }
  return found;
}

function layerOf(file: string): { name: string; rank: number } | undefined {
  const top = file.split('/')[0];
  return LAYERS.find((layer) => layer.name === top);
}

/** Every import that breaks the layering rules, as `file -> import: why`. */
export function layeringViolations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    for (const target of imports) {
      if (target.startsWith('node:')) {
        if (from?.name === 'cluster' && !PURE_BUILTINS.has(target)) violations.push(`${file} -> ${target}: src/cluster/ is pure (no I/O)`);
        continue;
      }
      if (!target.includes('/') || !target.endsWith('.ts')) {
        if (from?.name === 'cluster') violations.push(`${file} -> ${target}: src/cluster/ imports no package`);
        continue;
      }
      if (target.startsWith('..')) {
        violations.push(`${file} -> ${target}: imports from outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (!from || !to) {
        violations.push(`${file} -> ${target}: not in a known layer (${LAYERS.map((layer) => layer.name).join(', ')})`);
        continue;
      }
      if (to.rank > from.rank) violations.push(`${file} -> ${target}: ${from.name} may not import from ${to.name} (a higher layer)`);
      else if (to.rank === from.rank && to.name !== from.name) violations.push(`${file} -> ${target}: ${from.name} and ${to.name} may not import each other`);
      for (const rule of FORBIDDEN_WITHIN) {
        if (file.startsWith(rule.from) && target.startsWith(rule.to)) violations.push(`${file} -> ${target}: ${rule.from} may not import from ${rule.to}`);
      }
    }
  }
  return violations;
}

/** Import cycles among the files of the graph (each as a list of files, first repeated at the end). */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      const seen = state.get(target);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}
