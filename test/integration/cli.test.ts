import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliEnv, startManagerProcess, type ManagerProcess, managerFetch, testDocument } from '../helpers/manager-process.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

async function cflux(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CFLUX, ...args], { cwd: options.cwd ?? tmpdir(), env: { ...cliEnv(), ...options.env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('cflux nodes and cflux meta against a running manager', () => {
  let manager: ManagerProcess;
  before(async () => {
    manager = await startManagerProcess();
    await managerFetch(`${manager.url}/nodes/demo`, { method: 'POST', body: JSON.stringify({ name: 'influx-0', hostname: 'host-0', ip: ['10.0.0.5', 'fd00::5'], 'bind-address': '10.0.0.5:8888' }) });
    await managerFetch(`${manager.url}/clusters/demo/versions/0`, { method: 'POST', body: JSON.stringify(testDocument()) });
  });
  after(async () => {
    await manager?.stop();
  });

  test('nodes prints a table with id, name, hostname, IPs, bind and proxy address, agent version, alive, ready, last heartbeat', async () => {
    const { code, stdout } = await cflux(['nodes', '--manager', manager.url, '--cluster', 'demo']);
    assert.equal(code, 0);
    const [header, row] = stdout.trim().split('\n');
    assert.match(header!, /^ID\s+NAME\s+HOSTNAME\s+IP\s+BIND ADDRESS\s+PROXY ADDRESS\s+AGENT\s+ALIVE\s+READY\s+LAST HEARTBEAT$/);
    // A node registered by hand (no agent stats): its agent version and readiness are not known.
    assert.match(row!, /^\d+\s+influx-0\s+host-0\s+10\.0\.0\.5,fd00::5\s+10\.0\.0\.5:8888\s+\S+\s+-\s+yes\s+\?\s+\d+s ago$/);
  });

  test('the manager and cluster come from CFLUX_ENDPOINT and CLUSTER too; --json prints JSON', async () => {
    const { stdout } = await cflux(['nodes', '--json'], { env: { CFLUX_ENDPOINT: manager.url, CLUSTER: 'demo' } });
    assert.equal(JSON.parse(stdout)[0].name, 'influx-0');
  });

  test('meta get and meta history', async () => {
    const get = await cflux(['meta', 'get', '--manager', manager.url, '--cluster', 'demo']);
    assert.deepEqual(JSON.parse(get.stdout), { version: 1, metadata: testDocument() });
    const history = await cflux(['meta', 'history', '--manager', manager.url, '--cluster', 'demo']);
    assert.match(history.stdout, /^VERSION\s+WRITTEN AT\s+AGE\s+BYTES\n1\s+\S+Z\s+\d+s ago\s+100\n$/);
  });

  test('an unreachable manager is a clear error and exit 1', async () => {
    const { code, stderr } = await cflux(['nodes', '--manager', 'http://127.0.0.1:1']);
    assert.equal(code, 1);
    assert.match(stderr, /^cflux nodes: manager unreachable after 2 attempts .*127\.0\.0\.1:1/);
  });
});

describe('settings are validated at start', () => {
  test('every bad value exits 2 with one line naming the setting', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['manager', '--ttl', '0'], {}, /--ttl="0"/],
      [['manager', '--listen', 'localhost'], {}, /--listen="localhost"/],
      [['manager'], { CLUSTERFLUX_ETCD_ENDPOINTS: 'etcd:2379' }, /CLUSTERFLUX_ETCD_ENDPOINTS/],
      [['manager'], { CFLUX_LOG_LEVEL: 'chatty' }, /CFLUX_LOG_LEVEL/],
      [['manager', '--config', '/nonexistent.toml'], {}, /--config=.*file not found/],
      [['nodes', '--cluster', 'x'.repeat(129)], {}, /--cluster=/],
      [['manager', '--no-such-flag'], {}, /unknown option/],
    ];
    for (const [args, env, expected] of cases) {
      const { code, stderr } = await cflux(args, { env });
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr.split('\n')[0]!, expected);
    }
  });

  test('precedence through the real process: flag > environment > .env > config.toml', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cflux-precedence-'));
    writeFileSync(join(dir, 'config.toml'), '[manager]\nttl = "zero"\nlisten = "bogus"\n');
    writeFileSync(join(dir, '.env'), 'CFLUX_LISTEN=also-bogus\n');
    // .env beats the TOML file: the error names the .env value, not TOML's
    let result = await cflux(['manager'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /CFLUX_LISTEN \(environment\)="also-bogus"/);
    // the real environment beats .env
    result = await cflux(['manager'], { cwd: dir, env: { CFLUX_LISTEN: 'env-bogus' } });
    assert.match(result.stderr, /CFLUX_LISTEN \(environment\)="env-bogus"/);
    // a flag beats them all, and the next bad value (TOML's ttl) is reported
    result = await cflux(['manager', '--listen', '127.0.0.1:0'], { cwd: dir, env: { CFLUX_LISTEN: 'env-bogus' } });
    assert.match(result.stderr, /ttl in .*config\.toml="zero"/);
  });
});

describe('operators\' errors', () => {
  test('a port already taken names the flag that moves it; the command exits 1', async () => {
    const holder = await startManagerProcess();
    try {
      const port = new URL(holder.url).port;
      const manager = await cflux(['manager', '--listen', `127.0.0.1:${port}`, '--insecure']);
      assert.equal(manager.code, 1);
      assert.match(manager.stderr, new RegExp(`^cflux manager: cannot start: 127\\.0\\.0\\.1:${port} is already in use by another process: stop it, or choose another address with --listen \\(CFLUX_LISTEN\\)$`, 'm'));
      const demo = await cflux(['demo', '--manager-port', port]);
      assert.equal(demo.code, 1);
      assert.match(demo.stderr, /is already in use by another process: stop it, or choose another address with --manager-port/);
    } finally {
      await holder.stop();
    }
  });

  test('a missing node name is a usage error (exit 2), as the README says', async () => {
    for (const args of [['members', 'add'], ['members', 'replace', 'a'], ['nodes', 'remove']]) {
      const { code, stderr } = await cflux([...args, '--manager', 'http://127.0.0.1:1']);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /needs (a node name|OLD and NEW node names|a node id)/);
    }
  });

  test('cflux --help and cflux agent --help describe the proxy', async () => {
    assert.match((await cflux(['--help'])).stdout, /InfluxDB-compatible\s+proxy/);
    assert.match((await cflux(['agent', '--help'])).stdout, /InfluxDB-compatible proxy on --listen/);
  });
});
