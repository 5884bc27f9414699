import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { discoverHost, resolveAdvertisedAddress, resolveNodeName } from '../../src/agent/discovery/host-discovery.ts';
import { readCgroupLimits } from '../../src/agent/membership/load-stats.ts';

function nic(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}

const interfaces = () => ({
  lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
  eth0: [nic('fe80::1', 'IPv6'), nic('2001:db8::5', 'IPv6'), nic('10.1.2.3', 'IPv4')],
  eth1: [nic('192.168.7.7', 'IPv4')],
});

test('discovery: non-internal addresses, IPv4 first, no link-local IPv6', () => {
  const host = discoverHost({ env: {}, hostname: () => 'box', interfaces });
  assert.deepEqual(host, { hostname: 'box', ips: ['10.1.2.3', '192.168.7.7', '2001:db8::5'] });
});

test('discovery: POD_IP and POD_IPS come first, without duplicates or garbage', () => {
  const host = discoverHost({ env: { POD_IP: '192.168.7.7', POD_IPS: '192.168.7.7, fd00::9,not-an-ip' }, hostname: () => 'pod', interfaces });
  assert.deepEqual(host.ips, ['192.168.7.7', 'fd00::9', '10.1.2.3', '2001:db8::5']);
});

test('node name: --node-name, else POD_NAME, else hostname', () => {
  assert.equal(resolveNodeName('given', { POD_NAME: 'influxdb-0' }, 'h'), 'given');
  assert.equal(resolveNodeName(undefined, { POD_NAME: 'influxdb-0' }, 'h'), 'influxdb-0');
  assert.equal(resolveNodeName(undefined, {}, 'h'), 'h');
});

test('advertised address: explicit, else first IP with the peer port, never 0.0.0.0', () => {
  const any = { host: '0.0.0.0', port: 8888 };
  assert.equal(resolveAdvertisedAddress({ host: 'influxdb-0.influxdb', port: 9999 }, ['10.0.0.1'], any), 'influxdb-0.influxdb:9999');
  assert.equal(resolveAdvertisedAddress(undefined, ['10.0.0.1', '10.0.0.2'], any), '10.0.0.1:8888');
  assert.equal(resolveAdvertisedAddress(undefined, ['fd00::1'], any), '[fd00::1]:8888');
  assert.equal(resolveAdvertisedAddress(undefined, ['10.0.0.1'], { host: '127.0.0.5', port: 1 }), '127.0.0.5:1');
  assert.equal(resolveAdvertisedAddress(undefined, [], any), '127.0.0.1:8888');
});

test('cgroup v2 limits: memory.max, memory.current, cpu.max; "max" means none', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cgv2-'));
  writeFileSync(join(root, 'memory.max'), '536870912\n');
  writeFileSync(join(root, 'memory.current'), '1048576\n');
  writeFileSync(join(root, 'cpu.max'), '150000 100000\n');
  assert.deepEqual(await readCgroupLimits(root), { memoryLimitBytes: 536870912, memoryUsedBytes: 1048576, cpuLimitCores: 1.5 });
  writeFileSync(join(root, 'memory.max'), 'max\n');
  writeFileSync(join(root, 'cpu.max'), 'max 100000\n');
  assert.deepEqual(await readCgroupLimits(root), { memoryUsedBytes: 1048576 });
});

test('cgroup v1 limits, and no cgroup at all', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cgv1-'));
  mkdirSync(join(root, 'memory'));
  mkdirSync(join(root, 'cpu'));
  writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '268435456\n');
  writeFileSync(join(root, 'memory', 'memory.usage_in_bytes'), '4096\n');
  writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '50000\n');
  writeFileSync(join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
  assert.deepEqual(await readCgroupLimits(root), { memoryLimitBytes: 268435456, memoryUsedBytes: 4096, cpuLimitCores: 0.5 });
  writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
  writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
  assert.deepEqual(await readCgroupLimits(root), {});
  assert.deepEqual(await readCgroupLimits(join(root, 'missing')), {});
});
