// npm run build: bin/cflux.ts and everything it imports from src/, bundled
// by esbuild into dist/bin/cflux.js plus one chunk per part loaded on demand
// (dist/bin/chunks/: the agent, the manager, the demo, each subcommand).
// Packages stay in node_modules, imported as they are (etcd3's gRPC reads
// its .proto files from its own directory).
//
// Why a bundle and not tsc's one file per module: an agent loaded ~170 ES
// modules, and Node's loader resolving them ran hot enough to have its path
// functions optimized; the modules and that compiled code stay in memory for
// as long as the agent runs. Bundled, an idle agent holds about 8 MiB less
// RSS (docs/agent.md "Memory"; bench/agent-memory.ts measures it).
// `npm run build` type-checks with tsc first: esbuild only strips types.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}/dist`, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['bin/cflux.ts'],
  outdir: 'dist/bin',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  packages: 'external',
  // Names and line structure are kept (stack traces stay readable); the map
  // points back to src/ for `node --enable-source-maps`.
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`dist/bin: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB of JavaScript`);
