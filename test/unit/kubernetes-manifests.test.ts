// Offline validation of kubernetes/*.yaml and kubernetes/variants/*.yaml: every
// document is checked against the Kubernetes OpenAPI schema (kubernetes-models),
// then against ClusterFlux's own contracts (docs/design.md ports and names, and
// the security defaults of kubernetes/README.md). No cluster needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { root, files, variantFiles, base, variants, loaded, baseObjs, findIn, find, brokenCopy, workloadsIn, workloads, matches, containersOf, probePort, envOf, argsOf, probesOf, secretFileAt, secretRefsIn, secretProblems, exposureProblems, policyFlows, EXPECTED_INGRESS, EXPECTED_EGRESS } from '../helpers/kubernetes-manifests.ts';
import type { LabelSelector } from '../helpers/kubernetes-manifests.ts';
import type { IContainer, IProbe } from 'kubernetes-models/v1';
import type { INetworkPolicyPeer, INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1';

test('every manifest validates against the Kubernetes schema', async (t) => {
  for (const f of ['etcd.yaml', 'manager.yaml', 'influxdb.yaml', 'network-policies.yaml']) assert.ok(files.includes(f), `no ${f} in ${files.join(', ')}`);
  assert.ok(variantFiles.includes('variants/manager-nodeport.yaml'), `no variants/manager-nodeport.yaml in ${variantFiles.join(', ')}`);
  for (const { file, obj } of loaded) {
    await t.test(`${file}: ${obj.kind}/${obj.metadata?.name}`, () => {
      obj.validate();
      assert.ok(obj.metadata?.name, 'metadata.name is required');
      // `kubectl apply -n X -f kubernetes/` must decide the namespace.
      assert.equal(obj.metadata.namespace, undefined, 'manifests must be namespace-less');
    });
  }
  // The base files must not collide; a variant may replace a base object (same
  // kind and name: applied after the base), but not repeat one of its own.
  const ids = base.map((l) => `${l.obj.kind}/${l.obj.metadata?.name}`);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'duplicate objects');
  for (const f of variantFiles) {
    const own = variants.filter((l) => l.file === f).map((l) => `${l.obj.kind}/${l.obj.metadata?.name}`);
    assert.deepEqual(own.filter((id, i) => own.indexOf(id) !== i), [], `${f}: duplicate objects`);
  }
});

test('selectors find their pods', () => {
  for (const w of workloads()) {
    assert.ok(matches(w.spec?.selector.matchLabels, w.spec?.template.metadata?.labels),
      `${w.kind}/${w.metadata?.name}: selector does not match its pod template`);
  }
  for (const { file, obj } of loaded) {
    const labels = obj instanceof Service ? obj.spec?.selector
      : obj instanceof PodDisruptionBudget ? obj.spec?.selector?.matchLabels
      : obj instanceof NetworkPolicy ? obj.spec?.podSelector.matchLabels : undefined;
    if (labels === undefined) continue;
    // Variants select pods of the base installation.
    assert.ok(workloadsIn(baseObjs).some((w) => matches(labels, w.spec?.template.metadata?.labels)),
      `${file}: ${obj.kind}/${obj.metadata?.name}: selector matches no workload`);
  }
});

