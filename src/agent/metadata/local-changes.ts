import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import { detectDrift } from './drift-detection.ts';
import type { LocalSnapshot } from './local-snapshot.ts';
import { objectKey, type AppliedRecord } from './reconcile-plan.ts';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The objects an operation changes, each with whether the cluster left it
 * as it was between `applied` and `desired`. Databases created directly on
 * influxd are not listed: the plan's drop rule keeps them already.
 */
function touched(operation: MetadataOperation, applied: ClusterMetadata, desired: ClusterMetadata): Array<[string, boolean]> {
  const policy = (database: string, name: string): [string, boolean] => [
    objectKey.retentionPolicy(database, name),
    same(applied.databases[database]?.retentionPolicies[name], desired.databases[database]?.retentionPolicies[name]),
  ];
  const privilege = (user: string, database: string): [string, boolean] => {
    const wanted = desired.users[user];
    return [objectKey.privilege(user, database), wanted !== undefined && applied.users[user]?.privileges[database] === wanted.privileges[database]];
  };
  switch (operation.op) {
    case 'dropDatabase':
      return [[objectKey.database(operation.name), same(applied.databases[operation.name], desired.databases[operation.name])]];
    case 'createRetentionPolicy':
    case 'alterRetentionPolicy': {
      const list = [policy(operation.database, operation.name)];
      const defaultUnchanged = applied.databases[operation.database]?.defaultRetentionPolicy === desired.databases[operation.database]?.defaultRetentionPolicy;
      if (operation.makeDefault) list.push([objectKey.defaultPolicy(operation.database), defaultUnchanged]);
      return list;
    }
    case 'dropRetentionPolicy':
      return [policy(operation.database, operation.name)];
    case 'dropUser':
      return [[objectKey.user(operation.name), same(applied.users[operation.name], desired.users[operation.name])]];
    case 'grantAdmin':
    case 'revokeAdmin': {
      const wanted = desired.users[operation.user];
      return [[objectKey.admin(operation.user), wanted !== undefined && applied.users[operation.user]?.admin === wanted.admin]];
    }
    case 'grant':
    case 'revoke':
      return [privilege(operation.user, operation.database)];
    case 'createContinuousQuery':
    case 'dropContinuousQuery':
      return [[
        objectKey.continuousQuery(operation.database, operation.name),
        same(applied.databases[operation.database]?.continuousQueries[operation.name], desired.databases[operation.database]?.continuousQueries[operation.name]),
      ]];
    default:
      return [];
  }
}

/**
 * Push mode: what was changed directly on influxd since the last applied
 * document and is not the cluster's to set back yet. A reconcile running
 * before the next drift check used to undo such a change (an ALTER
 * RETENTION POLICY, a DROP DATABASE, a GRANT run on influxd), and the drift
 * check then had nothing to push: the change was lost. Now the plan leaves
 * it, and the drift check pushes it. The cluster still wins where it
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
