import { NO_SECRET_MESSAGE, type SecretBox } from './secret-box.ts';
import { unitKey } from './placement.ts';
import { nameProblem } from './document-check.ts';
import { sameRetentionPolicy, type ClusterMetadata, type DatabaseMeta, type Privilege, type RetentionPolicyMeta, type UserMeta } from './cluster-metadata.ts';
import type { MetadataOperation } from './metadata-operations.ts';
import { applyMoveOperation } from './member-moves.ts';

const HOUR = 3600;
const PRIVILEGE_BITS = { NONE: 0, READ: 1, WRITE: 2, ALL: 3 } as const;
const PRIVILEGE_BY_BITS: Record<number, Privilege | undefined> = { 1: 'READ', 2: 'WRITE', 3: 'ALL' };
const DAY = 24 * HOUR;

/** What applying one operation did: the new document, or InfluxDB's error text. */
export type OperationResult = { ok: true; metadata: ClusterMetadata; changed: boolean } | { ok: false; error: string };

/** InfluxQL's default shard group duration for a retention policy duration (seconds; 0 = INF). */
export function defaultShardGroupDuration(duration: number): number {
  if (duration === 0) return 7 * DAY;
  if (duration < 2 * DAY) return HOUR;
  if (duration < 180 * DAY) return DAY;
  return 7 * DAY;
}

/** The name InfluxDB gives a database's first retention policy. */
const AUTOGEN = 'autogen';

/** influxd raises a shard group duration below 1h to 1h; 0 (or none) means the default. */
function shardGroupDurationFor(duration: number, requested: number | undefined): number {
  if (requested === undefined || requested === 0) return defaultShardGroupDuration(duration);
  return Math.max(requested, HOUR);
}

function checkDurations(duration: number, shardGroupDuration: number): string | undefined {
  if (duration !== 0 && duration < HOUR) return 'retention policy duration must be at least 1h0m0s';
  if (duration !== 0 && shardGroupDuration > duration) return 'retention policy duration must be greater than the shard duration';
  return undefined;
}


/**
 * Applies one operation to a document with InfluxDB 1.x semantics: the same
 * idempotency (creating what exists identically is not an error, dropping
 * what is missing mostly is not) and the same error texts. Never mutates its
 * input. User operations need a SecretBox to seal passwords.
 */
export function applyOperation(metadata: ClusterMetadata, operation: MetadataOperation, secrets: SecretBox | undefined): OperationResult {
  const next = structuredClone(metadata);
  const error = mutate(next, operation, secrets);
  if (error !== undefined) return { ok: false, error };
  const changed = JSON.stringify(next) !== JSON.stringify(metadata);
  if (changed) next.revision = (metadata.revision ?? 0) + 1;
  return { ok: true, metadata: next, changed };
}

/** One statement's outcome: ok, or InfluxDB's error text. */
export type OperationOutcome = { ok: true } | { ok: false; error: string };

/**
 * Applies operations in order, as one request's statements. With
 * `stopAtFirstError` (InfluxQL semantics) the first refused operation ends
 * the list; otherwise a refused one is skipped and the rest still apply.
 */
export function applyOperations(metadata: ClusterMetadata, operations: readonly MetadataOperation[], secrets: SecretBox | undefined, stopAtFirstError = true): { metadata: ClusterMetadata; changed: boolean; result: OperationOutcome[] } {
  let doc = metadata;
  let changed = false;
  const outcomes: OperationOutcome[] = [];
  for (const operation of operations) {
    const applied = applyOperation(doc, operation, secrets);
    if (!applied.ok) {
      outcomes.push({ ok: false, error: applied.error });
      if (stopAtFirstError) break;
      continue;
    }
    outcomes.push({ ok: true });
    changed ||= applied.changed;
    doc = applied.metadata;
  }
  return { metadata: doc, changed, result: outcomes };
}

