import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile, loadEnvironment } from '../../src/shared/config/sources.ts';
import { parseHostPort } from '../../src/shared/config/parsers.ts';
import { resolveSettings } from '../../src/shared/config/setting.ts';
import { InvalidSettingError } from '../../src/shared/errors.ts';
import { managerSettings } from '../../src/manager/manager-settings.ts';
import { agentSettings } from '../../src/agent/agent-settings.ts';

const none = { flags: {}, env: {}, file: {} };

test('defaults resolve with durations in milliseconds', () => {
  const options = resolveSettings(managerSettings, none);
  assert.deepEqual(options.listen, { host: '0.0.0.0', port: 8000 });
  assert.equal(options.ttl, 15_000);
  assert.equal(options.pollTimeout, 300_000);
  assert.deepEqual(options.etcdEndpoints, []);
  assert.equal(options.logLevel, 'info');
});

test('flag beats environment beats config file beats default', () => {
  const sources = { flags: { ttl: '4' }, env: { CLUSTERFLUX_ETCD_TTL: '5', CFLUX_POLL_TIMEOUT: '6' }, file: { ttl: 7, 'poll-timeout': 8, 'log-level': 'debug' } };
  const options = resolveSettings(managerSettings, sources);
  assert.equal(options.ttl, 4000);
  assert.equal(options.pollTimeout, 6000);
  assert.equal(options.logLevel, 'debug');
});

test('a bad value names the setting, its source and what it accepts', () => {
  const cases: Array<[Record<string, unknown>, Record<string, string>, Record<string, unknown>, RegExp]> = [
    [{ ttl: 'abc' }, {}, {}, /^invalid setting --ttl="abc": expected a number of seconds from 2 to 3600$/],
    [{}, { CLUSTERFLUX_ETCD_ENDPOINTS: 'ftp://x' }, {}, /CLUSTERFLUX_ETCD_ENDPOINTS \(environment\).*http/],
    [{}, {}, { listen: 'nowhere' }, /listen in .*host:port/],
    [{ logLevel: 'loud' }, {}, {}, /--log-level.*one of fatal, error/],
    [{ maxBodySize: '12' }, {}, {}, /--max-body-size.*1024/],
  ];
  for (const [flags, env, file, expected] of cases) {
    assert.throws(() => resolveSettings(managerSettings, { flags, env, file, filePath: 'c.toml' }), (err: unknown) => {
      assert.ok(err instanceof InvalidSettingError);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('--internal-stats-interval: 10 s by default, 0 turns it off, else 1 to 3600 s', () => {
  assert.equal(resolveSettings(agentSettings, none).internalStatsInterval, 10_000);
  assert.equal(resolveSettings(agentSettings, { ...none, flags: { internalStatsInterval: '0' } }).internalStatsInterval, 0);
  assert.equal(resolveSettings(agentSettings, { ...none, env: { CFLUX_INTERNAL_STATS_INTERVAL: '2.5' } }).internalStatsInterval, 2500);
  for (const bad of ['0.5', '3601', '-1', 'often']) {
    assert.throws(() => resolveSettings(agentSettings, { ...none, flags: { internalStatsInterval: bad } }), /invalid setting --internal-stats-interval=".*": expected 0 \(off\) or a number of seconds from 1 to 3600$/);
  }
});

test('etcd endpoints accept a comma list or a TOML array', () => {
  const fromEnv = resolveSettings(managerSettings, { ...none, env: { CLUSTERFLUX_ETCD_ENDPOINTS: 'http://a:2379, http://b:2379/' } });
  assert.deepEqual(fromEnv.etcdEndpoints, ['http://a:2379', 'http://b:2379']);
  const fromFile = resolveSettings(managerSettings, { ...none, file: { 'etcd-endpoints': ['http://c:2379'] } });
  assert.deepEqual(fromFile.etcdEndpoints, ['http://c:2379']);
});

test('host:port forms', () => {
  assert.deepEqual(parseHostPort(':8000'), { host: '0.0.0.0', port: 8000 });
  assert.deepEqual(parseHostPort('[::1]:9'), { host: '::1', port: 9 });
  assert.deepEqual(parseHostPort('10.0.0.1:0'), { host: '10.0.0.1', port: 0 });
  assert.equal(parseHostPort('host:70000'), undefined);
  assert.equal(parseHostPort('8000'), undefined);
});

test('.env fills only what the real environment leaves unset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cflux-env-'));
  writeFileSync(join(dir, '.env'), 'CFLUX_LISTEN=:1\nCLUSTER=from-dotenv\n');
  const env = loadEnvironment({ CFLUX_LISTEN: ':2' }, join(dir, '.env'));
  assert.equal(env['CFLUX_LISTEN'], ':2');
  assert.equal(env['CLUSTER'], 'from-dotenv');
});

test('TOML: top-level keys for every command, [command] tables override', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cflux-toml-'));
  const path = join(dir, 'config.toml');
  writeFileSync(path, 'log-level = "warn"\nttl = 9\n[manager]\nttl = 20\n[agent]\nttl = 30\n');
  const { file, filePath } = loadConfigFile('manager', undefined, [join(dir, 'missing.toml'), path]);
  assert.equal(filePath, path);
  assert.deepEqual(file, { 'log-level': 'warn', ttl: 20 });
  assert.throws(() => loadConfigFile('manager', join(dir, 'nope.toml')), /--config=.*file not found/);
  writeFileSync(path, 'ttl = = 3');
  assert.throws(() => loadConfigFile('manager', path), InvalidSettingError);
});

test('the agent flags parseArgs reads are the ones commander reads; anything else is left to commander', async () => {
  const { Command } = await import('commander');
  const { addSettingOptions } = await import('../../src/shared/config/cli-options.ts');
  const { parseSettingArgs } = await import('../../src/shared/config/setting-args.ts');
  const viaCommander = (args: string[]) => {
    const command = addSettingOptions(new Command('agent').exitOverride(), agentSettings);
    command.parse(args, { from: 'user' });
    return command.opts();
  };
  for (const args of [
    [],
    ['--manager', 'http://m:8000', '--listen=:9087', '--once', '--insecure-manager'],
    ['--log-level', 'info', '--log-level', 'debug', '--config', '/etc/x.toml'],
    ['--heartbeat-interval', '5', '--peer-listen', '127.0.0.1:0'],
  ]) {
    assert.deepEqual(parseSettingArgs(agentSettings, args), viaCommander(args), args.join(' '));
  }
  for (const args of [['--help'], ['-h'], ['--bogus'], ['--listen'], ['extra'], ['--once=yes'], ['--', 'x']]) {
    assert.equal(parseSettingArgs(agentSettings, args), undefined, args.join(' '));
  }
});
