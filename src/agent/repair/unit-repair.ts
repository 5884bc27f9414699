import { quoteIdentifier } from '../../influxql/influxql-quoting.ts';
import { parseKeepingNumbers } from './number-text-json.ts';
import { pointKeys, seriesToLines, type RawSeries } from './point-format.ts';

/** Reads and writes of one node's influxd, with the agents' own identity. */
export interface ReplicaAccess {
  /** A read-only statement on `node`'s influxd (`epoch=ns`); influxd's answer as text. */
  query(node: string, database: string, statement: string, signal: AbortSignal): Promise<string>;
  /** Writes line protocol (`precision=ns`) to `node`'s influxd; throws when it is not stored. */
  write(node: string, database: string, retentionPolicy: string, lines: string, signal: AbortSignal): Promise<void>;
}

/** A unit in one retention policy, with its owners. */
export interface RepairUnit {
  database: string;
  retentionPolicy: string;
  measurement: string;
  owners: string[];
  /** The retention policy's shard group duration: the first comparison window. */
  windowSeconds: number;
}

/** What a repair found and did. */
export interface UnitReport {
  windowsCompared: number;
  windowsDiffering: number;
  /** Points written to owners that lacked them (in a dry run: that would be written). */
  pointsCopied: number;
  bytesCopied: number;
}

export interface UnitRepairOptions {
  dryRun: boolean;
  signal: AbortSignal;
  /** A differing window with more points than this is compared again in 16 parts before anything is copied. */
  maxPointsPerCopy?: number;
  /** Called after every copied window. */
  onCopied?: (points: number, bytes: number) => void;
  /** Only these owners receive copies (a move copies to new owners only); default every owner. */
  receivers?: readonly string[];
  /** Awaited before each batch is written with its size (a rate limit). */
  throttle?: (bytes: number) => Promise<void>;
}

const MIN_TIME = -9223372036854775806n;
const MAX_TIME = 9223372036854775806n;
const SECOND = 1_000_000_000n;
const WRITE_BATCH_LINES = 20_000;

/** Per window start: per series (tags), the row of counts; and the largest count seen in the window. */
type WindowCounts = Map<string, { series: Map<string, string>; points: number }>;

/**
 * Anti-entropy for one unit: compares its owners window by window (counts
 * of every field per series, shard-group windows first, then narrower ones
 * where they differ and hold many points), and copies to each owner the
 * points another owner has and it lacks. Points are read back exactly
 * (point-format.ts), so a copy has the same tags, field types and times; a
 * point both owners hold is never written.
 */
export async function repairUnit(unit: RepairUnit, access: ReplicaAccess, options: UnitRepairOptions): Promise<UnitReport> {
  const report: UnitReport = { windowsCompared: 0, windowsDiffering: 0, pointsCopied: 0, bytesCopied: 0 };
  if (unit.owners.length < 2) return report;
  const source = `${quoteIdentifier(unit.database)}.${quoteIdentifier(unit.retentionPolicy)}.${quoteIdentifier(unit.measurement)}`;
  const limit = options.maxPointsPerCopy ?? 100_000;
  let fieldTypes: Map<string, string[]> | undefined;

  const compare = async (start: bigint, end: bigint, windowNs: bigint): Promise<void> => {
    const counts = await Promise.all(unit.owners.map((owner) => countsOf(access, owner, unit.database, source, start, end, windowNs, options.signal)));
    const windows = new Set<bigint>();
    for (const perOwner of counts) for (const key of perOwner.keys()) windows.add(BigInt(key));
    for (const window of [...windows].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      options.signal.throwIfAborted();
      report.windowsCompared++;
      const rows = counts.map((perOwner) => perOwner.get(String(window)));
      if (rows.every((row) => sameCounts(row, rows[0]))) continue;
      report.windowsDiffering++;
      const lower = window > start ? window : start;
      const upper = window + windowNs < end ? window + windowNs : end;
      const points = Math.max(...rows.map((row) => row?.points ?? 0));
      if (points > limit && windowNs > SECOND) {
        const narrower = windowNs / 16n > SECOND ? windowNs / 16n : SECOND;
        report.windowsDiffering--; // counted again at the narrower level
        await compare(lower, upper, narrower);
        continue;
      }
      fieldTypes ??= await fieldTypesOf(access, unit, options.signal);
      await copyWindow(lower, upper, rows.map((row) => row?.points ?? 0));
    }
  };

  const copyWindow = async (start: bigint, end: bigint, pointsPerOwner: number[]): Promise<void> => {
    const statement = `SELECT * FROM ${source} WHERE time >= ${start} AND time < ${end} GROUP BY *`;
    // An owner with nothing in the window needs no read: it lacks everything the others have.
    const read = await Promise.all(unit.owners.map(async (owner, index) => (pointsPerOwner[index] === 0 ? [] : seriesOf(await access.query(owner, unit.database, statement, options.signal)))));
    const keyed: Array<Map<string, string> | undefined> = [];
    const pointsOfOwner = (index: number) => (keyed[index] ??= pointsOf(read[index]!, unit.measurement, fieldTypes!));
    for (const [index, owner] of unit.owners.entries()) {
      if (options.receivers && !options.receivers.includes(owner)) continue;
      const holders = unit.owners.map((_, other) => other).filter((other) => other !== index && pointsPerOwner[other]! > 0);
      if (holders.length === 0) continue;
      let lacking: string[];
      if (pointsPerOwner[index] === 0 && holders.length === 1) {
        // The common case (a wiped or long-absent replica): everything the one holder has, no comparison.
        lacking = read[holders[0]!]!.flatMap((series) => seriesToLines(unit.measurement, series, fieldTypes!));
      } else {
        lacking = [];
        const own = pointsPerOwner[index] === 0 ? new Map<string, string>() : pointsOfOwner(index);
        const seen = new Set<string>();
        for (const other of holders) {
          for (const [key, line] of pointsOfOwner(other)) {
            if (own.has(key) || seen.has(key)) continue;
            seen.add(key);
            lacking.push(line);
          }
        }
      }
      if (lacking.length === 0) continue;
      let bytes = 0;
      for (let i = 0; i < lacking.length; i += WRITE_BATCH_LINES) {
        const body = lacking.slice(i, i + WRITE_BATCH_LINES).join('\n');
        const size = Buffer.byteLength(body);
        bytes += size;
        if (options.dryRun) continue;
        await options.throttle?.(size);
        await access.write(owner, unit.database, unit.retentionPolicy, body, options.signal);
      }
      report.pointsCopied += lacking.length;
      report.bytesCopied += bytes;
      options.onCopied?.(lacking.length, bytes);
    }
  };

  const top = BigInt(Math.max(1, unit.windowSeconds)) * SECOND;
  await compare(MIN_TIME, MAX_TIME, top);
  return report;
}