function mutate(doc: ClusterMetadata, op: MetadataOperation, secrets: SecretBox | undefined): string | undefined {
  switch (op.op) {
    case 'createDatabase': {
      const spec = op.retentionPolicy;
      const name = spec?.name ?? AUTOGEN;
      // influxd's meta store refuses these names with exactly this text (services/meta/data.go).
      if (nameProblem(op.name) !== undefined || nameProblem(name) !== undefined) return 'invalid name';
      const duration = spec?.duration ?? 0;
      const policy: RetentionPolicyMeta = {
        name,
        duration,
        shardGroupDuration: shardGroupDurationFor(duration, spec?.shardGroupDuration),
        replicaN: spec?.replicaN ?? doc.settings.replicationFactor,
      };
      const invalid = checkDurations(policy.duration, policy.shardGroupDuration);
      if (invalid) return invalid;
      const existing = doc.databases[op.name];
      if (existing) {
        if (!spec) return undefined;
        const current = existing.retentionPolicies[name];
        if (!current || !sameRetentionPolicy(current, policy) || existing.defaultRetentionPolicy !== name) return 'retention policy conflicts with an existing policy';
        return undefined;
      }
      doc.databases[op.name] = { retentionPolicies: { [name]: policy }, defaultRetentionPolicy: name, continuousQueries: {} };
      return undefined;
    }
    case 'dropDatabase': {
      delete doc.databases[op.name];
      for (const user of Object.values(doc.users)) delete user.privileges[op.name];
      delete doc.settings.move?.units[op.name];
      return undefined;
    }
    case 'createRetentionPolicy': {
      const db = doc.databases[op.database];
      if (!db) return `database not found: ${op.database}`;
      if (nameProblem(op.name) !== undefined) return 'invalid name';
      const policy: RetentionPolicyMeta = {
        name: op.name,
        duration: op.duration,
        shardGroupDuration: shardGroupDurationFor(op.duration, op.shardGroupDuration),
        replicaN: op.replicaN,
      };
      const invalid = checkDurations(policy.duration, policy.shardGroupDuration);
      if (invalid) return invalid;
      const existing = db.retentionPolicies[op.name];
      if (existing) {
        if (!sameRetentionPolicy(existing, policy)) return 'retention policy already exists';
        if (op.makeDefault && db.defaultRetentionPolicy !== op.name) return 'retention policy conflicts with an existing policy';
        return undefined;
      }
      db.retentionPolicies[op.name] = policy;
      if (op.makeDefault) db.defaultRetentionPolicy = op.name;
      return undefined;
    }
    case 'alterRetentionPolicy': {
      const db = doc.databases[op.database];
      if (!db) return `database not found: ${op.database}`;
      const policy = db.retentionPolicies[op.name];
      if (!policy) return `retention policy not found: ${op.name}`;
      const updated: RetentionPolicyMeta = {
        ...policy,
        ...(op.duration !== undefined ? { duration: op.duration } : {}),
        ...(op.replicaN !== undefined ? { replicaN: op.replicaN } : {}),
        ...(op.shardGroupDuration !== undefined ? { shardGroupDuration: shardGroupDurationFor(op.duration ?? policy.duration, op.shardGroupDuration) } : {}),
      };
      const invalid = checkDurations(updated.duration, updated.shardGroupDuration);
      if (invalid) return invalid;
      db.retentionPolicies[op.name] = updated;
      if (op.makeDefault) db.defaultRetentionPolicy = op.name;
      return undefined;
    }
    case 'dropRetentionPolicy': {
      // influxd: dropping a missing policy, even of a missing database, succeeds.
      const db = doc.databases[op.database];
      if (!db) return undefined;
      delete db.retentionPolicies[op.name];
      if (db.defaultRetentionPolicy === op.name) db.defaultRetentionPolicy = null;
      return undefined;
    }
    case 'createContinuousQuery': {
      const db = doc.databases[op.database];
      if (!db) return `database not found: ${op.database}`;
      const existing = db.continuousQueries[op.name];
      if (existing && existing.query !== op.query) return 'continuous query already exists';
      db.continuousQueries[op.name] = { name: op.name, query: op.query };
      return undefined;
    }
    case 'dropContinuousQuery': {
      // influxd: dropping a missing continuous query, even of a missing database, succeeds.
      delete doc.databases[op.database]?.continuousQueries[op.name];
      return undefined;
    }
    case 'addMember': {
      if (doc.settings.move && !doc.settings.dataMembers.includes(op.name)) return 'a move of the data members is running: wait for it (cflux members status) or cancel it';
      if (op.whileEmpty && !doc.settings.dataMembers.includes(op.name) && Object.keys(doc.databases).length > 0) return 'the cluster already holds databases: add data members with cflux members add';
      if (!doc.settings.dataMembers.includes(op.name)) doc.settings.dataMembers = [...doc.settings.dataMembers, op.name].sort();
      return undefined;
    }
    case 'removeMember': {
      if (doc.settings.move && doc.settings.dataMembers.includes(op.name)) return 'a move of the data members is running: wait for it (cflux members status) or cancel it';
      doc.settings.dataMembers = doc.settings.dataMembers.filter((member) => member !== op.name);
      return undefined;
    }
    case 'startMove':
    case 'startCopying':
    case 'addMovingUnits':
    case 'unitsMoved':
    case 'finishMove':
    case 'cancelMove':
      return applyMoveOperation(doc, op);
    case 'setInfluxdAuth': {
      // Recorded once by the first agent that knows; changing it later is the operator's decision.
      if (op.ifUnset && doc.settings.influxdAuth !== undefined) return undefined;
      doc.settings.influxdAuth = op.enabled;
      return undefined;
    }
    case 'pinMeasurement': {
      const source = unitKey(op.sourceDatabase, op.sourceMeasurement);
      const target = unitKey(op.database, op.measurement);
      if (source !== target) doc.settings.pins[target] = source;
      return undefined;
    }
    default:
      return mutateUsers(doc, op, secrets);
  }
}

