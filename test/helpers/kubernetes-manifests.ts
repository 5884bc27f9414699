// The manifests of kubernetes/ (and variants/) loaded and checked against
// kubernetes-models, and what test/unit/kubernetes-manifests.test.ts reads them with.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { INetworkPolicyPeer, INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';

// Kinds the manifests may use. A new kind must be added here, or the test fails.
export const MODELS = [
  Deployment, StatefulSet, DaemonSet, Service, ConfigMap, Secret, ServiceAccount,
  PodDisruptionBudget, NetworkPolicy, Role, RoleBinding, HorizontalPodAutoscaler,
];
export type Model = InstanceType<(typeof MODELS)[number]>;
export type Workload = Deployment | StatefulSet | DaemonSet;
export type LabelSelector = NonNullable<INetworkPolicyPeer['podSelector']>;
export const byType = new Map<string, (data: never) => Model>(
  MODELS.map((M) => [`${M.apiVersion}/${M.kind}`, (data: never) => new M(data) as Model]),
);

export const root = new URL('../../kubernetes/', import.meta.url);
export const yamlFiles = (sub: string) => readdirSync(new URL(sub, root)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `${sub}${f}`);
/** What `kubectl apply -f kubernetes/` creates (not recursive: variants/ is opt-in). */
export const files = yamlFiles('');
/** Opt-in overlays, applied after the base files. */
export const variantFiles = yamlFiles('variants/');

export interface Loaded { file: string; raw: Record<string, unknown>; obj: Model }
export function load(file: string): Loaded[] {
  const out: Loaded[] = [];
  for (const doc of parseAllDocuments(readFileSync(new URL(file, root), 'utf8'), { prettyErrors: true })) {
    assert.deepEqual(doc.errors.map(String), [], `${file}: YAML errors`);
    const raw = doc.toJS() as Record<string, unknown> | null;
    if (raw === null) continue; // empty document (e.g. a trailing `---`)
    const make = byType.get(`${String(raw['apiVersion'])}/${String(raw['kind'])}`);
    assert.ok(make, `${file}: ${String(raw['apiVersion'])} ${String(raw['kind'])} has no model; add it to MODELS`);
    out.push({ file, raw, obj: make(raw as never) });
  }
  return out;
}
export const base = files.flatMap(load);
export const variants = variantFiles.flatMap(load);
export const loaded = [...base, ...variants];
export const baseObjs = base.map((l) => l.obj);

export function findIn<T extends Model>(list: Loaded[], M: abstract new (...a: never[]) => T, name: string): T {
  const hit = list.find((l) => l.obj instanceof M && l.obj.metadata?.name === name)?.obj;
  assert.ok(hit instanceof M, `no ${M.name} named ${name}`);
  return hit;
}
/** An object of kubernetes/*.yaml (the default installation). */
export const find = <T extends Model>(M: abstract new (...a: never[]) => T, name: string): T => findIn(base, M, name);
/** A copy of a base object, rebuilt from its YAML after `edit`: for the checks on broken manifests. */
export function brokenCopy<T extends Model>(M: new (data: never) => T, name: string, edit: (raw: never) => void): Model[] {
  return base.map(({ raw, obj }) => {
    if (!(obj instanceof M) || obj.metadata?.name !== name) return obj;
    const copy = structuredClone(raw);
    edit(copy as never);
    return new M(copy as never);
  });
}

export const workloadsIn = (objs: Model[]): Workload[] =>
  objs.filter((o): o is Workload => o instanceof Deployment || o instanceof StatefulSet || o instanceof DaemonSet);
