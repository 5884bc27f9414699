// Moves of the data members against real processes: 3 nodes RF 2 with 30
// measurements and a writer that never stops; a 4th node is added, a node is
// removed, and a node is replaced by an empty disk under the same name.
// During and after each move every query through every proxy answers
// exactly like a reference influxd that got every acknowledged point, and
// afterwards each unit lives exactly on its owners.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ownersOf } from '../../src/cluster/placement.ts';
import { startAgentProcess, TEST_PEER_TOKEN, type AgentProcess } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, TEST_SECRET, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { DATABASE, MEASUREMENTS, sameAsReference, startMoveLab, unitsOnTheirOwners, type MoveLab, type ReferenceWriter } from '../helpers/move-reference.ts';
import { cliEnv, managerFetch } from '../helpers/manager-process.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));
describe('moves of the data members: add, remove, replace with an empty disk, under a continuous writer', () => {
  let cluster: ClusterFixture;
  let extra: { influxd: InfluxdServer; agent: AgentProcess };
  let reference: InfluxdServer;
  let writer: ReferenceWriter;
  let lab: MoveLab;
  const agents = () => [...cluster.agents, extra.agent];
  const proxies = () => agents().map((agent) => agent.proxyUrl);
  const cli = async (...args: string[]) => run(process.execPath, [CFLUX, 'members', ...args, '--manager', cluster.manager.url, '--cluster', 'fixture', '--agent', cluster.agents[0]!.peerUrl], { env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN }, timeout: 120_000 });
  const document = async () => ((await (await managerFetch(`${cluster.manager.url}/clusters/fixture`)).json()) as { metadata: { settings: { dataMembers: string[]; move?: { phase: string } } } }).metadata.settings;

  /** Starts the move detached, compares every proxy with the reference while it runs and after; then checks where every unit lives. */
  async function moveAndCompare(args: string[], whileRunning?: () => Promise<void>): Promise<string> {
    const started = await cli(...args, '--detach');
    let comparedDuring = 0;
    await whileRunning?.();
    for (let waited = 0; (await document()).move; waited += 500) {
      assert.ok(waited < 90_000, 'the move finishes within 90 s');
      if ((await document()).move?.phase === 'copying') {
        await sameAsReference(proxies(), reference.url, writer, `during ${args.join(' ')}`);
        comparedDuring++;
      }
      await sleep(500);
    }
    assert.ok(comparedDuring > 0 || whileRunning, `compared at least once while ${args.join(' ')} was copying`);
    await sleep(1500); // every agent applies the finished move
    await sameAsReference(proxies(), reference.url, writer, `after ${args.join(' ')}`);
    await noStrays();
    return started.stdout;
  }

  /** Every unit is on exactly its owners (after the sweep), each holding all of it. */
  async function noStrays(): Promise<void> {
    const servers = new Map([...cluster.influxds.map((influxd, index) => [`node-${index}`, influxd] as const), ['node-3', extra.influxd] as const]);
    await unitsOnTheirOwners(servers, (await document()).dataMembers, reference.url, writer);
  }

  before(async () => {
    lab = await startMoveLab({ agentArgs: ['--repair-interval', '0'], writeThrough: 0, preloadBatches: 20 });
    ({ cluster, extra, reference, writer } = lab);
  });
  after(async () => {
    await lab?.stop();
  });

  test('refusals: a name never registered, shrinking below RF, a move while one runs', async () => {
    await assert.rejects(cli('add', 'ghost'), (err: { stderr: string }) => /node "ghost" has never registered with the manager/.test(err.stderr));
    await assert.rejects(cli('replace', 'node-0', 'ghost'), (err: { stderr: string }) => /never registered/.test(err.stderr));
    await assert.rejects(cli('remove', 'node-7'), (err: { stderr: string }) => /node-7 is not a data member/.test(err.stderr));
    const plan = await cli('add', 'node-3', '--dry-run');
    assert.match(plan.stdout, /data members: node-0, node-1, node-2 -> node-0, node-1, node-2, node-3/);
    assert.match(plan.stdout, /units that move: \d+ of 30/);
    assert.deepEqual((await document()).dataMembers, ['node-0', 'node-1', 'node-2'], 'a dry run changes nothing');
  });

  test('add node-3: about half the units move to it, none elsewhere; answers stay exact', async () => {
    const before = new Map(MEASUREMENTS.map((m) => [m, ownersOf(DATABASE, m, ['node-0', 'node-1', 'node-2'], 2)]));
    const out = await moveAndCompare(['add', 'node-3']);
    const moved = MEASUREMENTS.filter((m) => !ownersOf(DATABASE, m, ['node-0', 'node-1', 'node-2', 'node-3'], 2).every((owner) => before.get(m)!.includes(owner)));
    assert.match(out, new RegExp(`units that move: ${moved.length} of 30`));
    for (const m of moved) assert.ok(ownersOf(DATABASE, m, ['node-0', 'node-1', 'node-2', 'node-3'], 2).includes('node-3'), `${m} moves only to node-3`);
    assert.deepEqual((await document()).dataMembers, ['node-0', 'node-1', 'node-2', 'node-3']);
  });

  test('remove node-1 (decommission): its units move to the others first, then it holds nothing', async () => {
    await assert.rejects(cli('add', 'node-3'), (err: { stderr: string }) => /already a data member/.test(err.stderr));
    await moveAndCompare(['remove', 'node-1']);
    assert.deepEqual((await document()).dataMembers, ['node-0', 'node-2', 'node-3']);
  });

  test('replace node-2 by an empty disk under the same name: never read while empty, refilled by the move', async () => {
    const index = 2;
    await cluster.agents[index]!.stop();
    const influxd = cluster.influxds[index]!;
    await influxd.stop();
    for (const part of ['data', 'wal', 'meta', 'agent']) await rm(join(influxd.dir, part), { recursive: true, force: true });
    await moveAndCompare(['replace', 'node-2', 'node-2'], async () => {
      await sameAsReference(proxies().filter((_, i) => i !== index), reference.url, writer, 'while node-2 is down and empty');
      await influxd.restart();
      const agent = await cluster.restartAgent(index);
      // A wiped node serves nobody until it has the cluster metadata (it answers 503 until then).
      for (let waited = 0; ; waited += 100) {
        const readiness = (await (await fetch(`${agent.peerUrl}/readyz`)).json()) as { ready: boolean };
        if (readiness.ready) break;
        if (waited >= 15_000) console.log(agent.records.filter((r) => Number(r['level']) >= 30).slice(-30).map((r) => JSON.stringify(r)).join('\n'));
        assert.ok(waited < 15_000, `the replaced node becomes ready: ${JSON.stringify(readiness)}`);
        await sleep(100);
      }
    });
    assert.deepEqual((await document()).dataMembers, ['node-0', 'node-2', 'node-3']);
  });
});
