import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import { detectDrift } from './drift-detection.ts';
import type { LocalSnapshot } from './local-snapshot.ts';
import { objectKey, type AppliedRecord } from './reconcile-plan.ts';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The objects an operation changes in place, each with whether the cluster
 * left it as it was between `applied` and `desired`. Only changes of what
 * influxd still holds are listed: an altered policy, a default moved, a
 * grant or admin flag changed, a continuous query rewritten. A removal (a
 * database, policy, query, user or grant missing) is not: it looks the same
 * as a restore that stopped half-way (a wiped influxd being filled again
 * when influxd or the agent died), and kept, the drift check would push it
 * as a cluster-wide DROP. What is missing is made again, as before, and a
 * direct DROP is pushed only when the drift check sees it first. Databases,
 * policies and queries created directly are kept by the plan's drop rule.
 */
function touched(operation: MetadataOperation, applied: ClusterMetadata, desired: ClusterMetadata): Array<[string, boolean]> {
  switch (operation.op) {
    case 'createRetentionPolicy':
    case 'alterRetentionPolicy': {
      const { database, name } = operation;
      const list: Array<[string, boolean]> = [[objectKey.retentionPolicy(database, name), same(applied.databases[database]?.retentionPolicies[name], desired.databases[database]?.retentionPolicies[name])]];
      const defaultUnchanged = applied.databases[database]?.defaultRetentionPolicy === desired.databases[database]?.defaultRetentionPolicy;
      if (operation.makeDefault) list.push([objectKey.defaultPolicy(database), defaultUnchanged]);
      return list;
    }
    case 'grantAdmin':
    case 'revokeAdmin': {
      const wanted = desired.users[operation.user];
      return [[objectKey.admin(operation.user), wanted !== undefined && applied.users[operation.user]?.admin === wanted.admin]];
    }
    case 'grant': {
      const wanted = desired.users[operation.user];
      return [[objectKey.privilege(operation.user, operation.database), wanted !== undefined && applied.users[operation.user]?.privileges[operation.database] === wanted.privileges[operation.database]]];
    }
    case 'createContinuousQuery': {
      const before = applied.databases[operation.database]?.continuousQueries[operation.name];
      // Only a rewrite (the query was there before); a new one is kept by the plan's drop rule.
      if (!before) return [];
      return [[objectKey.continuousQuery(operation.database, operation.name), same(before, desired.databases[operation.database]?.continuousQueries[operation.name])]];
    }
    default:
      return [];
  }
}

/**
 * Push mode: what was changed directly on influxd since the last applied
 * document and is not the cluster's to set back yet. A reconcile running
 * before the next drift check used to undo such a change (an ALTER
 * RETENTION POLICY, a GRANT, a rewritten continuous query run on influxd),
 * and the drift check then had nothing to push: the change was lost. Now
 * the plan leaves it, and the drift check pushes it. The cluster still wins where it
 * changed the same object, and where it refused the pushed change
 * (`refused`: undone). Nothing is kept when influxd looks wiped (it is
 * filled again, not read as deletions). Pure.
 */
export function localChangesToKeep(local: LocalSnapshot, applied: ClusterMetadata, record: AppliedRecord, desired: ClusterMetadata, refused: readonly MetadataOperation[]): Set<string> {
  const drift = detectDrift(local, applied, record);
  const keep = new Set<string>();
  if (drift.localLooksWiped) return keep;
  const undo = new Set(refused.flatMap((operation) => touched(operation, applied, desired).map(([key]) => key)));
  for (const operation of drift.operations) {
    for (const [key, unchanged] of touched(operation, applied, desired)) if (unchanged && !undo.has(key)) keep.add(key);
  }
  return keep;
}
