import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** One record: `[u32 payload length][u32 CRC-32 of the payload][payload]`, big-endian. */
const RECORD_HEADER = 8;
/** A length above this is corruption, not a record (hints are write batches of at most the body limit). */
const MAX_RECORD_BYTES = 1024 * 1024 * 1024;
const SEGMENT_SUFFIX = '.seg';

/** Where a record starts: segment sequence number and byte offset. */
export interface LogPosition {
  segment: number;
  offset: number;
}

/** A record read from the log, and the position just after it (what `consume` takes). */
export interface LogRecord {
  payload: Buffer;
  next: LogPosition;
  /** Bytes the record takes on disk. */
  size: number;
}

const segmentName = (sequence: number) => `${String(sequence).padStart(20, '0')}${SEGMENT_SUFFIX}`;

/**
 * An append-only log of length-prefixed, checksummed records in segment
 * files under one directory, read in order from a cursor. An append resolves
 * only after the data is fsynced (appends that arrive during a flush share
 * the next one: group commit). A record cut short by a crash at the end of
 * the last segment is cut off on open. The cursor is saved without fsync: after
 * a crash some delivered records may be read again, never skipped.
 */
export class SegmentLog {
  readonly dir: string;
  readonly #maxSegmentBytes: number;
  /** Segment sequence numbers on disk, oldest first; the last is the one appended to. */
  readonly #segments: number[];
  #writer: FileHandle | undefined;
  /** Bytes in the segment appended to, all durable. */
  #writeEnd: number;
  #cursor: LogPosition;
  /** Bytes on disk not yet consumed. */
  #pendingBytes: number;
  #pendingRecords: number;
  #queue: Array<{ payloads: Array<Buffer | Buffer[]>; done: (err: unknown, positions?: LogPosition[]) => void }> = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  private constructor(dir: string, maxSegmentBytes: number, segments: number[], writeEnd: number, cursor: LogPosition, pendingBytes: number, pendingRecords: number) {
    this.dir = dir;
    this.#maxSegmentBytes = maxSegmentBytes;
    this.#segments = segments;
    this.#writeEnd = writeEnd;
    this.#cursor = cursor;
    this.#pendingBytes = pendingBytes;
    this.#pendingRecords = pendingRecords;
  }

  /**
   * Opens (or creates) the log in `dir`: finds the segments, cuts a torn
   * tail off the last one, and counts what is left to read from the saved
   * cursor. `onRecord` sees every unread record's payload (to rebuild
   * summaries such as which units are queued).
   */
  static async open(dir: string, options: { maxSegmentBytes: number; onRecord?: (payload: Buffer) => void }): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    const segments = (await readdir(dir)).filter((name) => name.endsWith(SEGMENT_SUFFIX)).map((name) => Number(name.slice(0, -SEGMENT_SUFFIX.length))).filter(Number.isSafeInteger).sort((a, b) => a - b);
    let cursor = await readCursor(dir);
    if (segments.length === 0) segments.push(1);
    if (!cursor || !segments.includes(cursor.segment)) cursor = { segment: segments[0]!, offset: 0 };
    // Segments before the cursor were delivered (a crash between saving the cursor and deleting them).
    while (segments[0]! < cursor.segment) await rm(join(dir, segmentName(segments.shift()!)), { force: true });
    let pendingBytes = 0;
    let pendingRecords = 0;
    let writeEnd = 0;
    for (const sequence of segments) {
      if (sequence < cursor.segment) continue;
      const last = sequence === segments.at(-1);
      const path = join(dir, segmentName(sequence));
      const data = await readFile(path).catch(() => Buffer.alloc(0));
      let offset = 0;
      const from = sequence === cursor.segment ? cursor.offset : 0;
      while (offset + RECORD_HEADER <= data.length) {
        const length = data.readUInt32BE(offset);
        const end = offset + RECORD_HEADER + length;
        if (length > MAX_RECORD_BYTES || end > data.length) break;
        const payload = data.subarray(offset + RECORD_HEADER, end);
        if (crc32(payload) !== data.readUInt32BE(offset + 4)) break;
        if (offset >= from) {
          pendingBytes += end - offset;
          pendingRecords++;
          options.onRecord?.(payload);
        }
        offset = end;
      }
      if (offset < data.length) {
        // A torn or corrupt tail: what follows the last whole record is cut off (only the last
        // segment can be torn by a crash; a damaged older one loses its rest rather than block).
        const file = await open(path, 'r+');
        await file.truncate(offset);
        await file.sync();
        await file.close();
      }
      if (last) writeEnd = offset;
    }
    if (cursor.offset > (cursor.segment === segments.at(-1) ? writeEnd : Infinity)) cursor = { segment: cursor.segment, offset: writeEnd };
    return new SegmentLog(dir, options.maxSegmentBytes, segments, writeEnd, cursor, pendingBytes, pendingRecords);
  }

  /** Bytes of unread records on disk. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Unread records. */
  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  /** Where the next read starts (the first record not consumed, or the end of a segment). */
  get cursor(): LogPosition {
    return { ...this.#cursor };
  }

  /**
   * Appends the payloads as records (a payload may come in parts, written one
   * after the other without being joined); resolves once they are on disk
   * (fsync), with where each record starts.
   */
  append(payloads: Array<Buffer | Buffer[]>): Promise<LogPosition[]> {
    if (this.#closed) return Promise.reject(new Error(`hinted-handoff log ${this.dir} is closed`));
    return new Promise<LogPosition[]>((resolve, reject) => {
      this.#queue.push({ payloads, done: (err, positions) => (err === undefined ? resolve(positions ?? []) : reject(err)) });
      this.#kick();
    });
  }

  /** Whether the record at `position` was consumed already (the cursor is past it). */
  isConsumed(position: LogPosition): boolean {
    return position.segment < this.#cursor.segment || (position.segment === this.#cursor.segment && position.offset < this.#cursor.offset);
  }

  /** Starts a flush unless one runs; appends queued while its promise settles start the next. */
  #kick(): void {
    if (this.#flushing) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      const frames: Buffer[] = [];
      let bytes = 0;
      let records = 0;
      for (const { payloads } of batch) {
        for (const payload of payloads) {
          const parts = Array.isArray(payload) ? payload : [payload];
          const length = parts.reduce((sum, part) => sum + part.length, 0);
          const header = Buffer.allocUnsafe(RECORD_HEADER);
          header.writeUInt32BE(length, 0);
          header.writeUInt32BE(parts.reduce((crc, part) => crc32(part, crc), 0), 4);
          frames.push(header, ...parts);
          bytes += RECORD_HEADER + length;
          records++;
        }
      }
      try {
        if (this.#writeEnd > 0 && this.#writeEnd + bytes > this.#maxSegmentBytes) await this.#roll();
        const segment = this.#segments.at(-1)!;
        const writer = (this.#writer ??= await open(join(this.dir, segmentName(segment)), 'a'));
        await writer.writev(frames);
        await writer.datasync();
        let offset = this.#writeEnd;
        this.#writeEnd += bytes;
        this.#pendingBytes += bytes;
        this.#pendingRecords += records;
        for (const { payloads, done } of batch) {
          const positions = payloads.map((payload) => {
            const position = { segment, offset };
            offset += RECORD_HEADER + (Array.isArray(payload) ? payload.reduce((sum, part) => sum + part.length, 0) : payload.length);
            return position;
          });
          done(undefined, positions);
        }
      } catch (err) {
        for (const { done } of batch) done(err);
      }
    }
  }

  /** Starts a new segment for appends. */
  async #roll(): Promise<void> {
    await this.#writer?.close();
    this.#writer = undefined;
    this.#segments.push(this.#segments.at(-1)! + 1);
    this.#writeEnd = 0;
  }

  /**
   * Up to `maxRecords` records and `maxBytes` (at least one record, however
   * large) from the cursor on, in order, without consuming them. Empty when
   * everything was read.
   */
  async read(maxRecords: number, maxBytes: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    let position = { ...this.#cursor };
    let bytes = 0;
    while (records.length < maxRecords && bytes < maxBytes) {
      const last = position.segment === this.#segments.at(-1);
      const end = last ? this.#writeEnd : await fileSize(join(this.dir, segmentName(position.segment)));
      if (position.offset >= end) {
        const later = this.#segments.find((sequence) => sequence > position.segment);
        if (later === undefined) break;
        position = { segment: later, offset: 0 };
        continue;
      }
      const file = await open(join(this.dir, segmentName(position.segment)), 'r');
      try {
        while (position.offset + RECORD_HEADER <= end && records.length < maxRecords && bytes < maxBytes) {
          const header = Buffer.alloc(RECORD_HEADER);
          await file.read(header, 0, RECORD_HEADER, position.offset);
          const length = header.readUInt32BE(0);
          if (length > MAX_RECORD_BYTES || position.offset + RECORD_HEADER + length > end) {
            position = { segment: position.segment, offset: end }; // unreadable rest: skipped, never blocking
            break;
          }
          if (records.length > 0 && bytes + RECORD_HEADER + length > maxBytes) return records; // the next read starts here
          const payload = Buffer.allocUnsafe(length);
          await file.read(payload, 0, length, position.offset + RECORD_HEADER);
          const size = RECORD_HEADER + length;
          position = { segment: position.segment, offset: position.offset + size };
          bytes += size;
          if (crc32(payload) !== header.readUInt32BE(4)) continue; // damaged on disk: skipped
          records.push({ payload, next: { ...position }, size });
        }
      } finally {
        await file.close();
      }
      if (position.offset < end) break;
    }
    return records;
  }

  /** Everything before `position` was delivered: moves the cursor, deletes finished segments, saves the cursor. */
  async consume(position: LogPosition, records: number, bytes: number): Promise<void> {
    this.#cursor = { ...position };
    this.#pendingRecords = Math.max(0, this.#pendingRecords - records);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - bytes);
    while (this.#segments.length > 1 && this.#segments[0]! < position.segment) {
      await rm(join(this.dir, segmentName(this.#segments.shift()!)), { force: true });
    }
    await writeCursor(this.dir, this.#cursor);
  }

  /**
   * Drops the oldest segment (its unread records are lost: the caller logs
   * it); the one appended to is rolled first when it is the only one.
   * Returns the unread records and bytes dropped.
   */
  async dropOldest(): Promise<{ records: number; bytes: number }> {
    if (this.#segments.length === 1) await this.#roll();
    const oldest = this.#segments[0]!;
    const path = join(this.dir, segmentName(oldest));
    const size = await fileSize(path);
    const from = this.#cursor.segment === oldest ? this.#cursor.offset : 0;
    let records = 0;
    const data = await readFile(path).catch(() => Buffer.alloc(0));
    for (let offset = 0; offset + RECORD_HEADER <= data.length; offset += RECORD_HEADER + data.readUInt32BE(offset)) if (offset >= from) records++;
    this.#segments.shift();
    await rm(path, { force: true });
    if (this.#cursor.segment <= oldest) this.#cursor = { segment: this.#segments[0]!, offset: 0 };
    await writeCursor(this.dir, this.#cursor);
    const bytes = Math.max(0, size - from);
    this.#pendingBytes = Math.max(0, this.#pendingBytes - bytes);
    this.#pendingRecords = Math.max(0, this.#pendingRecords - records);
    return { records, bytes };
  }

  /** Waits for appends in progress, then closes the file. Safe twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#writer?.close();
    this.#writer = undefined;
  }
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: 0 }))).size;
}

async function readCursor(dir: string): Promise<LogPosition | undefined> {
  try {
    const cursor = JSON.parse(await readFile(join(dir, 'cursor'), 'utf8')) as LogPosition;
    return Number.isSafeInteger(cursor.segment) && Number.isSafeInteger(cursor.offset) && cursor.offset >= 0 ? cursor : undefined;
  } catch {
    return undefined;
  }
}

async function writeCursor(dir: string, cursor: LogPosition): Promise<void> {
  const temporary = join(dir, 'cursor.tmp');
  await writeFile(temporary, JSON.stringify(cursor));
  await rename(temporary, join(dir, 'cursor'));
}