test('every pod keeps Service env vars out and runs as non-root', () => {
  for (const w of workloads()) {
    const pod = w.spec?.template.spec;
    assert.equal(pod?.enableServiceLinks, false, `${w.kind}/${w.metadata?.name}: enableServiceLinks must be false`);
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.kind}/${w.metadata?.name}: runAsNonRoot`);
    // Secret files are mounted 0440 root:fsGroup, so the group must be the one the containers run as.
    if (pod.volumes?.some((v) => v.secret)) {
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, `${w.kind}/${w.metadata?.name}: fsGroup must let the containers read the Secret files`);
      for (const v of pod.volumes.filter((vol) => vol.secret)) assert.equal(v.secret?.defaultMode, 0o440, `${w.kind}/${w.metadata?.name}: volume ${v.name} mode 0440`);
    }
  }
});

test('nothing is published outside the cluster by default (no NodePort, LoadBalancer, hostPort)', () => {
  assert.deepEqual(exposureProblems(baseObjs), []);
});

test('every secret comes from a Secret; no secret value, no insecure switch', () => {
  assert.deepEqual(secretProblems(baseObjs), []);
  assert.deepEqual(secretProblems(variants.map((l) => l.obj)), []);
  for (const f of [...files, ...variantFiles]) {
    assert.doesNotMatch(readFileSync(new URL(f, root), 'utf8'), /-----BEGIN|PRIVATE KEY/, `${f}: no certificate or key inside a manifest`);
  }
});

test('tokens: the manager has both, the agents only the agent token', () => {
  const manager = find(Deployment, 'cflux-manager').spec?.template.spec?.containers[0];
  assert.ok(manager);
  assert.deepEqual(envOf(manager).get('CFLUX_MANAGER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'cflux-manager-token', key: 'manager-token' });
  assert.deepEqual(envOf(manager).get('CFLUX_AGENT_TOKEN')?.valueFrom?.secretKeyRef, { name: 'cflux-manager-token', key: 'agent-token' });

  const agent = find(StatefulSet, 'influxdb').spec?.template.spec?.initContainers?.find((c) => c.name === 'agent');
  assert.ok(agent);
  assert.deepEqual(envOf(agent).get('CFLUX_AGENT_TOKEN')?.valueFrom?.secretKeyRef, { name: 'cflux-manager-token', key: 'agent-token' });
  assert.equal(envOf(agent).get('CFLUX_MANAGER_TOKEN'), undefined, 'agents must not get the operator token');

  // Who may read what: the operator token reaches the manager only.
  const readers = (secret: string, key: string) => [...new Set(secretRefsIn(baseObjs)
    .filter((r) => r.secret === secret && (r.key === key || r.key === '*')).map((r) => `${r.workload} ${r.container}`))].sort();
  assert.deepEqual(readers('cflux-manager-token', 'manager-token'), ['Deployment/cflux-manager manager']);
  assert.deepEqual(readers('cflux-manager-token', 'agent-token'), ['Deployment/cflux-manager manager', 'StatefulSet/influxdb agent']);
  assert.deepEqual(readers('cflux-secrets', 'peer-token'), ['StatefulSet/influxdb agent']);
  assert.deepEqual(readers('etcd-tls', 'tls.key'), ['StatefulSet/etcd etcd']);
  assert.deepEqual(readers('cflux-manager-etcd-client', 'tls.key'), ['Deployment/cflux-manager manager']);
  assert.deepEqual(readers('cflux-manager-tls', 'tls.key'), ['Deployment/cflux-manager manager']);
  assert.deepEqual(readers('cflux-peer-tls', 'tls.key'), ['StatefulSet/influxdb agent']);
  // The Secrets the installation needs, and nothing else (README.md, "Secrets").
  assert.deepEqual([...new Set(secretRefsIn(baseObjs).map((r) => r.secret))].sort(),
    ['cflux-manager-etcd-client', 'cflux-manager-tls', 'cflux-manager-token', 'cflux-peer-tls', 'cflux-secrets', 'etcd-tls']);
});

test('etcd: 3 members behind the headless Service etcd, mutual TLS on both ports', () => {
  const sts = find(StatefulSet, 'etcd');
  assert.equal(sts.spec?.replicas, 3);
  assert.equal(sts.spec?.serviceName, 'etcd');
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  const svc = find(Service, 'etcd');
  assert.equal(svc.spec?.clusterIP, 'None');
  assert.equal(svc.spec?.publishNotReadyAddresses, true);
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port).sort(), [2379, 2380]);
  assert.equal(find(PodDisruptionBudget, 'etcd').spec?.minAvailable, 2);

  const pod = sts.spec?.template.spec;
  const c = pod?.containers[0];
  assert.ok(c);
  const args = argsOf(c);
  assert.equal(args.get('listen-client-urls'), 'https://0.0.0.0:2379');
  assert.equal(args.get('advertise-client-urls'), 'https://$(POD_NAME).etcd:2379');
  assert.equal(args.get('listen-peer-urls'), 'https://0.0.0.0:2380');
  assert.equal(args.get('initial-advertise-peer-urls'), 'https://$(POD_NAME).etcd:2380');
  assert.equal(args.get('initial-cluster'),
    Array.from({ length: sts.spec?.replicas ?? 0 }, (_, i) => `etcd-${i}=https://etcd-${i}.etcd:2380`).join(','));
  assert.equal(args.get('client-cert-auth'), 'true', 'clients need a certificate');
  assert.equal(args.get('peer-client-cert-auth'), 'true', 'peers need a certificate');
  for (const [flag, key] of [['trusted-ca-file', 'ca.crt'], ['cert-file', 'tls.crt'], ['key-file', 'tls.key'],
    ['peer-trusted-ca-file', 'ca.crt'], ['peer-cert-file', 'tls.crt'], ['peer-key-file', 'tls.key']] as const) {
    assert.deepEqual(secretFileAt(pod, c, args.get(flag)), { secret: 'etcd-tls', key }, `--${flag}`);
  }
  // The kubelet has no client certificate: probes use the plain-HTTP metrics
  // listener, never the client or peer port.
  const metrics = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
  assert.equal(args.get('listen-metrics-urls'), `http://0.0.0.0:${metrics}`);
  for (const [which, probe] of Object.entries(probesOf(c))) {
    assert.equal(probe?.httpGet?.path, '/health', `${which} probe path`);
    assert.equal(probePort(c, probe), metrics, `${which} probe port`);
    assert.equal(probe.httpGet?.scheme ?? 'HTTP', 'HTTP', `${which} probe scheme`);
  }
  assert.ok(!svc.spec?.ports?.some((p) => p.port === metrics || p.targetPort === metrics), 'no Service for the metrics port');
});

