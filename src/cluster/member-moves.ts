import type { ClusterMetadata, MemberMove } from './cluster-metadata.ts';

export type { MemberMove, UnitMove } from './cluster-metadata.ts';

/** What a move means for one unit: who holds it whole, who must receive it. */
export interface UnitPlacement {
  /** Owners before the move. */
  from: string[];
  /** Owners after it. */
  to: string[];
  /** Owners before the move that hold it whole (not empty), best first: where reads and copies come from. */
  sources: string[];
  /** New owners that must receive a copy. */
  destinations: string[];
}

/** Members while a move runs: old and target together, sorted (fan-outs reach all of them). */
export function membersDuring(metadata: ClusterMetadata): string[] {
  const move = metadata.settings.move;
  if (!move) return metadata.settings.dataMembers;
  return [...new Set([...metadata.settings.dataMembers, ...move.target])].sort();
}

/** How a move changes a unit, given its owners before and after; undefined when the unit does not move. */
export function unitPlacement(from: string[], to: string[], empty: readonly string[]): UnitPlacement | undefined {
  const same = from.length === to.length && from.every((owner) => to.includes(owner));
  if (same && !from.some((owner) => empty.includes(owner))) return undefined;
  const sources = from.filter((owner) => !empty.includes(owner));
  return { from, to, sources, destinations: to.filter((owner) => !sources.includes(owner)) };
}

/** Writes during a move: old owners first, then the new ones. */
export function writeOwnersDuring(placement: UnitPlacement): string[] {
  return [...new Set([...placement.from, ...placement.to])];
}

/** Reads during a move: the new owners once the unit is copied, else the owners that hold it whole. */
export function readOwnersDuring(placement: UnitPlacement, move: MemberMove, database: string, measurement: string): string[] {
  return move.units[database]?.[measurement]?.state === 'done' ? placement.to : placement.sources;
}

/** The operations on a move (apply-operation.ts applies them inside the compare-and-swap). */
export type MoveOperation =
  | { op: 'startMove'; move: MemberMove }
  /** The coordinator: every agent writes to both owners now; these units are to be copied. */
  | { op: 'startCopying'; id: string; units: Array<{ database: string; measurement: string }> }
  /** Units created since copying started, found by the coordinator before it finishes. */
  | { op: 'addMovingUnits'; id: string; units: Array<{ database: string; measurement: string }> }
  | { op: 'unitsMoved'; id: string; units: Array<{ database: string; measurement: string; points: number }> }
  /** Every unit copied: the target becomes the member set. */
  | { op: 'finishMove'; id: string }
  /** `id` undefined: whatever move runs. */
  | { op: 'cancelMove'; id?: string };

/** Applies a move operation to `doc` (a copy the caller owns); returns an error text or undefined. */
export function applyMoveOperation(doc: ClusterMetadata, op: MoveOperation): string | undefined {
  const move = doc.settings.move;
  if (op.op === 'startMove') {
    if (move) return `a move is already running (${move.kind}, started ${move.startedAt}): wait for it or cancel it with cflux members cancel`;
    if (op.move.target.length === 0) return 'a cluster needs at least one data member';
    doc.settings.move = structuredClone(op.move);
    return undefined;
  }
  if (op.op === 'cancelMove') {
    if (move && (op.id === undefined || op.id === move.id)) delete doc.settings.move;
    return undefined;
  }
  if (!move || move.id !== op.id) return 'that move is no longer running';
  switch (op.op) {
    case 'startCopying':
      move.phase = 'copying';
      addUnits(move, op.units);
      return undefined;
    case 'addMovingUnits':
      addUnits(move, op.units);
      return undefined;
    case 'unitsMoved':
      for (const unit of op.units) {
        const entry = move.units[unit.database]?.[unit.measurement];
        if (entry && entry.state !== 'done') move.units[unit.database]![unit.measurement] = { state: 'done', points: entry.points + unit.points };
      }
      return undefined;
    case 'finishMove': {
      const pending = pendingUnits(doc);
      if (move.phase !== 'copying' || pending.length > 0) return `the move is not done: ${pending.length} units still copying`;
      doc.settings.dataMembers = [...move.target];
      delete doc.settings.move;
      return undefined;
    }
  }
}

function addUnits(move: MemberMove, units: Array<{ database: string; measurement: string }>): void {
  for (const { database, measurement } of units) {
    const perDatabase = (move.units[database] ??= {});
    perDatabase[measurement] ??= { state: 'copying', points: 0 };
  }
}

/** Units of existing databases still copying. */
export function pendingUnits(metadata: ClusterMetadata): Array<{ database: string; measurement: string }> {
  const move = metadata.settings.move;
  if (!move) return [];
  const pending: Array<{ database: string; measurement: string }> = [];
  for (const [database, units] of Object.entries(move.units)) {
    if (!(database in metadata.databases)) continue;
    for (const [measurement, unit] of Object.entries(units)) if (unit.state !== 'done') pending.push({ database, measurement });
  }
  return pending;
}

/** A move's totals: units listed, copied, and points copied. */
export function moveProgress(move: MemberMove): { units: number; done: number; points: number } {
  let units = 0;
  let done = 0;
  let points = 0;
  for (const perDatabase of Object.values(move.units)) {
    for (const unit of Object.values(perDatabase)) {
      units++;
      if (unit.state === 'done') done++;
      points += unit.points;
    }
  }
  return { units, done, points };
}
