// A cluster for move tests: a writer whose acknowledged batches also go to a
// reference influxd, and comparisons of what every proxy answers with it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownersOf } from '../../src/cluster/placement.ts';
import { startAgentProcess, type AgentProcess } from './agent-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET, type ClusterFixture } from './cluster-fixture.ts';
import { startInfluxd, type InfluxdServer } from './servers.ts';

export const DATABASE = 'moves';
export const MEASUREMENTS = Array.from({ length: 30 }, (_, i) => `m${String(i).padStart(2, '0')}`);
export const BASE = 1_700_000_000;

/** Writes a batch of every measurement at a time through one proxy; each acknowledged batch also goes to the reference. */
export class ReferenceWriter {
  /** Every point with a time (seconds) at or before this is acknowledged and in the reference. */
  ackedUpTo = BASE - 1;
  #next = BASE;
  #stopped = false;
  #running: Promise<void> | undefined;
  readonly #proxy: () => string;
  readonly #reference: string;

  constructor(proxy: () => string, reference: string) {
    this.#proxy = proxy;
    this.#reference = reference;
  }

  async batch(seconds: number): Promise<void> {
    const lines: string[] = [];
    for (let t = this.#next; t < this.#next + seconds; t++) for (const [i, m] of MEASUREMENTS.entries()) lines.push(`${m},host=h${t % 3} v=${(t * 7 + i) % 1000}i,f=${t % 97}.5 ${t}`);
    const body = lines.join('\n');
    const answer = await fetch(`${this.#proxy()}/write?db=${DATABASE}&precision=s`, { method: 'POST', body });
    if (answer.status !== 204) throw new Error(`cluster write answered ${answer.status}: ${await answer.text()}`);
    const reference = await fetch(`${this.#reference}/write?db=${DATABASE}&precision=s`, { method: 'POST', body });
    assert.equal(reference.status, 204);
    this.#next += seconds;
    this.ackedUpTo = this.#next - 1;
  }

  start(): void {
    this.#running = (async () => {
      while (!this.#stopped) {
        await this.batch(5);
        await sleep(20);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

const STATEMENTS = (cutoff: number) => [
  `SELECT count(v), sum(v) FROM /^m/ WHERE time <= ${cutoff}s`,
  `SELECT count(f), mean(f) FROM m03, m17 WHERE time <= ${cutoff}s AND time >= ${BASE}s GROUP BY time(60s), host`,
  'SHOW MEASUREMENTS',
  'SHOW TAG VALUES WITH KEY = host',
  'SHOW FIELD KEYS FROM m05',
];

/** What a client sees of the data up to `cutoff`: counts and sums, means by time window, SHOW answers (JSON each, comparable). */
export async function view(url: string, cutoff: number): Promise<string[]> {
  const answers: string[] = [];
  for (const q of STATEMENTS(cutoff)) answers.push(JSON.stringify((await influxQuery(url, q, { db: DATABASE })).results[0]));
  return answers;
}

/** An answer that says owners cannot be reached (right after faults), unlike an answer with wrong data. */
const UNREACHABLE = /not available|could not answer|no available owner/;

/**
 * Every proxy answers like the reference, for the data acknowledged so far; a
 * difference names the statement and the first differing place. A proxy may
 * say, for up to `unreachableMs`, that owners cannot be reached (e.g. an agent
 * and the memory manager both just restarted: the agent does not know where
 * its peers are yet); an answer with other data fails at once.
 */
export async function sameAsReference(proxies: string[], reference: string, writer: ReferenceWriter, what: string, unreachableMs = 0): Promise<void> {
  const started = Date.now();
  const cutoff = writer.ackedUpTo;
  const expected = await view(reference, cutoff);
  for (const proxy of proxies) {
    let actual = await view(proxy, cutoff);
    while (actual.some((answer) => UNREACHABLE.test(answer)) && Date.now() - started < unreachableMs) {
      await sleep(250);
      actual = await view(proxy, cutoff);
    }
    for (const [index, answer] of actual.entries()) {
      if (answer === expected[index]) continue;
      let at = 0;
      while (answer[at] === expected[index]![at]) at++;
      const around = (text: string) => text.slice(Math.max(0, at - 120), at + 120);
      assert.fail(`${what}: ${proxy} answers "${STATEMENTS(cutoff)[index]}" unlike the reference:\n  proxy:     ...${around(answer)}...\n  reference: ...${around(expected[index]!)}...`);
    }
  }
}

/**
 * Every unit is held exactly by its owners (nothing left elsewhere), and each
 * owner holds every acknowledged point of it (the reference's count up to the
 * writer's acknowledged time). Retried while sweeps and replays finish.
 */
export async function unitsOnTheirOwners(servers: ReadonlyMap<string, { url: string }>, members: string[], reference: string, writer: ReferenceWriter): Promise<void> {
  const counts = async (url: string, cutoff: number) => {
    const answer = await influxQuery(url, `SELECT count(v) FROM /^m/ WHERE time <= ${cutoff}s`, { db: DATABASE });
    return new Map<string, number>((answer.results[0].series ?? []).map((series: { name: string; values: number[][] }) => [series.name, series.values[0]![1]!]));
  };
  for (let waited = 0; ; waited += 500) {
    const cutoff = writer.ackedUpTo;
    const expected = await counts(reference, cutoff);
    const problems: string[] = [];
    for (const [name, server] of servers) {
      const held = await counts(server.url, cutoff);
      for (const measurement of MEASUREMENTS) {
        const owns = ownersOf(DATABASE, measurement, members, 2).includes(name);
        if (!owns && held.has(measurement)) problems.push(`${name} still holds ${measurement}`);
        if (owns && held.get(measurement) !== expected.get(measurement)) problems.push(`${name} holds ${held.get(measurement) ?? 0} of ${expected.get(measurement)} points of ${measurement}`);
      }
    }
    if (problems.length === 0) return;
    assert.ok(waited < 20_000, `units live exactly on their owners, whole: ${problems.join(', ')}`);
    await sleep(500);
  }
}

/** Three nodes (RF 2) holding `DATABASE`, a 4th registered but not a member, a reference influxd and a writer already running. */
export interface MoveLab {
  cluster: ClusterFixture;
  extra: { influxd: InfluxdServer; agent: AgentProcess };
  reference: InfluxdServer;
  writer: ReferenceWriter;
  stop(): Promise<void>;
}

export async function startMoveLab(options: { agentArgs: string[]; writeThrough: number; preloadBatches: number }): Promise<MoveLab> {
  const cluster = await startClusterFixture({ size: 3, etcd: false, agentArgs: options.agentArgs });
  // The database first: node-3 then does not join by itself (the cluster holds data).
  await influxQuery(cluster.agents[0]!.proxyUrl, `CREATE DATABASE ${DATABASE}`);
  const influxd = await startInfluxd();
  const agent = await startAgentProcess(['--manager', cluster.manager.url, '--cluster', 'fixture', '--node-name', 'node-3', '--influxd-url', influxd.url, '--data-dir', `${influxd.dir}/agent`, '--heartbeat-interval', '1', '--drift-interval', '0.5', ...options.agentArgs], { env: { CFLUX_SECRET: TEST_SECRET } });
  const reference = await startInfluxd();
  await influxQuery(reference.url, `CREATE DATABASE ${DATABASE}`);
  const writer = new ReferenceWriter(() => cluster.agents[options.writeThrough]!.proxyUrl, reference.url);
  for (let i = 0; i < options.preloadBatches; i++) await writer.batch(20);
  writer.start();
  const lab: MoveLab = {
    cluster,
    extra: { influxd, agent },
    reference,
    writer,
    async stop() {
      await writer.stop().catch(() => undefined);
      await lab.extra.agent.stop();
      await influxd.destroy();
      await reference.destroy();
      await cluster.stop();
    },
  };
  return lab;
}