export const workloads = () => workloadsIn(loaded.map((l) => l.obj));
export const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
export const containersOf = (pod: IPodSpec | undefined): IContainer[] => [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
/** The probe's port as a number (named ports resolved against the container). */
export const probePort = (c: IContainer, p: IProbe | undefined): number | string | undefined => {
  const named = p?.httpGet?.port;
  return typeof named === 'string' ? c.ports?.find((cp) => cp.name === named)?.containerPort : named;
};
export const envOf = (c: IContainer) => new Map(c.env?.map((e) => [e.name, e]));
/** `--flag=value` arguments as a map (a bare `--flag` maps to 'true'). */
export const argsOf = (c: IContainer) => new Map(c.args?.filter((a) => a.startsWith('--')).map((a) => {
  const eq = a.indexOf('=');
  return eq < 0 ? [a.slice(2), 'true'] : [a.slice(2, eq), a.slice(eq + 1)];
}));
export const probesOf = (c: IContainer) => ({ startup: c.startupProbe, liveness: c.livenessProbe, readiness: c.readinessProbe });

/** Which Secret key a file path inside a container comes from (a mounted Secret volume), if any. */
export function secretFileAt(pod: IPodSpec | undefined, c: IContainer, path: string | undefined): { secret: string; key: string } | undefined {
  if (path === undefined) return undefined;
  for (const m of c.volumeMounts ?? []) {
    const prefix = `${m.mountPath.replace(/\/$/, '')}/`;
    if (!path.startsWith(prefix) || m.subPath !== undefined) continue;
    const rel = path.slice(prefix.length);
    const source = pod?.volumes?.find((v) => v.name === m.name)?.secret;
    if (source?.secretName === undefined) return undefined;
    const item = source.items === undefined ? { key: rel } : source.items.find((i) => i.path === rel);
    return item && { secret: source.secretName, key: item.key };
  }
  return undefined;
}

/** Every reference to a Secret from a workload: env, envFrom and volumes ('*' = every key). */
export function secretRefsIn(objs: Model[]): { workload: string; container: string; secret: string; key: string }[] {
  const refs: { workload: string; container: string; secret: string; key: string }[] = [];
  for (const w of workloadsIn(objs)) {
    const pod = w.spec?.template.spec;
    const workload = `${w.kind}/${w.metadata?.name}`;
    for (const c of containersOf(pod)) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) refs.push({ workload, container: c.name, secret: ref.name ?? '', key: ref.key });
      }
      for (const e of c.envFrom ?? []) if (e.secretRef) refs.push({ workload, container: c.name, secret: e.secretRef.name ?? '', key: '*' });
      for (const m of c.volumeMounts ?? []) {
        const v = pod?.volumes?.find((vol) => vol.name === m.name);
        const secrets = [v?.secret, ...(v?.projected?.sources?.map((s) => s.secret) ?? [])];
        for (const s of secrets) {
          if (s === undefined) continue;
          const name = 'secretName' in s ? s.secretName : 'name' in s ? s.name : undefined;
          for (const key of s.items?.map((i) => i.key) ?? ['*']) refs.push({ workload, container: c.name, secret: name ?? '', key });
        }
      }
    }
  }
  return refs;
}

// ---------------------------------------------------------------------------
// Contracts as functions returning problems: the tests assert [] on the real
// manifests and something on a broken copy (the last test).

/** No secret value in any manifest; every credential variable comes from a secretKeyRef. */
export const CREDENTIAL_ENV = /^(CFLUX_\w*TOKEN|CFLUX_SECRET|INFLUX_USERNAME|INFLUX_PASSWORD|INFLUXDB_ADMIN_USER|INFLUXDB_ADMIN_PASSWORD)$/;
/** Variables and flags naming a file (certificates, keys, CAs, token files). */
export const FILE_ENV = /_(FILE|CACERT|CERT|KEY)$/;
export function secretProblems(objs: Model[]): string[] {
  const problems: string[] = [];
  for (const o of objs) if (o instanceof Secret) problems.push(`Secret/${o.metadata?.name}: Secret values do not belong in the manifests (README.md: kubectl create secret)`);
  for (const w of workloadsIn(objs)) {
    const pod = w.spec?.template.spec;
    for (const c of containersOf(pod)) {
      const where = `${w.kind}/${w.metadata?.name} ${c.name}`;
      for (const e of c.env ?? []) {
        if (CREDENTIAL_ENV.test(e.name) && (e.value !== undefined || e.valueFrom?.secretKeyRef === undefined)) {
          problems.push(`${where}: ${e.name} must come from a secretKeyRef`);
        }
        if (FILE_ENV.test(e.name) && !secretFileAt(pod, c, e.value)) problems.push(`${where}: ${e.name}=${e.value} is not a file of a mounted Secret`);
        if (/^CFLUX_INSECURE/.test(e.name)) problems.push(`${where}: ${e.name} turns a protection off`);
      }
      for (const [flag, value] of argsOf(c)) {
        if (/-file$/.test(flag) && !secretFileAt(pod, c, value)) problems.push(`${where}: --${flag}=${value} is not a file of a mounted Secret`);
        if (/^insecure/.test(flag)) problems.push(`${where}: --${flag} turns a protection off`);
        // cflux takes secrets from a variable or a file, never from a flag's value.
        if (c.image?.startsWith('clusterflux/') && /token|secret|password/.test(flag) && !/-file$/.test(flag)) problems.push(`${where}: --${flag} puts a secret in the pod spec`);
      }
    }
  }
  return problems;
}

/** The default installation publishes nothing outside the cluster. */
export function exposureProblems(objs: Model[]): string[] {
  const problems: string[] = [];
  for (const o of objs) {
    if (o instanceof Service) {
      const type = o.spec?.type ?? 'ClusterIP';
      if (type !== 'ClusterIP') problems.push(`Service/${o.metadata?.name}: type ${type} (only ClusterIP by default; opt-in variants live in kubernetes/variants/)`);
      if (o.spec?.ports?.some((p) => p.nodePort !== undefined)) problems.push(`Service/${o.metadata?.name}: nodePort set`);
      if (o.spec?.externalIPs?.length) problems.push(`Service/${o.metadata?.name}: externalIPs set`);
    }
  }
  for (const w of workloadsIn(objs)) {
    const pod = w.spec?.template.spec;
    if (pod?.hostNetwork) problems.push(`${w.kind}/${w.metadata?.name}: hostNetwork bypasses the NetworkPolicies`);
    for (const c of containersOf(pod)) {
      if (c.ports?.some((p) => p.hostPort !== undefined)) problems.push(`${w.kind}/${w.metadata?.name} ${c.name}: hostPort`);
    }
  }
  return problems;
}

