// npm run bench:memory [-- --settle 10 --repeat 1 --variant 'label: --node-flag ENV=value' ...]
//
// Idle memory of a real agent: a one-node cluster (memory-store manager, a
// real influxd) per variant, the agent left alone for --settle seconds at its
// production periods, then its RSS split as the kernel counts it
// (/proc/<pid>/status: RssAnon = heap, stacks, malloc; RssFile = mapped
// files, mostly the node binary's own pages) and V8's heap from /metrics.
// A variant is node flags (tokens starting with --) and environment
// variables (NAME=value) for the agent process; the default variants are the
// agent as it was before the shipped flags, and the agent as shipped.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterFixture } from '../test/helpers/cluster-fixture.ts';
import { TEST_PEER_TOKEN } from '../test/helpers/agent-process.ts';
import { metricValue, scrape } from './bench-stats.ts';
import { AGENT_PRODUCTION_ARGS, SHIPPED_AGENT_ENV } from '../test/helpers/shipped-agent-flags.ts';

const { values } = parseArgs({
  options: {
    settle: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
    variant: { type: 'string', multiple: true },
  },
});
const settleMs = Number(values.settle) * 1000;
const repeat = Number(values.repeat);

interface Variant {
  label: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

function parseVariant(text: string): Variant {
  const colon = text.indexOf(':');
  const label = colon < 0 ? text : text.slice(0, colon).trim();
  const tokens = (colon < 0 ? '' : text.slice(colon + 1)).split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  for (const token of tokens.filter((t) => !t.startsWith('--'))) {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new Error(`variant ${label}: ${token} is neither a --flag nor NAME=value`);
    env[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return { label, nodeArgs: tokens.filter((t) => t.startsWith('--')), env };
}

const variants: Variant[] = values.variant?.map(parseVariant) ?? [
  { label: 'no flags', nodeArgs: [], env: {} },
  { label: 'as shipped', nodeArgs: [], env: { ...SHIPPED_AGENT_ENV } },
];

/** The kB figures of /proc/<pid>/status we report, in MiB. */
function statusMib(pid: number): Record<'VmRSS' | 'RssAnon' | 'RssFile' | 'RssShmem', number> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { VmRSS: read('VmRSS'), RssAnon: read('RssAnon'), RssFile: read('RssFile'), RssShmem: read('RssShmem') };
}

const f = (n: number) => n.toFixed(1);
console.log(`agent idle memory: one-node cluster, agent from ${process.env['CFLUX_BIN'] ?? 'bin/cflux.ts (sources)'}, ${settleMs / 1000} s after it is ready`);
for (const variant of variants) {
  for (let run = 0; run < repeat; run++) {
    const fixture = await startClusterFixture({
      size: 1,
      etcd: false,
      agentArgs: AGENT_PRODUCTION_ARGS,
      agentNodeArgs: variant.nodeArgs,
      agentEnv: { CFLUX_SECRET: 'memory-bench-secret-0123456789', ...variant.env },
    });
    try {
      const agent = fixture.agents[0]!;
      await sleep(settleMs);
      // /proc first: the scrape below allocates in the agent.
      const status = statusMib(agent.pid);
      const metrics = await scrape(`${agent.peerUrl}/metrics`, { authorization: `Bearer ${TEST_PEER_TOKEN}` });
      const heap = (name: string) => Number(metricValue(metrics, `cflux_agent_nodejs_${name}`)) / 1048576;
      console.log(
        `  ${variant.label.padEnd(28)} RSS ${f(status.VmRSS)} MiB = anon ${f(status.RssAnon)} + file ${f(status.RssFile)} + shmem ${f(status.RssShmem)}; ` +
          `V8 heap ${f(heap('heap_size_total_bytes'))} MiB (used ${f(heap('heap_size_used_bytes'))}), external ${f(heap('external_memory_bytes'))} MiB` +
          `${variant.nodeArgs.length + Object.keys(variant.env).length > 0 ? `  [${[...variant.nodeArgs, ...Object.entries(variant.env).map(([k, v]) => `${k}=${v}`)].join(' ')}]` : ''}`,
      );
    } finally {
      await fixture.stop();
    }
  }
}
