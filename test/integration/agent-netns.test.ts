import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.ts';
import { startManagerProcess, type ManagerProcess, managerFetch } from '../helpers/manager-process.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

// A private host of our own: a network namespace joined to this one by a veth
// pair. Addresses come from 10.213.<n>.0/24, which exists only inside this test.
const subnet = 10 + (process.pid % 200);
const NS = `cflux-test-${process.pid}`;
const HOST_IF = `cfh${process.pid % 100000}`;
const NS_IF = `cfn${process.pid % 100000}`;
const HOST_IP = `10.213.${subnet}.1`;
const NS_IP = `10.213.${subnet}.2`;

function sh(...args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });
}

function whyNamespacesUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    sh('ip', 'netns', 'add', NS);
    return undefined;
  } catch (err) {
    return `ip netns is not permitted here: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
}

const skip = whyNamespacesUnavailable();
if (skip) console.log(`# skipping the network-namespace test: ${skip}`);

let influxd: InfluxdServer;
let manager: ManagerProcess;
let forwarder: Server;
before(async () => {
  if (skip) return;
  sh('ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  sh('ip', 'link', 'set', NS_IF, 'netns', NS);
  sh('ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF);
  sh('ip', 'link', 'set', HOST_IF, 'up');
  sh('ip', 'netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/24`, 'dev', NS_IF);
  sh('ip', 'netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  sh('ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  influxd = await startInfluxd();
  manager = await startManagerProcess({ extraArgs: ['--listen', `${HOST_IP}:0`] });
  // influxd listens on loopback; forward HOST_IP:port to it so the namespace can reach it.
  forwarder = createServer((socket) => {
    const upstream = connect(influxd.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => forwarder.listen(0, HOST_IP, resolve));
});
after(async () => {
  if (skip) return;
  await manager?.stop();
  forwarder?.close();
  await influxd?.destroy();
  try {
    sh('ip', 'link', 'del', HOST_IF);
  } catch {
    // already gone with the namespace
  }
  sh('ip', 'netns', 'del', NS);
});

test('an agent on its own network host discovers its address and advertises it', { skip }, async () => {
  const managerUrl = `http://${HOST_IP}:${manager.port}`;
  const influxdUrl = `http://${HOST_IP}:${(forwarder.address() as { port: number }).port}`;
  let agent: AgentProcess | undefined;
  try {
    agent = await startAgentProcess(['--manager', managerUrl, '--cluster', 'netns', '--influxd-url', influxdUrl, '--peer-listen', '0.0.0.0:18888', '--listen', '0.0.0.0:18087'], {
      spawnCommand: ['ip', 'netns', 'exec', NS],
    });
    let node: any;
    for (let i = 0; i < 100 && !node; i++) {
      node = ((await (await managerFetch(`${managerUrl}/nodes/netns`)).json()) as any[])[0];
      if (!node) await sleep(100);
    }
    assert.ok(node, 'the agent registered from inside the namespace');
    assert.deepEqual(node.ip, [NS_IP], 'only the namespace address is discovered (loopback is internal)');
    assert.equal(node['bind-address'], `${NS_IP}:18888`);
    assert.equal(node['proxy-address'], `${NS_IP}:18087`);
    // Reachable at once; ready once it has read the cluster metadata (a moment after registering).
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await fetch(`http://${node['bind-address']}/readyz`)).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, 'the advertised address is reachable from another host, and the agent gets ready');
  } finally {
    await agent?.stop();
  }
});
