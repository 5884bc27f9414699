// The README's examples run as shown: every console block marked
// `<!-- readme-demo: ... -->` is run, command by command, in one shell against
// a fresh `cflux demo` (its manager address put where the README says
// 127.0.0.1:8000), and each command's output must have the shape the README
// prints: the same lines, with numbers, times, ids and addresses free.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDemo } from '../helpers/demo-process.ts';
import { cleanEnv } from '../helpers/manager-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MARK = '<!-- readme-demo:';

interface Example {
  command: string;
  expected: string[];
}

/** The marked console blocks of the README: `$ ` lines are commands, the lines after them their output. */
export function readmeExamples(readme: string): Example[][] {
  const blocks: Example[][] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith(MARK) || lines[i + 1] !== '```console') continue;
    const examples: Example[] = [];
    for (let j = i + 2; j < lines.length && lines[j] !== '```'; j++) {
      const line = lines[j]!;
      if (line.startsWith('$ ')) examples.push({ command: line.slice(2), expected: [] });
      else examples.at(-1)?.expected.push(line);
    }
    blocks.push(examples);
  }
  return blocks;
}

/** A line with what changes from run to run made generic: times, ages, numbers, addresses, temporary paths. */
export function shapeOf(line: string): string {
  return line
    .replace(/\/tmp\/cflux-demo-\w+/g, '<tmp>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d+[smh] ago\b/g, '<ago>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+\b/g, '<address>')
    .replace(/\d[\d,.]*/g, '#')
    .replace(/ +/g, ' ')
    .trimEnd();
}

test('the README\'s marked examples run against a fresh demo and print what the README shows', async () => {
  const { child, exited, output: printed } = await startDemo();
  const output = printed();
  try {
    const manager = /manager: http:\/\/(127\.0\.0\.1:\d+)/.exec(output)![1]!;
    const env = {
      ...cleanEnv(),
      PATH: `${ROOT}node_modules/.bin:${process.env['PATH'] ?? ''}`,
      CFLUX_MANAGER_TOKEN_FILE: /export CFLUX_MANAGER_TOKEN_FILE=(\S+)/.exec(output)![1]!,
      CFLUX_PEER_TOKEN_FILE: /export CFLUX_PEER_TOKEN_FILE=(\S+)/.exec(output)![1]!,
      // The demo's manager is where commands without --manager look by default (127.0.0.1:8000 in the README).
      CFLUX_ENDPOINT: `http://${manager}`,
    };
    const blocks = readmeExamples(readFileSync(`${ROOT}README.md`, 'utf8'));
    assert.ok(blocks.length >= 2, 'the README marks its demo examples');
    for (const examples of blocks) {
      // One shell per block (a block may set a variable for the next command), a marker before each command's output.
      // (A marker on its own line even after output without a final newline, as curl's.)
      const script = examples.map((example, index) => `printf '\\n@@${index}\\n'; ${example.command.replace(/(localhost|127\.0\.0\.1):8000/g, manager)} 2>&1`).join('\n');
      // The README shows a settled demo (the agents' first data figures come a heartbeat or two after start): tried for a while.
      for (const deadline = Date.now() + 20_000; ; ) {
        const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: ROOT, env, timeout: 60_000 });
        const outputs = stdout.split(/\n@@\d+\n/).slice(1);
        const shapes = outputs.map((text) => text.replace(/\n$/, '')).map((text) => (text === '' ? [] : text.split('\n')).map(shapeOf));
        const differing = examples.findIndex((example, index) => JSON.stringify(shapes[index]) !== JSON.stringify(example.expected.map(shapeOf)));
        if (differing < 0) break;
        if (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        const example = examples[differing]!;
        assert.deepEqual(shapes[differing], example.expected.map(shapeOf), `README: \`$ ${example.command}\` printed:\n${outputs[differing]}`);
      }
    }
    // An idle demo against healthy influxd servers has nothing to warn about.
    assert.doesNotMatch(printed(), /"level":(40|50)|drift check failed/, 'no warnings from an idle demo');
  } finally {
    child.kill('SIGINT');
    await exited;
  }
});
