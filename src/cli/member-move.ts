import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyOperation } from '../cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../cluster/cluster-metadata.ts';
import { updateDocument, type VersionedDocument } from '../cluster/document-update.ts';
import { moveProgress, type MemberMove } from '../cluster/member-moves.ts';
import type { MetadataOperation } from '../cluster/metadata-operations.ts';
import { replicationFactorOf } from '../cluster/placement.ts';
import type { ManagerMetadataApi } from '../agent/metadata/metadata-api.ts';
import { readBodyText } from '../shared/http/http-client.ts';
import type { AgentClient } from './agent-client.ts';

/** What `cflux members add|remove|replace` asks for. */
export interface MoveRequest {
  kind: MemberMove['kind'];
  /** add/remove: the node; replace: the old one. */
  name: string;
  /** replace: the new node (the old name again: the node came back empty). */
  replacement?: string;
}

/** The plan an agent measured (moves-route.ts). */
interface Plan {
  units: Array<{ database: string; measurement: string; from: string[]; to: string[]; destinations: string[]; points: number; bytes: number }>;
  unavailable: Array<{ database: string; measurement: string; from: string[] }>;
  unitsTotal: number;
  points: number;
  bytes: number;
  unlisted: string[];
  bytesPerSecond: number;
}

/** The members after the request, and the members that come back empty; throws the operator's error when it must be refused. */
export function targetOf(metadata: ClusterMetadata, request: MoveRequest, registered: readonly string[]): { target: string[]; empty: string[] } {
  const members = metadata.settings.dataMembers;
  const mustBeRegistered = (name: string) => {
    if (!registered.includes(name)) throw new Error(`node "${name}" has never registered with the manager (start its agent first; cflux nodes lists the registered nodes)`);
  };
  let target: string[];
  let empty: string[] = [];
  if (request.kind === 'add') {
    if (members.includes(request.name)) throw new Error(`${request.name} is already a data member`);
    mustBeRegistered(request.name);
    target = [...members, request.name];
  } else if (request.kind === 'remove') {
    if (!members.includes(request.name)) throw new Error(`${request.name} is not a data member (members: ${members.join(', ')})`);
    target = members.filter((member) => member !== request.name);
  } else {
    const replacement = request.replacement!;
    if (!members.includes(request.name)) throw new Error(`${request.name} is not a data member (members: ${members.join(', ')})`);
    if (replacement === request.name) empty = [request.name];
    else {
      if (members.includes(replacement)) throw new Error(`${replacement} is already a data member`);
      mustBeRegistered(replacement);
    }
    target = [...members.filter((member) => member !== request.name), replacement];
  }
  target = [...new Set(target)].sort();
  if (target.length === 0) throw new Error('the last data member cannot be removed');
  for (const database of Object.keys(metadata.databases)) {
    const replication = replicationFactorOf(metadata, database);
    if (target.length < replication) throw new Error(`${target.length} data members would be fewer than the replication factor ${replication} of database "${database}"`);
  }
  return { target, empty };
}

/** Prints the plan (stdout) and refuses one with units no node can give. */
export async function fetchPlan(agent: AgentClient, target: string[], empty: string[]): Promise<Plan> {
  const params = new URLSearchParams();
  for (const name of target) params.append('target', name);
  for (const name of empty) params.append('empty', name);
  return JSON.parse(await readBodyText((await agent.post(`/peer/v1/moves/plan?${params}`)).body)) as Plan;
}

export function describePlan(plan: Plan, members: readonly string[], target: readonly string[]): string {
  const share = plan.unitsTotal === 0 ? 0 : (100 * plan.units.length) / plan.unitsTotal;
  const seconds = plan.bytes / Math.max(1, plan.bytesPerSecond);
  const lines = [
    `data members: ${members.join(', ')} -> ${target.join(', ')}`,
    `units that move: ${plan.units.length} of ${plan.unitsTotal} (${share.toFixed(0)}%); points to copy: ${plan.points.toLocaleString('en-US')} (about ${(plan.bytes / 1e6).toFixed(1)} MB); at the agents' --move-rate of ${(plan.bytesPerSecond / 1e6).toFixed(0)} MB/s: ${seconds < 1 ? 'under 1 s' : `at least ${Math.ceil(seconds)} s`}`,
    ...plan.units.slice(0, 10).map((unit) => `  ${unit.database}.${unit.measurement}: ${unit.from.join(',')} -> ${unit.to.join(',')} (${unit.points.toLocaleString('en-US')} points to ${unit.destinations.join(',')})`),
    ...(plan.units.length > 10 ? [`  ... and ${plan.units.length - 10} more`] : []),
    ...(plan.unlisted.length > 0 ? [`warning: ${plan.unlisted.join(', ')} could not list their measurements; their units are found when copying starts`] : []),
  ];
  return lines.join('\n') + '\n';
}