/** Per window, per series, the counts of every field (`count(*)`), from one owner. */
async function countsOf(access: ReplicaAccess, owner: string, database: string, source: string, start: bigint, end: bigint, windowNs: bigint, signal: AbortSignal): Promise<WindowCounts> {
  const text = await access.query(owner, database, `SELECT count(*) FROM ${source} WHERE time >= ${start} AND time < ${end} GROUP BY time(${windowNs}ns), * fill(none)`, signal);
  const out: WindowCounts = new Map();
  for (const series of seriesOf(text)) {
    const tags = JSON.stringify(Object.entries(series.tags ?? {}).filter(([, value]) => value !== '').sort());
    const timeIndex = series.columns.indexOf('time');
    for (const row of series.values ?? []) {
      const window = numberText(row[timeIndex]);
      let entry = out.get(window);
      if (!entry) out.set(window, (entry = { series: new Map(), points: 0 }));
      const counts = series.columns.map((column, index) => (index === timeIndex || row[index] === null ? '' : `${column}=${numberText(row[index])}`)).filter((text) => text !== '').sort().join(',');
      entry.series.set(tags, counts);
      entry.points += Math.max(0, ...series.columns.map((_, index) => (index === timeIndex ? 0 : Number(numberText(row[index]) || 0))));
    }
  }
  return out;
}

function sameCounts(a: { series: Map<string, string> } | undefined, b: { series: Map<string, string> } | undefined): boolean {
  const left = a?.series ?? new Map<string, string>();
  const right = b?.series ?? new Map<string, string>();
  if (left.size !== right.size) return false;
  for (const [key, value] of left) if (right.get(key) !== value) return false;
  return true;
}

/** Every point of a `SELECT * ... GROUP BY *` answer's series: identity (tags, time) → its line. */
function pointsOf(read: RawSeries[], measurement: string, fieldTypes: ReadonlyMap<string, readonly string[]>): Map<string, string> {
  const points = new Map<string, string>();
  for (const series of read) {
    const keys = pointKeys(series);
    const lines = seriesToLines(measurement, series, fieldTypes);
    // seriesToLines leaves out all-null rows; keys and lines line up only when none was left out.
    if (lines.length === keys.length) for (const [index, key] of keys.entries()) points.set(key, lines[index]!);
    else {
      const timeIndex = series.columns.indexOf('time');
      const kept = (series.values ?? []).filter((row) => row.some((value, index) => index !== timeIndex && value !== null));
      const keptKeys = pointKeys({ ...series, values: kept });
      for (const [index, key] of keptKeys.entries()) points.set(key, lines[index]!);
    }
  }
  return points;
}

async function fieldTypesOf(access: ReplicaAccess, unit: RepairUnit, signal: AbortSignal): Promise<Map<string, string[]>> {
  const types = new Map<string, string[]>();
  const statement = `SHOW FIELD KEYS ON ${quoteIdentifier(unit.database)} FROM ${quoteIdentifier(unit.retentionPolicy)}.${quoteIdentifier(unit.measurement)}`;
  for (const owner of unit.owners) {
    const text = await access.query(owner, unit.database, statement, signal).catch(() => '');
    for (const series of seriesOf(text)) {
      for (const row of series.values ?? []) {
        const [field, type] = row as [string, string];
        const known = types.get(field) ?? [];
        if (!known.includes(type)) types.set(field, [...known, type]);
      }
    }
  }
  return types;
}

/** The series of the first result of a `/query` answer (numbers kept as text); throws on an error answer. */
function seriesOf(text: string): RawSeries[] {
  const answer = parseKeepingNumbers(text) as { results?: Array<{ series?: RawSeries[]; error?: string }>; error?: string };
  const error = answer.error ?? answer.results?.[0]?.error;
  if (error) throw new Error(`influxd: ${error}`);
  return answer.results?.[0]?.series ?? [];
}

function numberText(value: unknown): string {
  return typeof value === 'object' && value !== null && 'number' in value ? String((value as { number: string }).number) : String(value);
}
