import type { Logger } from '../../shared/logging.ts';
import { InfluxdRequestError, redactPasswords, type InfluxdQueryClient } from '../influxd/influxd-query-client.ts';
import type { AppliedState } from './applied-state-store.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { readLocalSnapshot, type LocalSnapshot, type SnapshotScope } from './local-snapshot.ts';
import { objectKey, planReconcile, type AppliedRecord, type PlannedStatement } from './reconcile-plan.ts';
import { localChangesToKeep } from './local-changes.ts';
import type { SecretBox } from '../../cluster/secret-box.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';

export interface ReconcileOutcome {
  state: AppliedState;
  applied: number;
  /** Statements still needed after applying (influxd refused or changed something meanwhile). */
  remaining: number;
}

/**
 * Brings the local influxd to a cluster metadata document: reads what is
 * needed (SHOW ...), plans, applies one statement per request, reads back and
 * records what it did (sealed passwords, influxd's text of each CQ).
 */
export class MetadataReconciler {
  readonly #influxd: InfluxdQueryClient;
  readonly #logger: Logger;
  readonly #secrets: SecretBox | undefined;
  readonly #dropUnmanagedUsers: boolean;

  constructor(options: { influxd: InfluxdQueryClient; logger: Logger; secrets: SecretBox | undefined; dropUnmanagedUsers: boolean }) {
    this.#influxd = options.influxd;
    this.#logger = options.logger;
    this.#secrets = options.secrets;
    this.#dropUnmanagedUsers = options.dropUnmanagedUsers;
  }

