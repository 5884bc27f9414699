// The agent's memory settings (docs/agent.md "Memory") are the same in every
// shipped unit and in what the benchmarks run (test/helpers/shipped-agent-flags.ts),
// and they reach the agent only, never the manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { envOf, find } from '../helpers/kubernetes-manifests.ts';
import { SHIPPED_AGENT_ENV, SHIPPED_MANAGER_ENV } from '../helpers/shipped-agent-flags.ts';

const text = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test("kubernetes: the agent sidecar has the agent's memory settings, the manager its own", () => {
  const pod = find(StatefulSet, 'influxdb').spec?.template.spec;
  const agent = envOf(pod!.initContainers!.find((c) => c.name === 'agent')!);
  for (const [name, value] of Object.entries(SHIPPED_AGENT_ENV)) assert.equal(agent.get(name)?.value, value, name);
  const manager = envOf(find(Deployment, 'cflux-manager').spec!.template.spec!.containers[0]!);
  for (const name of Object.keys(SHIPPED_AGENT_ENV)) assert.equal(manager.get(name)?.value, SHIPPED_MANAGER_ENV[name], `manager: ${name}`);
});

test('systemd: the agent unit sets the memory settings', () => {
  const lines = text('deploy/systemd/cflux-agent.service').split('\n').map((line) => line.trim());
  for (const [name, value] of Object.entries(SHIPPED_AGENT_ENV)) assert.ok(lines.includes(`Environment=${name}=${value}`), `Environment=${name}=${value}`);
});

test('Dockerfile: not set for every process of the image, shown for `docker run ... agent`', () => {
  const dockerfile = text('Dockerfile');
  for (const [name, value] of Object.entries(SHIPPED_AGENT_ENV)) {
    assert.doesNotMatch(dockerfile, new RegExp(`^ENV .*${name}`, 'm'), `${name} is the agent's, not the manager's`);
    assert.ok(dockerfile.includes(`-e ${name}=${value}`), `docker run example sets ${name}=${value}`);
  }
});
