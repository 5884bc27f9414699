import { sameRetentionPolicy, type ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { LocalSnapshot } from './local-snapshot.ts';
import type { MetadataOperation } from '../../cluster/metadata-operations.ts';
import type { AppliedRecord } from './reconcile-plan.ts';

/** Local DDL made directly on influxd, as metadata operations. */
export interface Drift {
  operations: MetadataOperation[];
  /** Users created directly on influxd: no password can be read back, so they cannot be mirrored. */
  unmirrorableUsers: string[];
  /** influxd holds nothing while the agent had applied something: a wiped data dir, not deletions to push. */
  localLooksWiped: boolean;
}


/**
 * Compares what influxd holds now (a full snapshot) with what the agent last
 * applied: every difference was made directly on influxd. The result, as
 * operations, is what `--local-changes=push` sends to the cluster. Pure.
 */
export function detectDrift(local: LocalSnapshot, applied: ClusterMetadata, record: AppliedRecord): Drift {
  const operations: MetadataOperation[] = [];
  const appliedSomething = Object.keys(applied.databases).length > 0 || Object.keys(applied.users).length > 0;
  const localLooksWiped = appliedSomething && Object.keys(local.databases).length === 0 && Object.keys(local.users).length === 0;

  for (const [name, db] of Object.entries(local.databases)) {
    const before = applied.databases[name];
    const localDefault = db.defaultRetentionPolicy ? db.retentionPolicies?.[db.defaultRetentionPolicy] : undefined;
    if (!before) operations.push(localDefault ? { op: 'createDatabase', name, retentionPolicy: { ...localDefault } } : { op: 'createDatabase', name });
    const beforePolicies = before?.retentionPolicies ?? {};
    for (const [rpName, rp] of Object.entries(db.retentionPolicies ?? {})) {
      if (!before && rpName === localDefault?.name) continue; // created with the database
      const old = beforePolicies[rpName];
      const becameDefault = db.defaultRetentionPolicy === rpName && before?.defaultRetentionPolicy !== rpName;
      if (!old) {
        operations.push({ op: 'createRetentionPolicy', database: name, name: rpName, duration: rp.duration, replicaN: rp.replicaN, shardGroupDuration: rp.shardGroupDuration, makeDefault: becameDefault });
      } else if (!sameRetentionPolicy(old, rp) || becameDefault) {
        operations.push({ op: 'alterRetentionPolicy', database: name, name: rpName, duration: rp.duration, replicaN: rp.replicaN, shardGroupDuration: rp.shardGroupDuration, makeDefault: becameDefault });
      }
    }
    if (before && db.retentionPolicies) {
      for (const rpName of Object.keys(beforePolicies)) {
        if (!(rpName in db.retentionPolicies)) operations.push({ op: 'dropRetentionPolicy', database: name, name: rpName });
      }
    }
    const knownQueries = record.continuousQueries[name] ?? {};
    for (const [cqName, text] of Object.entries(db.continuousQueries)) {
      const known = knownQueries[cqName];
      if (!before?.continuousQueries[cqName] || (known && known.normalized !== text)) {
        if (before?.continuousQueries[cqName]) operations.push({ op: 'dropContinuousQuery', database: name, name: cqName });
        operations.push({ op: 'createContinuousQuery', database: name, name: cqName, query: text });
      }
    }
    for (const cqName of Object.keys(before?.continuousQueries ?? {})) {
      if (!(cqName in db.continuousQueries)) operations.push({ op: 'dropContinuousQuery', database: name, name: cqName });
    }
  }

  const unmirrorableUsers: string[] = [];
  for (const [name, user] of Object.entries(local.users)) {
    const before = applied.users[name];
    if (!before) {
      unmirrorableUsers.push(name);
      continue;
    }
    if (user.admin !== before.admin) operations.push(user.admin ? { op: 'grantAdmin', user: name } : { op: 'revokeAdmin', user: name });
    for (const [database, privilege] of Object.entries(user.privileges ?? {})) {
      if (before.privileges[database] !== privilege) operations.push({ op: 'grant', user: name, database, privilege });
    }
    for (const [database, privilege] of Object.entries(before.privileges)) {
      if (user.privileges && !(database in user.privileges)) operations.push({ op: 'revoke', user: name, database, privilege: privilege === 'ALL' ? 'ALL' : privilege });
    }
  }

  if (!localLooksWiped) {
    for (const name of Object.keys(applied.databases)) if (!(name in local.databases)) operations.push({ op: 'dropDatabase', name });
    for (const name of Object.keys(applied.users)) if (!(name in local.users)) operations.push({ op: 'dropUser', name });
  }
  return { operations, unmirrorableUsers, localLooksWiped };
}
