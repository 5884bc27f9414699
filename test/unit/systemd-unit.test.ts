// Offline check of deploy/systemd/cflux-agent.service with `systemd-analyze verify`
// (where installed), plus the ordering and hardening lines the unit promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UNIT = 'cflux-agent.service';
const unitText = readFileSync(new URL(`../../deploy/systemd/${UNIT}`, import.meta.url), 'utf8');
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const skip = ANALYZE === undefined ? 'systemd-analyze not installed: cannot verify the unit here' : false;

/** Lines `Key=value` of one section, comments and blank lines dropped. */
function section(text: string, name: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) current = header[1] ?? '';
    else if (current === name) out.push(line);
  }
  return out;
}

/**
 * `systemd-analyze verify` on a copy of `text` in a temp dir. verify checks that
 * ExecStart's binary exists (/usr/bin/cflux is not installed here), so it points
 * at node; and that BindsTo= units exist, so a stub influxdb.service sits next to
 * the copy (units in the directories of the files named on the command line win
 * over the system's). Returns the exit status and everything printed.
 */
function verify(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cflux-unit-'));
  try {
    const copy = text.replace(/^ExecStart=\/usr\/bin\/cflux /m, `ExecStart=${process.execPath} `);
    writeFileSync(join(dir, UNIT), copy);
    writeFileSync(join(dir, 'influxdb.service'), `[Service]\nExecStart=${process.execPath}\n`);
    const run = spawnSync(ANALYZE ?? 'systemd-analyze', ['verify', '--man=no', join(dir, UNIT)], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' },
    });
    if (run.error) throw run.error;
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('systemd-analyze verify accepts cflux-agent.service', { skip }, () => {
  assert.match(unitText, /^ExecStart=\/usr\/bin\/cflux agent$/m);
  const { status, output } = verify(unitText);
  // verify exits 0 on unknown keys and bad values (it only warns): any output fails.
  assert.equal(output, '', `systemd-analyze verify complained:\n${output}`);
  assert.equal(status, 0);
});

test('systemd-analyze verify rejects broken copies', { skip }, async (t) => {
  const broken: Record<string, [RegExp, string, RegExp]> = {
    'bad Restart= value': [/^Restart=on-failure$/m, 'Restart=sometimes', /restart specifier.*sometimes/i],
    'unknown directive': [/^RestartSec=2$/m, 'RestartSec=2\nRestartSecs=2', /Unknown key .?RestartSecs/i],
    'missing BindsTo= unit': [/^BindsTo=influxdb\.service$/m, 'BindsTo=no-such-cflux-test.service', /no-such-cflux-test\.service not found/],
    'missing ExecStart binary': [/^ExecStart=\/usr\/bin\/cflux /m, 'ExecStart=/nonexistent/cflux ', /not executable|No such file/i],
  };
  for (const [name, [from, to, expected]] of Object.entries(broken)) {
    await t.test(name, () => {
      assert.match(unitText, from, 'the line to break must exist');
      const { status, output } = verify(unitText.replace(from, to));
      assert.match(output, expected);
      assert.ok(status !== 0 || output !== '', 'a broken unit must produce an error');
    });
  }
});

test('ordering, lifecycle and hardening lines', () => {
  const unit = section(unitText, 'Unit');
  const service = section(unitText, 'Service');
  for (const line of ['After=network-online.target influxdb.service', 'Wants=network-online.target',
    'BindsTo=influxdb.service']) {
    assert.ok(unit.includes(line), `[Unit] lacks ${line}`);
  }
  assert.ok(section(unitText, 'Install').includes('WantedBy=influxdb.service'), 'starting influxdb starts the agent');
  for (const line of [
    'EnvironmentFile=-/etc/default/cflux-agent', 'ExecStart=/usr/bin/cflux agent',
    'Restart=on-failure', 'RestartSec=2', 'TimeoutStopSec=30', 'KillSignal=SIGTERM',
    'User=cflux', 'Group=cflux', 'StateDirectory=cflux', 'Environment=CFLUX_DATA_DIR=/var/lib/cflux',
    'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
    'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectKernelLogs=yes', 'ProtectControlGroups=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK', 'RestrictNamespaces=yes',
    'LockPersonality=yes', 'MemoryDenyWriteExecute=no', 'SystemCallArchitectures=native', 'CapabilityBoundingSet=',
  ]) {
    assert.ok(service.includes(line), `[Service] lacks ${line}`);
  }
  // Each key once: a later duplicate would silently override (or, for lists, extend) it.
  const keys = service.map((l) => l.slice(0, l.indexOf('='))).filter((k) => k !== 'Environment');
  assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], 'duplicate keys in [Service]');
});
