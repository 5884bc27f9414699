// npm run bench:convergence [-- --statements 200 --store etcd|memory]
// 3 influxd + 3 agents + a manager (on a real etcd by default). DDL statements go
// one after another through agent 0's proxy; for each, the time from sending it
// until every influxd shows it (SHOW ... polled every 5 ms on each influxd).
import { parseArgs } from 'node:util';
import { influxQuery, startClusterFixture } from '../test/helpers/cluster-fixture.ts';
import { percentile, summarize } from './bench-stats.ts';

const { values } = parseArgs({ options: { statements: { type: 'string', default: '200' }, store: { type: 'string', default: 'etcd' } } });
const total = Number(values.statements);
if (!Number.isInteger(total) || total < 5) throw new Error('--statements must be a whole number >= 5');

/** One statement of a repeating five-step schema change, and how to see it on an influxd. */
function step(i: number): { q: string; visible: (url: string) => Promise<boolean> } {
  const n = Math.floor(i / 5);
  const has = async (url: string, q: string, needle: string) => JSON.stringify(await influxQuery(url, q)).includes(needle);
  switch (i % 5) {
    case 0:
      return { q: `CREATE DATABASE bench_${n}`, visible: (url) => has(url, 'SHOW DATABASES', `"bench_${n}"`) };
    case 1:
      return { q: `CREATE RETENTION POLICY week ON bench_${n} DURATION 7d REPLICATION 2`, visible: (url) => has(url, `SHOW RETENTION POLICIES ON bench_${n}`, '"week"') };
    case 2:
      return { q: `CREATE USER user_${n} WITH PASSWORD 'pw-${n}'`, visible: (url) => has(url, 'SHOW USERS', `"user_${n}"`) };
    case 3:
      return { q: `GRANT READ ON bench_${n} TO user_${n}`, visible: (url) => has(url, `SHOW GRANTS FOR user_${n}`, `"bench_${n}","READ"`) };
    default:
      return {
        q: `CREATE CONTINUOUS QUERY cq_${n} ON bench_${n} BEGIN SELECT mean(v) INTO week.m_hourly FROM m GROUP BY time(1h) END`,
        visible: (url) => has(url, 'SHOW CONTINUOUS QUERIES', `"cq_${n}"`),
      };
  }
}

const cluster = await startClusterFixture({ size: 3, etcd: values.store !== 'memory', agentArgs: ['--log-level', 'info'] });
try {
  console.log(`convergence bench: ${total} DDL statements through one proxy, 3 influxd + 3 agents, manager on ${values.store === 'memory' ? 'the memory store' : 'etcd'}`);
  const proxy = cluster.agents[0]!.proxyUrl;
  const answered: number[] = [];
  const converged: number[] = [];
  const urls = cluster.influxds.map((influxd) => influxd.url);
  for (let i = 0; i < total; i++) {
    const { q, visible } = step(i);
    const started = performance.now();
    const answer = await influxQuery(proxy, q);
    answered.push(performance.now() - started);
    if (answer.results?.[0]?.error !== undefined || answer.error !== undefined) throw new Error(`${q}: ${JSON.stringify(answer)}`);
    // Each influxd is polled on its own; the statement has converged when the last one shows it.
    await Promise.all(
      urls.map(async (url) => {
        while (!(await visible(url))) {
          if (performance.now() - started > 10_000) throw new Error(`${q} not visible on ${url} after 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
    converged.push(performance.now() - started);
  }
  console.log(`proxy answer (CAS write + local apply): ${summarize(answered)}`);
  console.log(`visible on every influxd:              ${summarize(converged)}`);
  const p99 = percentile([...converged].sort((a, b) => a - b), 99);
  console.log(`target: p99 <= 300 ms: ${p99 <= 300 ? 'PASS' : 'FAIL'} (${p99.toFixed(1)} ms)`);
} finally {
  await cluster.stop();
}