/** The workloads (by name) whose pods a label selector picks; only matchLabels, and it must pick some. */
export function selectedBy(selector: LabelSelector | undefined, objs: Model[], what: string): string[] {
  assert.equal(selector?.matchExpressions, undefined, `${what}: use matchLabels (the test resolves only those)`);
  const labels = selector?.matchLabels;
  assert.ok(labels && Object.keys(labels).length > 0, `${what}: an empty selector picks every pod of the namespace`);
  const names = workloadsIn(objs).filter((w) => matches(labels, w.spec?.template.metadata?.labels)).map((w) => w.metadata?.name ?? '');
  assert.ok(names.length > 0, `${what}: ${JSON.stringify(labels)} selects no pod defined in kubernetes/`);
  return names;
}
export function describePeer(peer: INetworkPolicyPeer, objs: Model[], what: string): string[] {
  if (peer.ipBlock) return [`ip(${peer.ipBlock.cidr}${peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(',')}` : ''})`];
  if (peer.namespaceSelector) return [`ns(${JSON.stringify(peer.namespaceSelector)})/pods(${JSON.stringify(peer.podSelector ?? {})})`];
  return selectedBy(peer.podSelector, objs, what);
}
export const describePorts = (ports: INetworkPolicyPort[] | undefined) =>
  ports?.length ? ports.map((p) => `${p.port ?? '*'}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol ?? 'TCP'}`) : ['*'];
/**
 * Every connection the NetworkPolicies allow, as `from -> to:port/protocol`, with
 * pods named by the workload whose template their selector matches and `any`
 * for a rule without peers.
 */
export function policyFlows(objs: Model[]): { ingress: string[]; egress: string[]; isolated: Map<string, Set<string>> } {
  const ingress: string[] = [];
  const egress: string[] = [];
  const isolated = new Map<string, Set<string>>();
  for (const np of objs.filter((o): o is NetworkPolicy => o instanceof NetworkPolicy)) {
    const name = `NetworkPolicy/${np.metadata?.name}`;
    const targets = selectedBy(np.spec?.podSelector, objs, `${name} podSelector`);
    const types = np.spec?.policyTypes;
    assert.ok(types?.length, `${name}: spell out policyTypes`);
    for (const t of targets) for (const type of types) isolated.set(t, (isolated.get(t) ?? new Set()).add(type));
    for (const [i, rule] of (np.spec?.ingress ?? []).entries()) {
      const peers = rule.from?.length ? rule.from.flatMap((p, j) => describePeer(p, objs, `${name} ingress[${i}].from[${j}]`)) : ['any'];
      for (const t of targets) for (const p of peers) for (const port of describePorts(rule.ports)) ingress.push(`${p} -> ${t}:${port}`);
    }
    for (const [i, rule] of (np.spec?.egress ?? []).entries()) {
      const peers = rule.to?.length ? rule.to.flatMap((p, j) => describePeer(p, objs, `${name} egress[${i}].to[${j}]`)) : ['any'];
      for (const t of targets) for (const p of peers) for (const port of describePorts(rule.ports)) egress.push(`${t} -> ${p}:${port}`);
    }
    assert.ok(types.includes('Ingress') || !np.spec?.ingress, `${name}: ingress rules without policyTypes Ingress are ignored`);
    assert.ok(types.includes('Egress') || !np.spec?.egress, `${name}: egress rules without policyTypes Egress are ignored`);
  }
  return { ingress: ingress.sort(), egress: egress.sort(), isolated };
}

/** The default installation's network, exactly (README.md, "Security"). */
export const EXPECTED_INGRESS = [
  'any -> influxdb:8087/TCP', // clients, through the Service influxdb:8086
  'cflux-manager -> etcd:2379/TCP',
  'etcd -> etcd:2380/TCP',
  'influxdb -> cflux-manager:8000/TCP',
  'influxdb -> influxdb:8888/TCP',
];
export const DNS = (from: string) => [`${from} -> any:53/TCP`, `${from} -> any:53/UDP`];
export const EXPECTED_EGRESS = [
  ...DNS('cflux-manager'), 'cflux-manager -> etcd:2379/TCP',
  ...DNS('etcd'), 'etcd -> etcd:2380/TCP',
  ...DNS('influxdb'), 'influxdb -> cflux-manager:8000/TCP', 'influxdb -> influxdb:8888/TCP',
].sort();