/** Starts the move at the manager (compare-and-swap on the document); returns it. */
export async function startMove(api: ManagerMetadataApi, cluster: string, current: VersionedDocument, kind: MemberMove['kind'], target: string[], empty: string[]): Promise<MemberMove> {
  const move: MemberMove = { id: randomBytes(9).toString('base64url'), kind, target, empty, startedAt: new Date().toISOString(), phase: 'dual', units: {} };
  await applyAtManager(api, cluster, current, [{ op: 'startMove', move }]);
  return move;
}

/** Applies operations to the cluster's document at the manager; throws the refusal. */
export async function applyAtManager(api: ManagerMetadataApi, cluster: string, current: VersionedDocument, operations: MetadataOperation[]): Promise<ClusterMetadata> {
  const update = await updateDocument(
    current,
    (metadata) => {
      let next = metadata ?? emptyMetadata();
      let changed = false;
      for (const operation of operations) {
        const result = applyOperation(next, operation, undefined);
        if (!result.ok) throw new Error(result.error);
        next = result.metadata;
        changed ||= result.changed;
      }
      return { metadata: next, changed, result: next };
    },
    (base, metadata) => api.write(cluster, base, metadata),
  );
  return update.result;
}

/**
 * Follows a move at the manager until it ends, with a progress bar on a
 * terminal (units done, points copied, rate, ETA); resolves with the
 * members afterwards and whether the move finished (false: cancelled).
 */
export async function followMove(api: ManagerMetadataApi, cluster: string, move: MemberMove, plannedPoints: number, signal?: AbortSignal): Promise<{ finished: boolean; members: string[]; points: number }> {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let points = 0;
  let lastLine = '';
  for (;;) {
    const { metadata } = await api.get(cluster, signal);
    const running = metadata?.settings.move;
    if (!running || running.id !== move.id) {
      if (tty) process.stderr.write('\n');
      const members = metadata?.settings.dataMembers ?? [];
      return { finished: move.target.every((name) => members.includes(name)) && members.length === move.target.length, members, points };
    }
    const progress = moveProgress(running);
    points = progress.points;
    const seconds = (performance.now() - started) / 1000;
    const rate = points / Math.max(0.001, seconds);
    const eta = rate > 0 && plannedPoints > points ? `  ETA ${Math.ceil((plannedPoints - points) / rate)}s` : '';
    const line =
      running.phase === 'dual'
        ? 'waiting until every agent writes to the old and the new owners...'
        : `${bar(progress.units === 0 ? 0 : progress.done / progress.units)} ${progress.done}/${progress.units} units  ${points.toLocaleString('en-US')} points copied  ${Math.round(rate).toLocaleString('en-US')} points/s${eta}`;
    if (tty) process.stderr.write(`\r${line.padEnd(lastLine.length)}`);
    else if (line !== lastLine) process.stderr.write(`${line}\n`);
    lastLine = line;
    await sleep(1000, undefined, signal ? { signal } : {});
  }
}

function bar(fraction: number): string {
  const width = 20;
  const filled = Math.round(Math.min(1, fraction) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** `cflux members status`: the move in flight, or none. */
export function describeMove(metadata: ClusterMetadata, lagging: string[]): string {
  const move = metadata.settings.move;
  if (!move) return `no move running; data members: ${metadata.settings.dataMembers.join(', ') || '(none)'}\n`;
  const progress = moveProgress(move);
  const lines = [
    `move ${move.id} (${move.kind}), started ${move.startedAt}`,
    `data members: ${metadata.settings.dataMembers.join(', ')} -> ${move.target.join(', ')}${move.empty.length > 0 ? ` (empty, refilled: ${move.empty.join(', ')})` : ''}`,
    move.phase === 'dual'
      ? `phase: dual writes; copying starts once every agent writes to old and new owners${lagging.length > 0 ? ` (waiting for: ${lagging.join(', ')})` : ''}`
      : `phase: copying; units ${progress.done}/${progress.units} done, ${progress.points.toLocaleString('en-US')} points copied`,
  ];
  return lines.join('\n') + '\n';
}