function mutateUsers(doc: ClusterMetadata, op: MetadataOperation, secrets: SecretBox | undefined): string | undefined {
  if (!secrets) return NO_SECRET_MESSAGE;
  const userOf = (name: string): UserMeta | undefined => doc.users[name];
  switch (op.op) {
    case 'createUser': {
      if (op.name === '') return 'username required';
      const existing = userOf(op.name);
      if (existing) {
        const same = existing.admin === op.admin && secrets.open(existing.password, op.name) === op.password;
        return same ? undefined : 'user already exists';
      }
      doc.users[op.name] = { name: op.name, admin: op.admin, privileges: {}, password: secrets.seal(op.password, op.name) };
      return undefined;
    }
    case 'dropUser': {
      if (!userOf(op.name)) return 'user not found';
      delete doc.users[op.name];
      return undefined;
    }
    case 'setPassword': {
      const user = userOf(op.name);
      if (!user) return 'user not found';
      if (secrets.open(user.password, op.name) !== op.password) user.password = secrets.seal(op.password, op.name);
      return undefined;
    }
    case 'grant':
    case 'revoke': {
      const user = userOf(op.user);
      if (!user) return 'user not found';
      if (op.op === 'grant' && !doc.databases[op.database]) return `database not found: ${op.database}`;
      // Privileges are bit sets as in influxd: READ=1, WRITE=2, ALL=3; GRANT sets, REVOKE clears bits.
      const held = PRIVILEGE_BITS[user.privileges[op.database] ?? 'NONE'];
      const bits = op.op === 'grant' ? PRIVILEGE_BITS[op.privilege] : held & ~PRIVILEGE_BITS[op.privilege];
      const privilege = PRIVILEGE_BY_BITS[bits];
      if (privilege) user.privileges[op.database] = privilege;
      else delete user.privileges[op.database];
      return undefined;
    }
    case 'grantAdmin':
    case 'revokeAdmin': {
      const user = userOf(op.user);
      if (!user) return 'user not found';
      user.admin = op.op === 'grantAdmin';
      return undefined;
    }
    default:
      return `unsupported metadata operation: ${JSON.stringify(op)}`;
  }
}
