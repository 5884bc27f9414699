/**
 * A hint: one write batch an owner did not store, kept for it. It carries
 * no credentials: replay writes with the target agent's own identity (see
 * docs/replication.md). `units` are the measurements it touches ('*' when
 * the body was not split), so reads can avoid the owner until it is replayed.
 */
export interface Hint {
  database: string;
  retentionPolicy: string | null;
  precision: string | null;
  units: string[] | '*';
  /** When it was queued (ms since the epoch), for the age bound. */
  at: number;
  /** Line protocol, timestamps stamped. */
  body: Buffer;
}

interface HintHeader {
  d: string;
  r: string | null;
  p: string | null;
  u: string[] | '*';
  a: number;
}

/**
 * `[u32 header length][header JSON][body]`, as two parts (the body is not
 * copied: the log writes the parts one after the other).
 */
export function encodeHint(hint: Hint): [Buffer, Buffer] {
  const header: HintHeader = { d: hint.database, r: hint.retentionPolicy, p: hint.precision, u: hint.units, a: hint.at };
  const json = JSON.stringify(header);
  const head = Buffer.allocUnsafe(4 + Buffer.byteLength(json));
  head.writeUInt32BE(head.length - 4, 0);
  head.write(json, 4, 'utf8');
  return [head, hint.body];
}

/** The hint in a payload, or undefined when the payload is not one (it is then dropped, never blocking a queue). */
export function decodeHint(payload: Buffer): Hint | undefined {
  if (payload.length < 4) return undefined;
  const length = payload.readUInt32BE(0);
  if (4 + length > payload.length) return undefined;
  try {
    const header = JSON.parse(payload.toString('utf8', 4, 4 + length)) as HintHeader;
    if (typeof header.d !== 'string' || typeof header.a !== 'number') return undefined;
    return { database: header.d, retentionPolicy: header.r ?? null, precision: header.p ?? null, units: Array.isArray(header.u) ? header.u : '*', at: header.a, body: payload.subarray(4 + length) };
  } catch {
    return undefined;
  }
}