test('manager: Deployment behind a ClusterIP Service :8000, HTTPS, probes on /health', () => {
  const svc = find(Service, 'cflux-manager');
  assert.equal(svc.spec?.type ?? 'ClusterIP', 'ClusterIP');
  assert.ok(svc.spec?.ports?.some((p) => p.port === 8000 && p.targetPort === 8000), 'Service must map port 8000 -> targetPort 8000');

  const dep = find(Deployment, 'cflux-manager');
  assert.equal(dep.spec?.replicas, 2);
  const pod = dep.spec?.template.spec;
  const c = pod?.containers[0];
  assert.ok(c);
  assert.equal(c.image, 'clusterflux/cflux:0.1.0');
  assert.deepEqual(c.args, ['manager', '--listen', '0.0.0.0:8000']);
  // /health is the one anonymous path; the port serves TLS.
  for (const [which, probe] of Object.entries(probesOf(c))) {
    assert.equal(probe?.httpGet?.path, '/health', `${which} probe path`);
    assert.equal(probePort(c, probe), 8000, `${which} probe port`);
    assert.equal(probe.httpGet?.scheme, 'HTTPS', `${which} probe scheme`);
  }
  const budget = (p: IProbe | undefined) => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
  assert.ok(budget(c.livenessProbe) > budget(c.readinessProbe), 'liveness must be more lenient than readiness');
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);

  // The manager's etcd endpoints are exactly the etcd StatefulSet's members, over TLS.
  const members = find(StatefulSet, 'etcd').spec?.replicas ?? 0;
  const env = envOf(c);
  assert.equal(env.get('CLUSTERFLUX_ETCD_ENDPOINTS')?.value,
    Array.from({ length: members }, (_, i) => `https://etcd-${i}.etcd:2379`).join(','));
  assert.equal(env.get('CLUSTERFLUX_ETCD_TTL')?.value, '15');
  const fileOf = (name: string) => secretFileAt(pod, c, env.get(name)?.value);
  assert.deepEqual(fileOf('CFLUX_ETCD_CA_FILE'), { secret: 'cflux-manager-etcd-client', key: 'ca.crt' });
  assert.deepEqual(fileOf('CFLUX_ETCD_CERT_FILE'), { secret: 'cflux-manager-etcd-client', key: 'tls.crt' });
  assert.deepEqual(fileOf('CFLUX_ETCD_KEY_FILE'), { secret: 'cflux-manager-etcd-client', key: 'tls.key' });
  assert.deepEqual(fileOf('CFLUX_TLS_CERT_FILE'), { secret: 'cflux-manager-tls', key: 'tls.crt' });
  assert.deepEqual(fileOf('CFLUX_TLS_KEY_FILE'), { secret: 'cflux-manager-tls', key: 'tls.key' });
  assert.equal(find(PodDisruptionBudget, 'cflux-manager').spec?.minAvailable, 1);
});

