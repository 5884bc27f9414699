// Offline validation of kubernetes/*.yaml: every document is checked against the
// Kubernetes OpenAPI schema (kubernetes-models), then against ClusterFlux's own
// contracts (DESIGN.md ports and names). No cluster needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { IProbe } from 'kubernetes-models/v1';
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

test('every manifest validates against the Kubernetes schema', async (t) => {
  assert.ok(files.includes('etcd.yaml') && files.includes('manager.yaml'), `found ${files.join(', ')}`);
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
  const port = (p: IProbe | undefined): number | string | undefined => {
    const named = p?.httpGet?.port;
    return typeof named === 'string' ? c.ports?.find((cp) => cp.name === named)?.containerPort : named;
  };
  for (const [which, probe] of Object.entries({ readiness: c.readinessProbe, liveness: c.livenessProbe, startup: c.startupProbe })) {
    assert.equal(probe?.httpGet?.path, '/health', `${which} probe path`);
    assert.equal(port(probe), 8000, `${which} probe port`);
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
});
