// Offline validation of kubernetes/*.yaml: every document is checked against the
// Kubernetes OpenAPI schema (kubernetes-models), then against ClusterFlux's own
// contracts (docs/design.md ports and names). No cluster needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { IContainer, IProbe } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';

// Kinds the manifests may use. A new kind must be added here, or the test fails.
const MODELS = [
  Deployment, StatefulSet, DaemonSet, Service, ConfigMap, Secret, ServiceAccount,
  PodDisruptionBudget, NetworkPolicy, Role, RoleBinding, HorizontalPodAutoscaler,
];
type Model = InstanceType<(typeof MODELS)[number]>;
const byType = new Map<string, (data: never) => Model>(
  MODELS.map((M) => [`${M.apiVersion}/${M.kind}`, (data: never) => new M(data) as Model]),
);

const dir = new URL('../../kubernetes/', import.meta.url);
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();

interface Loaded { file: string; raw: Record<string, unknown>; obj: Model }
const loaded: Loaded[] = [];
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'), { prettyErrors: true })) {
    assert.deepEqual(doc.errors.map(String), [], `${file}: YAML errors`);
    const raw = doc.toJS() as Record<string, unknown> | null;
    if (raw === null) continue; // empty document (e.g. a trailing `---`)
    const make = byType.get(`${String(raw['apiVersion'])}/${String(raw['kind'])}`);
    assert.ok(make, `${file}: ${String(raw['apiVersion'])} ${String(raw['kind'])} has no model; add it to MODELS`);
    loaded.push({ file, raw, obj: make(raw as never) });
  }
}

function find<T extends Model>(M: abstract new (...a: never[]) => T, name: string): T {
  const hit = loaded.find((l) => l.obj instanceof M && l.obj.metadata?.name === name)?.obj;
  assert.ok(hit instanceof M, `no ${M.name} named ${name} in kubernetes/`);
  return hit;
}
const workloads = () =>
  loaded.map((l) => l.obj).filter((o) => o instanceof Deployment || o instanceof StatefulSet || o instanceof DaemonSet);
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
/** The probe's port as a number (named ports resolved against the container). */
const probePort = (c: IContainer, p: IProbe | undefined): number | string | undefined => {
  const named = p?.httpGet?.port;
  return typeof named === 'string' ? c.ports?.find((cp) => cp.name === named)?.containerPort : named;
};
const envOf = (c: IContainer) => new Map(c.env?.map((e) => [e.name, e]));

test('every manifest validates against the Kubernetes schema', async (t) => {
  for (const f of ['etcd.yaml', 'manager.yaml', 'influxdb.yaml']) assert.ok(files.includes(f), `no ${f} in ${files.join(', ')}`);
  for (const { file, obj } of loaded) {
    await t.test(`${file}: ${obj.kind}/${obj.metadata?.name}`, () => {
      obj.validate();
      assert.ok(obj.metadata?.name, 'metadata.name is required');
      // `kubectl apply -n X -f kubernetes/` must decide the namespace.
      assert.equal(obj.metadata.namespace, undefined, 'manifests must be namespace-less');
    });
  }
  const ids = loaded.map((l) => `${l.obj.kind}/${l.obj.metadata?.name}`);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'duplicate objects');
});

test('selectors find their pods', () => {
  for (const w of workloads()) {
    assert.ok(matches(w.spec?.selector.matchLabels, w.spec?.template.metadata?.labels),
      `${w.kind}/${w.metadata?.name}: selector does not match its pod template`);
  }
  for (const { obj } of loaded) {
    const selector = obj instanceof Service ? obj.spec?.selector
      : obj instanceof PodDisruptionBudget ? obj.spec?.selector?.matchLabels : undefined;
    if (selector === undefined) continue;
    assert.ok(workloads().some((w) => matches(selector, w.spec?.template.metadata?.labels)),
      `${obj.kind}/${obj.metadata?.name}: selector matches no workload`);
  }
});

