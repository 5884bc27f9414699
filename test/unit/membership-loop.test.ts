import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/logging.ts';
import { AgentLifecycle, type AgentState } from '../../src/agent/agent-lifecycle.ts';
import { InfluxdMonitor } from '../../src/agent/influxd/influxd-monitor.ts';
import type { MembershipApi, RegisteredNode, RegistrationBody } from '../../src/agent/membership/membership-api.ts';
import { MembershipLoop } from '../../src/agent/membership/membership-loop.ts';
import { CfluxError } from '../../src/shared/errors.ts';

const silent = createLogger({ level: 'silent', format: 'json' });

/** A scripted manager: counts calls, can forget nodes or fail. */
class ScriptedManager implements MembershipApi {
  nextId = 1;
  known = new Set<number>();
  failing = false;
  calls: string[] = [];
  ttl = 15;
  async register(cluster: string, body: RegistrationBody): Promise<RegisteredNode> {
    this.calls.push('register');
    if (this.failing) throw new CfluxError('UPSTREAM_UNAVAILABLE', 'manager down');
    const id = this.nextId++;
    this.known.add(id);
    return { ...body, id, cluster, ttl: this.ttl, alive: true };
  }
  async heartbeat(_cluster: string, node: RegisteredNode): Promise<'ok' | 'unknown'> {
    this.calls.push('heartbeat');
    if (this.failing) throw new CfluxError('UPSTREAM_UNAVAILABLE', 'manager down');
    return this.known.has(node.id) ? 'ok' : 'unknown';
  }
  async deregister(_cluster: string, node: RegisteredNode): Promise<void> {
    this.calls.push('deregister');
    this.known.delete(node.id);
  }
}

function setup(manager: ScriptedManager, intervalMs: number, registrationBackoff?: { baseMs: number; capMs: number }) {
  const lifecycle = new AgentLifecycle(silent);
  const states: AgentState[] = [];
  lifecycle.onChange((state) => states.push(state));
  let influxdUp = false;
  const monitor = new InfluxdMonitor({ url: 'http://influxd', ping: async () => (influxdUp ? { version: '1.6.7', authEnabled: false } : Promise.reject(new Error('down'))) }, 20, silent);
  const loop = new MembershipLoop({
    cluster: 'c',
    api: manager,
    influxd: monitor,
    lifecycle,
    logger: silent,
    describe: async (version) => ({ name: 'n', hostname: 'h', ip: [], 'bind-address': 'h:8888', 'proxy-address': 'h:8087', version, stats: {} }),
    collectStats: async () => ({}),
    heartbeatIntervalMs: intervalMs,
    ...(registrationBackoff ? { registrationBackoff } : {}),
  });
  return { lifecycle, states, monitor, loop, setInfluxd: (up: boolean) => (influxdUp = up) };
}

test('waits for influxd, registers with its version, heartbeats, re-registers on 404', async (t) => {
  const manager = new ScriptedManager();
  const { states, monitor, loop, setInfluxd } = setup(manager, 30);
  const stop = new AbortController();
  t.after(() => stop.abort());
  const running = Promise.all([monitor.run(stop.signal), loop.run(stop.signal)]);
  await sleep(100);
  assert.deepEqual(states, ['waiting-for-influxd']);
  assert.equal(manager.calls.length, 0);
  setInfluxd(true);
  for (let i = 0; i < 100 && !manager.calls.includes('heartbeat'); i++) await sleep(10);
  assert.equal(loop.node?.version, '1.6.7');
  assert.equal(loop.node?.id, 1);
  manager.known.clear(); // the manager restarted with an empty store
  for (let i = 0; i < 100 && loop.node?.id === 1; i++) await sleep(10);
  assert.equal(loop.node?.id, 2);
  assert.deepEqual(states.slice(0, 5), ['waiting-for-influxd', 'registering', 'running', 'registering', 'running']);
  stop.abort();
  await running;
  await loop.deregister(1000);
  assert.equal(manager.calls.at(-1), 'deregister');
  assert.equal(manager.known.size, 0);
});

test('an unreachable manager never stops the loop: registration retries until it answers', async (t) => {
  const manager = new ScriptedManager();
  manager.failing = true;
  // Short waits: with the shipped ones (full jitter up to 10 s) the test's outcome would depend on chance.
  const { monitor, loop, setInfluxd } = setup(manager, 30, { baseMs: 20, capMs: 100 });
  setInfluxd(true);
  const stop = new AbortController();
  t.after(() => stop.abort()); // a failed assertion must not leave the loop running (the file would never end)
  const running = Promise.all([monitor.run(stop.signal), loop.run(stop.signal)]);
  await sleep(1200);
  assert.ok(manager.calls.filter((c) => c === 'register').length >= 2, 'retried');
  assert.equal(loop.node, undefined);
  manager.failing = false;
  for (let i = 0; i < 300 && !loop.node; i++) await sleep(20);
  assert.ok(loop.node, 'registered once the manager answered');
  manager.failing = true; // heartbeats fail now: logged, loop goes on
  const before = manager.calls.length;
  await sleep(200);
  assert.ok(manager.calls.length > before + 2);
  stop.abort();
  await running;
});

test('the heartbeat interval is lowered below TTL/2', async () => {
  const manager = new ScriptedManager();
  manager.ttl = 3;
  const { monitor, loop, setInfluxd } = setup(manager, 5000);
  setInfluxd(true);
  await monitor.check();
  await loop.registerOnce(new AbortController().signal);
  assert.equal(loop.effectiveIntervalMs(), 1000);
  manager.ttl = 15;
  await loop.registerOnce(new AbortController().signal);
  assert.equal(loop.effectiveIntervalMs(), 5000);
});

test('a ping cut short by the agent stopping is no verdict on influxd: nothing logged, the status kept', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream });
  let answering = true;
  const ping = (signal?: AbortSignal) =>
    answering
      ? Promise.resolve({ version: '1.6.7', authEnabled: false })
      : new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('The operation was aborted')), { once: true }));
  const monitor = new InfluxdMonitor({ url: 'http://influxd', ping }, 10, logger);
  const stop = new AbortController();
  const running = monitor.run(stop.signal);
  await sleep(30);
  answering = false;
  await sleep(30);
  stop.abort();
  await running;
  assert.equal(monitor.status.reachable, true);
  assert.deepEqual(lines.filter((line) => line.includes('not reachable')), []);
});
