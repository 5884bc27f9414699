import type { QueryResponse, ResultSeries, StatementResult } from './query-result.ts';

/**
 * `/query` answers in MessagePack (`Accept: application/x-msgpack`), as
 * influxd 1.6 writes them (services/httpd/response_writer.go, msgpackFormatter,
 * with tinylib/msgp): the proxy decodes its nodes' answers and encodes the
 * merged one the same way. What JSON would lose is kept: a float stays a
 * float even when whole (Float64Value), a time stays msgp's time extension
 * (TimeValue, type 5: seconds and nanoseconds), an int64 beyond 2^53 stays
 * exact (Int64Value). The merge code moves these values without looking
 * into them.
 */
export class Float64Value {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

export class TimeValue {
  readonly seconds: bigint;
  readonly nanoseconds: number;
  constructor(seconds: bigint, nanoseconds: number) {
    this.seconds = seconds;
    this.nanoseconds = nanoseconds;
  }
  toJSON(): string {
    const date = new Date(Number(this.seconds) * 1000).toISOString().slice(0, 19);
    const fraction = this.nanoseconds === 0 ? '' : `.${String(this.nanoseconds).padStart(9, '0').replace(/0+$/, '')}`;
    return `${date}${fraction}Z`;
  }
}

export class Int64Value {
  readonly value: bigint;
  constructor(value: bigint) {
    this.value = value;
  }
  toJSON(): string {
    return this.value.toString();
  }
}

export const MSGPACK_CONTENT_TYPE = 'application/x-msgpack';

/** Whether a request's Accept header asks for MessagePack (influxd: the header is exactly it). */
export function wantsMsgpack(accept: string | undefined): boolean {
  return accept === MSGPACK_CONTENT_TYPE;
}

/** Decodes one MessagePack value at `offset`; every map becomes a plain object. */
export function decodeMsgpack(buffer: Buffer): unknown {
  const reader = { buffer, offset: 0 };
  return readValue(reader);
}

/** Every MessagePack map concatenated in `buffer` (a chunked answer is one map per chunk). */
export function decodeMsgpackStream(buffer: Buffer): unknown[] {
  const reader = { buffer, offset: 0 };
  const values: unknown[] = [];
  while (reader.offset < buffer.length) values.push(readValue(reader));
  return values;
}

type Reader = { buffer: Buffer; offset: number };

function readValue(reader: Reader): unknown {
  const { buffer } = reader;
  if (reader.offset >= buffer.length) throw new Error('msgpack: unexpected end of data');
  const byte = buffer[reader.offset++]!;
  const take = (bytes: number) => {
    if (reader.offset + bytes > buffer.length) throw new Error('msgpack: unexpected end of data');
    const at = reader.offset;
    reader.offset += bytes;
    return at;
  };
  if (byte <= 0x7f) return byte;
  if (byte >= 0xe0) return byte - 0x100;
  if ((byte & 0xf0) === 0x80) return readMap(reader, byte & 0x0f);
  if ((byte & 0xf0) === 0x90) return readArray(reader, byte & 0x0f);
  if ((byte & 0xe0) === 0xa0) return readString(reader, byte & 0x1f);
  switch (byte) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xca: return new Float64Value(buffer.readFloatBE(take(4)));
    case 0xcb: return new Float64Value(buffer.readDoubleBE(take(8)));
    case 0xcc: return buffer.readUInt8(take(1));
    case 0xcd: return buffer.readUInt16BE(take(2));
    case 0xce: return buffer.readUInt32BE(take(4));
    case 0xcf: return integer(buffer.readBigUInt64BE(take(8)));
    case 0xd0: return buffer.readInt8(take(1));
    case 0xd1: return buffer.readInt16BE(take(2));
    case 0xd2: return buffer.readInt32BE(take(4));
    case 0xd3: return integer(buffer.readBigInt64BE(take(8)));
    case 0xd9: return readString(reader, buffer.readUInt8(take(1)));
    case 0xda: return readString(reader, buffer.readUInt16BE(take(2)));
    case 0xdb: return readString(reader, buffer.readUInt32BE(take(4)));
    case 0xdc: return readArray(reader, buffer.readUInt16BE(take(2)));
    case 0xdd: return readArray(reader, buffer.readUInt32BE(take(4)));
    case 0xde: return readMap(reader, buffer.readUInt16BE(take(2)));
    case 0xdf: return readMap(reader, buffer.readUInt32BE(take(4)));
    case 0xc7: {
      const length = buffer.readUInt8(take(1));
      const type = buffer.readInt8(take(1));
      const at = take(length);
      if (type === 5 && length === 12) return new TimeValue(buffer.readBigInt64BE(at), buffer.readUInt32BE(at + 8));
      throw new Error(`msgpack: unknown extension ${type}`);
    }
    default:
      throw new Error(`msgpack: unsupported type byte 0x${byte.toString(16)}`);
  }
}

function integer(value: bigint): number | Int64Value {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : new Int64Value(value);
}

function readString(reader: Reader, length: number): string {
  if (reader.offset + length > reader.buffer.length) throw new Error('msgpack: unexpected end of data');
  const text = reader.buffer.toString('utf8', reader.offset, reader.offset + length);
  reader.offset += length;
  return text;
}

function readArray(reader: Reader, length: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < length; i++) out.push(readValue(reader));
  return out;
}

function readMap(reader: Reader, length: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) {
    const key = readValue(reader);
    out[String(key)] = readValue(reader);
  }
  return out;
}

