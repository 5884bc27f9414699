#!/usr/bin/env node
// The agent, which runs for months, starts without loading commander when its
// flags parse (src/cli/agent-run.ts); everything else, help and usage errors
// included, goes through the full command line.
const started = process.argv[2] === 'agent' && (await (await import('../src/cli/agent-run.ts')).runAgentFromArgs(process.argv.slice(3)));
if (!started) {
  const { buildProgram } = await import('../src/cli/program.ts');
  await (await buildProgram(process.argv)).parseAsync(process.argv);
}