  /**
   * Applies `desired` (version `version`) on top of `previous`. With a scope
   * other than 'all', only databases and users that differ between the two
   * documents are read in detail (fast path for one DDL change).
   * `keepLocalChanges` (push mode): leave what was changed directly on
   * influxd for the drift check (local-changes.ts); false sets it back.
   */
  async reconcile(previous: AppliedState, version: number, desired: ClusterMetadata, scope: SnapshotScope = changedScope(previous.metadata, desired), refused: MetadataOperation[] = [], keepLocalChanges = true): Promise<ReconcileOutcome> {
    const local = await readLocalSnapshot(this.#influxd, scope);
    // What the cluster refused of this agent's pushed drift counts as known, so the plan undoes it.
    // Push mode: what was changed directly on influxd and not yet pushed stays for the drift check.
    const keep = this.#dropUnmanagedUsers || !keepLocalChanges ? undefined : localChangesToKeep(local, previous.metadata, previous.record, desired, refused);
    const options = { dropUnmanagedUsers: this.#dropUnmanagedUsers, secrets: this.#secrets, knownBefore: withRefused(previous.metadata, refused), ...(keep ? { keep } : {}) };
    const plan = planReconcile(desired, local, previous.record, options);
    let applied = 0;
    const passwordsSet = new Set<string>();
    for (const statement of plan) {
      let result;
      try {
        result = await this.#influxd.run(statement.text);
      } catch (err) {
        // influxd refused the text itself (a parse error, e.g. a continuous query written into the
        // document behind the proxy): skip it like a statement error, do not stop the rest.
        if (!(err instanceof InfluxdRequestError) || err.status !== 400) throw err;
        result = { statement_id: 0, error: err.message };
      }
      if (result.error) {
        this.#logger.warn({ statement: shown(statement), error: result.error }, 'influxd refused a reconcile statement');
        continue;
      }
      applied++;
      if (statement.passwordFor !== undefined) passwordsSet.add(statement.passwordFor);
      this.#logger.debug({ statement: shown(statement) }, 'applied');
    }
    const after = await readLocalSnapshot(this.#influxd, scope);
    const record = recordAfter(desired, after, previous.record, passwordsSet, keep);
    const remaining = planReconcile(desired, after, record, options);
    if (remaining.length > 0) this.#logger.warn({ version, remaining: remaining.map(shown) }, 'influxd did not converge to the cluster metadata; will retry');
    if (applied > 0) this.#logger.info({ version, statements: applied }, 'influxd reconciled to cluster metadata');
    return { state: { cluster: previous.cluster, version, metadata: desired, record }, applied, remaining: remaining.length };
  }
}

function shown(statement: PlannedStatement): string {
  return statement.sensitive ? redactPasswords(statement.text) : statement.text;
}

/** What the agent must remember after applying `desired`. */
function recordAfter(desired: ClusterMetadata, after: LocalSnapshot, previous: AppliedRecord, passwordsSet: Set<string>, keep: ReadonlySet<string> | undefined): AppliedRecord {
  const passwords: Record<string, string> = {};
  for (const [name, user] of Object.entries(desired.users)) {
    const current = passwordsSet.has(name) ? user.password : previous.passwords[name];
    if (current !== undefined) passwords[name] = current;
  }
  const continuousQueries: AppliedRecord['continuousQueries'] = {};
  for (const [database, db] of Object.entries(desired.databases)) {
    for (const [name, cq] of Object.entries(db.continuousQueries)) {
      // One changed directly on influxd and kept (push mode) keeps its old record, so the drift check still sees the change.
      const kept = keep?.has(objectKey.continuousQuery(database, name)) ? previous.continuousQueries[database]?.[name] : undefined;
      const normalized = after.databases[database]?.continuousQueries[name];
      if (kept) (continuousQueries[database] ??= {})[name] = kept;
      else if (normalized !== undefined) (continuousQueries[database] ??= {})[name] = { source: cq.query, normalized };
    }
  }
  return { passwords, continuousQueries, managedUsers: Object.keys(desired.users) };
}

/** Databases and users whose definitions differ between two documents (what a change touched). */
export function changedScope(before: ClusterMetadata, after: ClusterMetadata): { databases: Set<string>; users: Set<string> } {
  const databases = new Set<string>();
  const users = new Set<string>();
  for (const name of new Set([...Object.keys(before.databases), ...Object.keys(after.databases)])) {
    const a = before.databases[name];
    const b = after.databases[name];
    if (JSON.stringify(a?.retentionPolicies) !== JSON.stringify(b?.retentionPolicies) || a?.defaultRetentionPolicy !== b?.defaultRetentionPolicy) databases.add(name);
  }
  for (const name of new Set([...Object.keys(before.users), ...Object.keys(after.users)])) {
    if (JSON.stringify(before.users[name]) !== JSON.stringify(after.users[name])) users.add(name);
  }
  return { databases, users };
}

/** Adds the database or user a (drift) operation names to `scope`, so a reconcile reads it in detail. */
export function addToScope(scope: { databases: Set<string>; users: Set<string> }, operation: MetadataOperation): void {
  if (operation.op === 'createDatabase' || operation.op === 'dropDatabase') scope.databases.add(operation.name);
  else if (operation.op === 'createUser' || operation.op === 'dropUser' || operation.op === 'setPassword') scope.users.add(operation.name);
  else if ('user' in operation) scope.users.add(operation.user); // grants and revokes
  else if ('database' in operation) scope.databases.add(operation.database); // retention policies, continuous queries
}

/** `before` with the databases, retention policies and continuous queries that `refused` would have created. */
export function withRefused(before: ClusterMetadata, refused: MetadataOperation[]): ClusterMetadata {
  if (refused.length === 0) return before;
  const known = structuredClone(before);
  const database = (name: string) => (known.databases[name] ??= { retentionPolicies: {}, defaultRetentionPolicy: null, continuousQueries: {} });
  for (const operation of refused) {
    if (operation.op === 'createDatabase') database(operation.name);
    else if (operation.op === 'createRetentionPolicy') database(operation.database).retentionPolicies[operation.name] = { name: operation.name, duration: operation.duration, shardGroupDuration: operation.shardGroupDuration ?? 0, replicaN: operation.replicaN };
    else if (operation.op === 'createContinuousQuery') database(operation.database).continuousQueries[operation.name] = { name: operation.name, query: operation.query };
  }
  return known;
}
