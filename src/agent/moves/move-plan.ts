import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import type { MemberMove, UnitPlacement } from '../../cluster/member-moves.ts';
import { NODE_LOCAL_DATABASE, Placement } from '../../cluster/placement.ts';
import { quoteIdentifier } from '../../influxql/influxql-quoting.ts';
import { parseKeepingNumbers } from '../repair/number-text-json.ts';
import type { RawSeries } from '../repair/point-format.ts';
import type { ReplicaAccess } from '../repair/unit-repair.ts';

/** A unit a move changes, with where it is now. */
export interface MovingUnit extends UnitPlacement {
  database: string;
  measurement: string;
}

/** What a move would do: the units it copies, and how much. */
export interface MovePlan {
  /** Units whose owners change (or that a replaced empty member must receive). */
  units: Array<MovingUnit & { points: number; bytes: number }>;
  /** Units no source can give now (every owner that holds them whole is down or empty). */
  unavailable: MovingUnit[];
  /** Measurements listed, across all databases (moving or not). */
  unitsTotal: number;
  points: number;
  bytes: number;
  /** Nodes whose measurements could not be listed (down). */
  unlisted: string[];
}

/** The placement a move would give (for a plan before the move exists). */
function placementWithMove(metadata: ClusterMetadata, move: Pick<MemberMove, 'target' | 'empty'>): Placement {
  const hypothetical: MemberMove = { id: 'plan', kind: 'add', startedAt: new Date(0).toISOString(), phase: 'dual', units: {}, ...move };
  return new Placement({ ...metadata, settings: { ...metadata.settings, move: hypothetical } });
}

/**
 * Every measurement of every database, as the listed nodes report them
 * (`SHOW MEASUREMENTS`), and the nodes that could not answer.
 */
export async function listUnits(metadata: ClusterMetadata, nodes: readonly string[], access: ReplicaAccess, signal: AbortSignal): Promise<{ units: Array<{ database: string; measurement: string }>; unlisted: string[] }> {
  const units: Array<{ database: string; measurement: string }> = [];
  const unlisted = new Set<string>();
  for (const database of Object.keys(metadata.databases).sort()) {
    if (database === NODE_LOCAL_DATABASE) continue;
    const names = new Set<string>();
    for (const node of nodes) {
      try {
        const answer = parseKeepingNumbers(await access.query(node, database, `SHOW MEASUREMENTS ON ${quoteIdentifier(database)}`, signal)) as { results?: Array<{ series?: RawSeries[]; error?: string }> };
        for (const row of answer.results?.[0]?.series?.[0]?.values ?? []) names.add(String(row[0]));
      } catch {
        unlisted.add(node);
      }
    }
    for (const measurement of [...names].sort()) units.push({ database, measurement });
  }
  return { units, unlisted: [...unlisted] };
}

/** The units among `units` that the placement moves. */
export function movingUnits(placement: Placement, units: ReadonlyArray<{ database: string; measurement: string }>): MovingUnit[] {
  return units.flatMap(({ database, measurement }) => {
    const moving = placement.moving(database, measurement);
    return moving ? [{ database, measurement, ...moving }] : [];
  });
}

/**
 * The plan of a move: which units move, how many points and about how many
 * bytes of line protocol each (counted on an available source; bytes from a
 * sample of its lines), and which have no source that can give them.
 */
export async function planMove(options: {
  metadata: ClusterMetadata;
  move: Pick<MemberMove, 'target' | 'empty'>;
  nodes: readonly string[];
  available: (node: string) => boolean;
  access: ReplicaAccess;
  signal: AbortSignal;
}): Promise<MovePlan> {
  const { metadata, access, signal } = options;
  const placement = placementWithMove(metadata, options.move);
  const listed = await listUnits(metadata, options.nodes.filter(options.available), access, signal);
  const plan: MovePlan = { units: [], unavailable: [], unitsTotal: listed.units.length, points: 0, bytes: 0, unlisted: listed.unlisted };
  for (const unit of movingUnits(placement, listed.units)) {
    const source = unit.sources.find(options.available);
    if (!source) {
      plan.unavailable.push(unit);
      continue;
    }
    const { points, bytesPerPoint } = await measureUnit(metadata, unit, source, access, signal);
    const bytes = Math.round(points * bytesPerPoint * unit.destinations.length);
    plan.units.push({ ...unit, points, bytes });
    plan.points += points * unit.destinations.length;
    plan.bytes += bytes;
  }
  return plan;
}

/** Points of a unit on `source` (every retention policy), and the size of a line, from a sample. */
async function measureUnit(metadata: ClusterMetadata, unit: MovingUnit, source: string, access: ReplicaAccess, signal: AbortSignal): Promise<{ points: number; bytesPerPoint: number }> {
  let points = 0;
  let bytesPerPoint = 0;
  for (const policy of Object.keys(metadata.databases[unit.database]?.retentionPolicies ?? {})) {
    const from = `${quoteIdentifier(unit.database)}.${quoteIdentifier(policy)}.${quoteIdentifier(unit.measurement)}`;
    const counted = parseKeepingNumbers(await access.query(source, unit.database, `SELECT count(*) FROM ${from}`, signal)) as { results?: Array<{ series?: RawSeries[] }> };
    const row = counted.results?.[0]?.series?.[0]?.values?.[0] ?? [];
    points += Math.max(0, ...row.slice(1).map((value) => Number((value as { number?: string } | null)?.number ?? 0)));
    if (bytesPerPoint === 0 && points > 0) {
      // A JSON row is about as long as its line of line protocol; a sample of ten gives the size.
      const sample = await access.query(source, unit.database, `SELECT * FROM ${from} LIMIT 10`, signal);
      const rows = (parseKeepingNumbers(sample) as { results?: Array<{ series?: RawSeries[] }> }).results?.[0]?.series?.reduce((sum, series) => sum + (series.values?.length ?? 0), 0) ?? 0;
      bytesPerPoint = rows > 0 ? Math.max(16, sample.length / rows) : 64;
    }
  }
  return { points, bytesPerPoint: bytesPerPoint || 64 };
}
