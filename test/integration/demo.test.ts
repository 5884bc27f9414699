import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startDemo } from '../helpers/demo-process.ts';

test('cflux demo: 3 influxd + 3 agents registered with an in-memory manager; Ctrl-C stops everything', async () => {
  const demo = await startDemo();
  const { child, exited } = demo;
  let output = demo.output();
  const rows = output.split('\n').filter((line) => /^\d+\s+influx-\d\s/.test(line));
  assert.equal(rows.length, 3, output);
  assert.ok(rows.every((row) => /\syes\s/.test(row)), 'every node alive');
  const managerUrl = /manager: (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
  const influxdUrls = [...output.matchAll(/influx-\d {2}(http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!);
  assert.equal(influxdUrls.length, 3);
  for (const url of influxdUrls) assert.equal((await fetch(`${url}/ping`)).status, 204);
  const tokenFile = /its token is in (\S+)\)/.exec(output)![1]!;
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.equal((await fetch(`${managerUrl}/nodes/default`)).status, 401, 'the demo manager wants its token');
  assert.equal(((await (await fetch(`${managerUrl}/nodes/default`, { headers: { authorization: `Bearer ${token}` } })).json()) as unknown[]).length, 3);
  // The peer token file lets `cflux repair` (as printed) run against the demo.
  const peerTokenFile = /export CFLUX_PEER_TOKEN_FILE=(\S+)/.exec(output)![1]!;
  const agentUrl = /cflux repair --agent (\S+) --dry-run/.exec(output)![1]!;
  const repair = await fetch(`${agentUrl}/peer/v1/repair?dry-run=true`, { method: 'POST', headers: { authorization: `Bearer ${readFileSync(peerTokenFile, 'utf8').trim()}` } });
  assert.equal(repair.status, 200);
  assert.match(await repair.text(), /"done"/);

  child.kill('SIGINT');
  assert.equal(await exited, 0, output);
  output = demo.output();
  assert.match(output, /^SIGINT received: shutting down\nstopped$/m, 'Ctrl-C says when everything has stopped');
  for (const url of influxdUrls) await assert.rejects(fetch(`${url}/ping`), 'influxd stopped');
  const dirs = [...output.matchAll(/(\/\S*cflux-influxd-\S+)/g)].map((m) => m[1]!);
  for (const dir of dirs) assert.equal(existsSync(dir), false);
  assert.equal(existsSync(tokenFile), false, 'the token file is removed with the demo');
  assert.equal(existsSync(peerTokenFile), false, 'and the peer token file');
});