test('influxdb: agent as a native sidecar in front of a loopback-only influxd', () => {
  const sts = find(StatefulSet, 'influxdb');
  assert.deepEqual([sts.spec?.replicas, sts.spec?.serviceName, sts.spec?.podManagementPolicy], [3, 'influxdb-peers', 'Parallel']);
  const pod = sts.spec?.template.spec;
  const agent = pod?.initContainers?.find((c) => c.name === 'agent');
  const influxd = pod?.containers.find((c) => c.name === 'influxd');
  assert.ok(agent && influxd, 'initContainers[agent] and containers[influxd]');
  // restartPolicy Always on an init container is what makes it a sidecar (k8s >= 1.29).
  assert.equal(agent.restartPolicy, 'Always');
  assert.equal(agent.image, 'clusterflux/cflux:0.1.0');
  assert.deepEqual(agent.args, ['agent']);
  assert.equal(agent.startupProbe?.httpGet?.path, '/healthz', 'startup must not wait for influxd');
  assert.equal(agent.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(agent.readinessProbe?.httpGet?.path, '/readyz');
  for (const p of Object.values(probesOf(agent))) {
    assert.equal(probePort(agent, p), 8888);
    assert.equal(p?.httpGet?.scheme, 'HTTPS', 'the peer port serves TLS');
  }
  assert.deepEqual([agent.securityContext?.readOnlyRootFilesystem, agent.securityContext?.capabilities?.drop], [true, ['ALL']]);

  const env = envOf(agent);
  const names = agent.env?.map((e) => e.name) ?? [];
  const definedBefore = (defined: string, user: string) => names.indexOf(defined) >= 0 && names.indexOf(defined) < names.indexOf(user);
  assert.equal(env.get('CFLUX_ADVERTISE_ADDRESS')?.value, '$(POD_NAME).influxdb-peers:8888');
  assert.ok(definedBefore('POD_NAME', 'CFLUX_ADVERTISE_ADDRESS'), 'POD_NAME must be defined before $(POD_NAME) is used');
  for (const [name, path] of [['POD_NAME', 'metadata.name'], ['POD_IP', 'status.podIP'], ['POD_IPS', 'status.podIPs'], ['POD_NAMESPACE', 'metadata.namespace']] as const) {
    assert.equal(env.get(name)?.valueFrom?.fieldRef?.fieldPath, path, `${name} from the Downward API`);
  }
  assert.deepEqual([env.get('CFLUX_ENDPOINT')?.value, env.get('CLUSTER')?.value], ['https://cflux-manager:8000', 'default']);
  assert.ok(find(Service, 'cflux-manager').spec?.ports?.some((p) => p.port === 8000), 'CFLUX_ENDPOINT names the Service cflux-manager:8000');
  assert.deepEqual(env.get('CFLUX_PEER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'cflux-secrets', key: 'peer-token' }, 'the peer token is required');
  assert.deepEqual(env.get('CFLUX_SECRET')?.valueFrom?.secretKeyRef, { name: 'cflux-secrets', key: 'secret', optional: true });
  // TLS: one CA bundle for the manager and the peers, one peer certificate for a namespaced name.
  const fileOf = (name: string) => secretFileAt(pod, agent, env.get(name)?.value);
  assert.deepEqual(fileOf('CFLUX_CA_FILE'), { secret: 'cflux-peer-tls', key: 'ca.crt' });
  assert.deepEqual(fileOf('CFLUX_PEER_TLS_CERT_FILE'), { secret: 'cflux-peer-tls', key: 'tls.crt' });
  assert.deepEqual(fileOf('CFLUX_PEER_TLS_KEY_FILE'), { secret: 'cflux-peer-tls', key: 'tls.key' });
  assert.equal(env.get('CFLUX_PEER_SERVER_NAME')?.value, 'cflux-peer.$(POD_NAMESPACE).svc');
  assert.ok(definedBefore('POD_NAMESPACE', 'CFLUX_PEER_SERVER_NAME'), 'POD_NAMESPACE must be defined before $(POD_NAMESPACE) is used');
  assert.deepEqual(secretRefsIn(baseObjs).filter((r) => r.container === 'influxd'), [], 'influxd sees no Secret (influx-* only once auth is enabled)');
  assert.equal(env.get('CFLUX_DATA_DIR')?.value, '/var/lib/cflux');
  assert.ok(agent.volumeMounts?.some((m) => m.name === 'cflux' && m.mountPath === '/var/lib/cflux'), 'agent data on the cflux PVC');
  assert.deepEqual(sts.spec?.volumeClaimTemplates?.map((v) => v.metadata?.name), ['data', 'cflux']);

  // influxd is reachable only from inside the pod, at the URL the agent uses.
  const bind = envOf(influxd).get('INFLUXDB_HTTP_BIND_ADDRESS')?.value;
  assert.equal(bind, '127.0.0.1:8086');
  assert.equal(env.get('CFLUX_INFLUXD_URL')?.value ?? 'http://127.0.0.1:8086', `http://${bind}`);
  for (const p of [influxd.startupProbe, influxd.livenessProbe, influxd.readinessProbe]) {
    assert.ok(!p?.httpGet && !p?.tcpSocket, 'the kubelet cannot reach a loopback-bound influxd');
  }

  const client = find(Service, 'influxdb');
  const proxy = agent.ports?.find((p) => p.name === 'proxy')?.containerPort;
  assert.equal(proxy, 8087);
  assert.ok(client.spec?.ports?.some((p) => p.port === 8086 && p.targetPort === proxy), 'influxdb:8086 -> agent proxy 8087');
  const peers = find(Service, 'influxdb-peers').spec;
  assert.deepEqual([peers?.clusterIP, peers?.publishNotReadyAddresses], ['None', true]);
  assert.deepEqual(peers?.ports?.map((p) => [p.port, p.targetPort]), [[8888, 8888]]);
  assert.equal(find(PodDisruptionBudget, 'influxdb').spec?.maxUnavailable, 1);
});

test('NetworkPolicies: every pod isolated both ways, exactly the needed connections', () => {
  const { ingress, egress, isolated } = policyFlows(baseObjs);
  for (const w of workloadsIn(baseObjs)) {
    assert.deepEqual([...(isolated.get(w.metadata?.name ?? '') ?? [])].sort(), ['Egress', 'Ingress'],
      `${w.kind}/${w.metadata?.name}: must be selected by a NetworkPolicy for Ingress and Egress`);
  }
  assert.deepEqual(ingress, EXPECTED_INGRESS);
  assert.deepEqual(egress, EXPECTED_EGRESS);

  // Between our own pods both ends must agree (ingress at one, egress at the other).
  const workloadNames = new Set(workloadsIn(baseObjs).map((w) => w.metadata?.name));
  const internal = (flows: string[]) => flows.filter((f) => {
    const [from, to] = f.split(' -> ');
    return workloadNames.has(from) && workloadNames.has(to?.split(':')[0]);
  });
  assert.deepEqual(internal(ingress), internal(egress), 'ingress and egress rules between the workloads differ');

  // Every allowed port is a port the pods really serve (a typo would pass the API server).
  for (const f of [...ingress, ...internal(egress)]) {
    const [, to = ''] = f.split(' -> ');
    const [name, port = ''] = to.split(':');
    const w = workloadsIn(baseObjs).find((x) => x.metadata?.name === name);
    const served = containersOf(w?.spec?.template.spec).flatMap((c) => c.ports?.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`) ?? []);
    assert.ok(served.includes(port), `${f}: ${name} has no container port ${port}`);
  }
  // Every Service's target port lets someone in.
  for (const svc of baseObjs.filter((o): o is Service => o instanceof Service)) {
    const w = workloadsIn(baseObjs).find((x) => matches(svc.spec?.selector, x.spec?.template.metadata?.labels));
    for (const p of svc.spec?.ports ?? []) {
      const target = typeof p.targetPort === 'string'
        ? containersOf(w?.spec?.template.spec).flatMap((c) => c.ports ?? []).find((cp) => cp.name === p.targetPort)?.containerPort
        : p.targetPort ?? p.port;
      assert.ok(ingress.some((f) => f.endsWith(` -> ${w?.metadata?.name}:${target}/${p.protocol ?? 'TCP'}`)),
        `Service/${svc.metadata?.name} port ${p.port}: no NetworkPolicy admits ${w?.metadata?.name}:${target}`);
    }
  }
});

test('variant manager-nodeport: NodePort 30000 -> 8000 and the policy that admits it', () => {
  const file = variants.filter((l) => l.file === 'variants/manager-nodeport.yaml');
  assert.deepEqual(file.map((l) => `${l.obj.kind}/${l.obj.metadata?.name}`).sort(), ['NetworkPolicy/cflux-manager-nodeport', 'Service/cflux-manager']);
  const svc = findIn(file, Service, 'cflux-manager');
  assert.equal(svc.spec?.type, 'NodePort');
  assert.ok(svc.spec?.ports?.some((p) => p.port === 8000 && p.targetPort === 8000 && p.nodePort === 30000),
    'Service must map nodePort 30000 -> port 8000 -> targetPort 8000');
  // It replaces the base Service: same pods, same in-cluster port (agents keep working).
  const baseSvc = find(Service, 'cflux-manager');
  assert.deepEqual(svc.spec?.selector, baseSvc.spec?.selector);
  assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), baseSvc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]));
  assert.notDeepEqual(exposureProblems(file.map((l) => l.obj)), [], 'the variant is what the default must not be');
  // Without its policy the NetworkPolicy cflux-manager would drop the NodePort's clients.
  const flows = policyFlows([...workloadsIn(baseObjs), findIn(file, NetworkPolicy, 'cflux-manager-nodeport')]);
  assert.deepEqual([flows.ingress, flows.egress], [['any -> cflux-manager:8000/TCP'], []]);
});

test('validation catches broken manifests', () => {
  const raw = loaded.find((l) => l.obj instanceof Deployment && l.obj.metadata?.name === 'cflux-manager')?.raw;
  assert.ok(raw);
  const broken = structuredClone(raw) as { spec: { replicas: unknown; template: { spec: { containers: { name?: string }[] } } } };
  broken.spec.replicas = 'two';
  assert.throws(() => new Deployment(broken as never).validate(), /replicas must be integer/);

  const nameless = structuredClone(raw) as typeof broken;
  delete nameless.spec.template.spec.containers[0]?.name;
  assert.throws(() => new Deployment(nameless as never).validate(), /required property .?name/);
  assert.doesNotThrow(() => new Deployment(structuredClone(raw) as never).validate());

  // The schema knows the sidecar field: a container's restartPolicy must be a string.
  // (It has no enum, so `Sometimes` passes validate(); the influxdb test checks `Always`.)
  const sts = loaded.find((l) => l.obj instanceof StatefulSet && l.obj.metadata?.name === 'influxdb')?.raw;
  assert.ok(sts);
  const sidecar = structuredClone(sts) as { spec: { template: { spec: { initContainers: { restartPolicy?: unknown }[] } } } };
  Object.assign(sidecar.spec.template.spec.initContainers[0] ?? {}, { restartPolicy: ['Always'] });
  assert.throws(() => new StatefulSet(sidecar as never).validate(), /initContainers\/0\/restartPolicy must be string/);

  // The contract checks fail on broken copies.
  type Pod = { spec: { template: { spec: { containers: IContainer[]; initContainers: IContainer[]; securityContext: Record<string, unknown> } } } };
  type Policy = { spec: { podSelector: LabelSelector; ingress: { from?: INetworkPolicyPeer[]; ports?: INetworkPolicyPort[] }[]; policyTypes?: string[] } };
  const literalToken = brokenCopy(StatefulSet, 'influxdb', (s: Pod) => {
    const e = s.spec.template.spec.initContainers[0]?.env?.find((v) => v.name === 'CFLUX_AGENT_TOKEN');
    assert.ok(e);
    delete e.valueFrom;
    e.value = 'not-so-secret';
  });
  assert.match(secretProblems(literalToken).join('\n'), /CFLUX_AGENT_TOKEN must come from a secretKeyRef/);
  const looseKey = brokenCopy(Deployment, 'cflux-manager', (d: Pod) => {
    const e = d.spec.template.spec.containers[0]?.env?.find((v) => v.name === 'CFLUX_TLS_KEY_FILE');
    assert.ok(e);
    e.value = '/tmp/tls.key';
  });
  assert.match(secretProblems(looseKey).join('\n'), /CFLUX_TLS_KEY_FILE=\/tmp\/tls.key is not a file of a mounted Secret/);
  const insecure = brokenCopy(Deployment, 'cflux-manager', (d: Pod) => { d.spec.template.spec.containers[0]?.args?.push('--insecure'); });
  assert.match(secretProblems(insecure).join('\n'), /--insecure turns a protection off/);
  assert.match(secretProblems([...baseObjs, new Secret({ metadata: { name: 'cflux-secrets' }, stringData: { 'peer-token': 'x' } })]).join('\n'), /Secret\/cflux-secrets/);
  assert.match(exposureProblems(brokenCopy(Service, 'influxdb', (s: { spec: { type: string } }) => { s.spec.type = 'LoadBalancer'; })).join('\n'), /type LoadBalancer/);

  const typo = brokenCopy(NetworkPolicy, 'etcd', (p: Policy) => { p.spec.ingress[0]!.from = [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'cflux-managr' } } }]; });
  assert.throws(() => policyFlows(typo), /selects no pod defined in kubernetes\//);
  const everyone = brokenCopy(NetworkPolicy, 'etcd', (p: Policy) => { p.spec.podSelector = {}; });
  assert.throws(() => policyFlows(everyone), /empty selector picks every pod/);
  const wrongPort = brokenCopy(NetworkPolicy, 'cflux-manager', (p: Policy) => { p.spec.ingress[0]!.ports = [{ protocol: 'TCP', port: 8080 }]; });
  assert.notDeepEqual(policyFlows(wrongPort).ingress, EXPECTED_INGRESS);
  const openEtcd = brokenCopy(NetworkPolicy, 'etcd', (p: Policy) => { delete p.spec.ingress[0]!.from; });
  assert.ok(policyFlows(openEtcd).ingress.includes('any -> etcd:2379/TCP'));
  const ingressOnly = brokenCopy(NetworkPolicy, 'influxdb', (p: Policy) => { p.spec.policyTypes = ['Ingress']; });
  assert.throws(() => policyFlows(ingressOnly), /egress rules without policyTypes Egress are ignored/);
});