test('every pod keeps Service env vars out and runs as non-root', () => {
  for (const w of workloads()) {
    const pod = w.spec?.template.spec;
    assert.equal(pod?.enableServiceLinks, false, `${w.kind}/${w.metadata?.name}: enableServiceLinks must be false`);
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.kind}/${w.metadata?.name}: runAsNonRoot`);
  }
});

test('etcd: 3 members behind the headless Service etcd', () => {
  const sts = find(StatefulSet, 'etcd');
  assert.equal(sts.spec?.replicas, 3);
  assert.equal(sts.spec?.serviceName, 'etcd');
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  const svc = find(Service, 'etcd');
  assert.equal(svc.spec?.clusterIP, 'None');
  assert.equal(svc.spec?.publishNotReadyAddresses, true);
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port).sort(), [2379, 2380]);
  assert.equal(find(PodDisruptionBudget, 'etcd').spec?.minAvailable, 2);
});

test('manager: Deployment, NodePort 30000 -> 8000, probes on /health', () => {
  const svc = find(Service, 'cflux-manager');
  assert.equal(svc.spec?.type, 'NodePort');
  assert.ok(svc.spec?.ports?.some((p) => p.port === 8000 && p.targetPort === 8000 && p.nodePort === 30000),
    'Service must map nodePort 30000 -> port 8000 -> targetPort 8000');

  const dep = find(Deployment, 'cflux-manager');
  assert.equal(dep.spec?.replicas, 2);
  const pod = dep.spec?.template.spec;
  const c = pod?.containers[0];
  assert.ok(c);
  assert.equal(c.image, 'clusterflux/cflux:0.1.0');
  assert.deepEqual(c.args, ['manager', '--listen', '0.0.0.0:8000']);
  for (const [which, probe] of Object.entries({ readiness: c.readinessProbe, liveness: c.livenessProbe, startup: c.startupProbe })) {
    assert.equal(probe?.httpGet?.path, '/health', `${which} probe path`);
    assert.equal(probePort(c, probe), 8000, `${which} probe port`);
  }
  const budget = (p: IProbe | undefined) => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
  assert.ok(budget(c.livenessProbe) > budget(c.readinessProbe), 'liveness must be more lenient than readiness');
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);

  // The manager's etcd endpoints are exactly the etcd StatefulSet's members.
  const members = find(StatefulSet, 'etcd').spec?.replicas ?? 0;
  const env = new Map(c.env?.map((e) => [e.name, e.value]));
  assert.equal(env.get('CLUSTERFLUX_ETCD_ENDPOINTS'),
    Array.from({ length: members }, (_, i) => `http://etcd-${i}.etcd:2379`).join(','));
  assert.equal(env.get('CLUSTERFLUX_ETCD_TTL'), '15');
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
  for (const p of [agent.startupProbe, agent.livenessProbe, agent.readinessProbe]) assert.equal(probePort(agent, p), 8888);
  assert.deepEqual([agent.securityContext?.readOnlyRootFilesystem, agent.securityContext?.capabilities?.drop], [true, ['ALL']]);

  const env = envOf(agent);
  const names = agent.env?.map((e) => e.name) ?? [];
  assert.equal(env.get('CFLUX_ADVERTISE_ADDRESS')?.value, '$(POD_NAME).influxdb-peers:8888');
  assert.ok(names.indexOf('POD_NAME') >= 0 && names.indexOf('POD_NAME') < names.indexOf('CFLUX_ADVERTISE_ADDRESS'),
    'POD_NAME must be defined before $(POD_NAME) is used');
  for (const [name, path] of [['POD_NAME', 'metadata.name'], ['POD_IP', 'status.podIP'], ['POD_IPS', 'status.podIPs']] as const) {
    assert.equal(env.get(name)?.valueFrom?.fieldRef?.fieldPath, path, `${name} from the Downward API`);
  }
  assert.deepEqual([env.get('CFLUX_ENDPOINT')?.value, env.get('CLUSTER')?.value], ['http://cflux-manager:8000', 'default']);
  assert.deepEqual(env.get('CFLUX_PEER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'cflux-secrets', key: 'peer-token' }, 'the peer token is required');
  assert.deepEqual(env.get('CFLUX_SECRET')?.valueFrom?.secretKeyRef, { name: 'cflux-secrets', key: 'secret', optional: true });
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
});
