import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { cliEnv, startManagerProcess, type ManagerProcess } from '../helpers/manager-process.ts';
import { startInfluxd, type InfluxdServer } from '../helpers/servers.ts';

const run = promisify(execFile);
const CFLUX = fileURLToPath(new URL('../../bin/cflux.ts', import.meta.url));

async function agent(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CFLUX, 'agent', ...args], { cwd: options.cwd ?? tmpdir(), env: { ...cliEnv(), CFLUX_PEER_TOKEN: TEST_PEER_TOKEN, ...options.env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let influxd: InfluxdServer;
let manager: ManagerProcess;
before(async () => {
  [influxd, manager] = await Promise.all([startInfluxd(), startManagerProcess()]);
});
after(async () => {
  await manager?.stop();
  await influxd?.destroy();
});

test('every bad agent setting exits 2 with one line naming it', async () => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['--heartbeat-interval', '0'], {}, /^cflux agent: invalid setting --heartbeat-interval="0": expected a number of seconds/],
    [['--influxd-url', 'localhost:8086'], {}, /--influxd-url="localhost:8086"/],
    [['--influxd-url', 'http://a:1,http://b:2'], {}, /--influxd-url=.*expected one http/],
    [['--advertise-address', 'no-port'], {}, /--advertise-address="no-port": expected host:port/],
    [[], { CFLUX_PEER_LISTEN: 'everywhere' }, /CFLUX_PEER_LISTEN \(environment\)="everywhere"/],
    [['--replication-factor', '0'], {}, /--replication-factor="0": expected a whole number from 1 to 16/],
    [[], { CFLUX_ENDPOINT: ' , ' }, /CFLUX_ENDPOINT \(environment\).*at least one/],
    [['--influxd-credentials-file', '/nonexistent/creds'], {}, /--influxd-credentials-file="\/nonexistent\/creds": ENOENT/],
    [['--shutdown-timeout', 'soon'], {}, /--shutdown-timeout="soon"/],
    [[], { CFLUX_PEER_TOKEN: '' }, /missing setting CFLUX_PEER_TOKEN \(environment\) or --peer-token-file/],
    [[], { CFLUX_PEER_TOKEN: 'short' }, /CFLUX_PEER_TOKEN \(environment\): the peer token needs at least 16 characters/],
    [[], { CFLUX_SECRET: 'short' }, /CFLUX_SECRET \(environment\): the cluster secret needs at least 16 characters/],
    [['--influxd-ca', '/nonexistent/ca.pem'], {}, /--influxd-ca="\/nonexistent\/ca.pem": ENOENT/],
    [['--influxd-ca', CFLUX], {}, /--influxd-ca=.*: expected PEM certificates/],
  ];
  for (const [args, env, expected] of cases) {
    const { code, stderr } = await agent(args, { env });
    assert.equal(code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${stderr}`);
    assert.match(stderr, expected);
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
  }
});

test('node name precedence through the real process: flag > environment > .env > config.toml > POD_NAME default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cflux-agent-precedence-'));
  const base = ['--once', '--manager', manager.url, '--influxd-url', influxd.url, '--cluster', 'precedence', '--log-level', 'silent'];
  const nameOf = async (args: string[], env: Record<string, string> = {}) => {
    const result = await agent([...base, ...args], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout).name as string;
  };
  assert.equal(await nameOf([], { POD_NAME: 'influxdb-0' }), 'influxdb-0');
  writeFileSync(join(dir, 'config.toml'), 'node-name = "top-level"\n[agent]\nnode-name = "from-toml"\n');
  assert.equal(await nameOf([], { POD_NAME: 'influxdb-0' }), 'from-toml');
  writeFileSync(join(dir, '.env'), 'CFLUX_NODE_NAME=from-dotenv\n');
  assert.equal(await nameOf([]), 'from-dotenv');
  assert.equal(await nameOf([], { CFLUX_NODE_NAME: 'from-env' }), 'from-env');
  assert.equal(await nameOf(['--node-name', 'from-flag'], { CFLUX_NODE_NAME: 'from-env' }), 'from-flag');
});

test('influxd credentials come from the file (user:password) or INFLUX_USERNAME/PASSWORD, are checked, and never printed', async () => {
  const secured = await startInfluxd({ auth: true, adminUser: 'admin', adminPassword: 's3cret' });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cflux-creds-'));
    writeFileSync(join(dir, 'creds'), 'admin:s3cret\n');
    const ok = await agent(['--once', '--manager', manager.url, '--influxd-url', secured.url, '--influxd-credentials-file', join(dir, 'creds'), '--log-level', 'silent']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!ok.stdout.includes('s3cret') && !ok.stderr.includes('s3cret'), 'the password never appears in output');
    const viaEnv = await agent(['--once', '--manager', manager.url, '--influxd-url', secured.url, '--log-level', 'debug'], { env: { INFLUX_USERNAME: 'admin', INFLUX_PASSWORD: 's3cret' } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.ok(!viaEnv.stdout.includes('s3cret') && !viaEnv.stderr.includes('s3cret'), 'the password never appears in logs');
    const wrong = await agent(['--once', '--manager', manager.url, '--influxd-url', secured.url, '--log-level', 'silent'], { env: { INFLUX_USERNAME: 'admin', INFLUX_PASSWORD: 'wrong-pw' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /rejected the configured credentials \(401\)/);
    assert.ok(!wrong.stderr.includes('wrong-pw'));
  } finally {
    await secured.destroy();
  }
});