/** A whole answer in influxd's MessagePack layout (field order and presence as its formatter writes them). */
export function encodeQueryAnswer(response: QueryResponse): Buffer {
  const out = new Writer();
  out.mapHeader(1);
  if (response.error !== undefined) {
    out.string('error');
    out.string(response.error);
    return out.done();
  }
  out.string('results');
  const results = response.results ?? [];
  out.arrayHeader(results.length);
  for (const result of results) writeResult(out, result);
  return out.done();
}

function writeResult(out: Writer, result: StatementResult): void {
  if (result.error !== undefined) {
    out.mapHeader(1);
    out.string('error');
    out.string(result.error);
    return;
  }
  const messages = result.messages ?? [];
  out.mapHeader(2 + (messages.length > 0 ? 1 : 0) + (result.partial ? 1 : 0));
  out.string('statement_id');
  out.integer(BigInt(result.statement_id));
  if (messages.length > 0) {
    out.string('messages');
    out.arrayHeader(messages.length);
    for (const message of messages) {
      out.mapHeader(2);
      out.string('level');
      out.string(message.level);
      out.string('text');
      out.string(message.text);
    }
  }
  out.string('series');
  const series = result.series ?? [];
  out.arrayHeader(series.length);
  for (const one of series) writeSeries(out, one);
  if (result.partial) {
    out.string('partial');
    out.value(true);
  }
}

function writeSeries(out: Writer, series: ResultSeries): void {
  const tags = Object.entries(series.tags ?? {});
  const name = series.name ?? '';
  out.mapHeader(2 + (name !== '' ? 1 : 0) + (tags.length > 0 ? 1 : 0) + (series.partial ? 1 : 0));
  if (name !== '') {
    out.string('name');
    out.string(name);
  }
  if (tags.length > 0) {
    out.string('tags');
    out.mapHeader(tags.length);
    for (const [key, value] of tags) {
      out.string(key);
      out.string(value);
    }
  }
  out.string('columns');
  out.arrayHeader(series.columns.length);
  for (const column of series.columns) out.string(column);
  const values = series.values ?? [];
  out.string('values');
  out.arrayHeader(values.length);
  for (const row of values) {
    out.arrayHeader(row.length);
    for (const value of row) out.value(value);
  }
  if (series.partial) {
    out.string('partial');
    out.value(true);
  }
}

/** tinylib/msgp's encodings: the smallest form of each header, string and integer. */
class Writer {
  readonly #chunks: Buffer[] = [];

  done(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  #bytes(...bytes: number[]): void {
    this.#chunks.push(Buffer.from(bytes));
  }

  mapHeader(size: number): void {
    if (size < 16) this.#bytes(0x80 | size);
    else this.#sized(0xde, 0xdf, size);
  }

  arrayHeader(size: number): void {
    if (size < 16) this.#bytes(0x90 | size);
    else this.#sized(0xdc, 0xdd, size);
  }

  #sized(code16: number, code32: number, size: number): void {
    const head = Buffer.alloc(size < 0x10000 ? 3 : 5);
    head[0] = size < 0x10000 ? code16 : code32;
    if (size < 0x10000) head.writeUInt16BE(size, 1);
    else head.writeUInt32BE(size, 1);
    this.#chunks.push(head);
  }

  string(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    const length = bytes.length;
    if (length < 32) this.#bytes(0xa0 | length);
    else if (length < 0x100) this.#bytes(0xd9, length);
    else if (length < 0x10000) this.#bytes(0xda, length >> 8, length & 0xff);
    else {
      const head = Buffer.alloc(5);
      head[0] = 0xdb;
      head.writeUInt32BE(length, 1);
      this.#chunks.push(head);
    }
    this.#chunks.push(bytes);
  }

  integer(value: bigint): void {
    if (value >= 0n && value <= 127n) return this.#bytes(Number(value));
    if (value < 0n && value >= -32n) return this.#bytes(Number(value) & 0xff);
    const head = value >= -128n && value <= 127n ? [0xd0, 1] : value >= -32768n && value <= 32767n ? [0xd1, 2] : value >= -2147483648n && value <= 2147483647n ? [0xd2, 4] : [0xd3, 8];
    const bytes = Buffer.alloc(1 + head[1]!);
    bytes[0] = head[0]!;
    if (head[1] === 1) bytes.writeInt8(Number(value), 1);
    else if (head[1] === 2) bytes.writeInt16BE(Number(value), 1);
    else if (head[1] === 4) bytes.writeInt32BE(Number(value), 1);
    else bytes.writeBigInt64BE(value, 1);
    this.#chunks.push(bytes);
  }

  value(value: unknown): void {
    if (value === null || value === undefined) return this.#bytes(0xc0);
    if (value === true || value === false) return this.#bytes(value ? 0xc3 : 0xc2);
    if (typeof value === 'string') return this.string(value);
    if (value instanceof Int64Value) return this.integer(value.value);
    if (value instanceof TimeValue) {
      const bytes = Buffer.alloc(15);
      bytes[0] = 0xc7;
      bytes[1] = 12;
      bytes.writeInt8(5, 2);
      bytes.writeBigInt64BE(value.seconds, 3);
      bytes.writeUInt32BE(value.nanoseconds, 11);
      return void this.#chunks.push(bytes);
    }
    if (value instanceof Float64Value || (typeof value === 'number' && !Number.isInteger(value))) {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0xcb;
      bytes.writeDoubleBE(Number(value), 1);
      return void this.#chunks.push(bytes);
    }
    if (typeof value === 'number') return this.integer(BigInt(value));
    // Anything else (never in an influxd answer) goes as its JSON text.
    this.string(JSON.stringify(value));
  }
}
