import { gunzip as gunzipCallback } from 'node:zlib';
import { nodeUtil } from '../../shared/node-builtins.ts';

const gunzip = nodeUtil.promisify(gunzipCallback);

/** Why a write body could not be decoded. */
export type WriteBodyErrorCode = 'TOO_LARGE' | 'BAD_GZIP';

/** A write body that is too large (HTTP 413) or not valid gzip (HTTP 400). */
export class WriteBodyError extends Error {
  override name = 'WriteBodyError';
  readonly code: WriteBodyErrorCode;
  /** The status to answer the write with: 413 for TOO_LARGE, 400 for BAD_GZIP. */
  readonly httpStatus: number;
  /** What influxd 1.6 answers in this case (Go's texts), for answers that must read like influxd's. */
  readonly influxdText: string;

  constructor(code: WriteBodyErrorCode, message: string, options?: { cause?: unknown; influxdText?: string }) {
    super(message, options);
    this.code = code;
    this.httpStatus = code === 'TOO_LARGE' ? 413 : 400;
    this.influxdText = options?.influxdText ?? (code === 'TOO_LARGE' ? 'Request Entity Too Large' : message);
  }
}

/**
 * What Go's gzip reader says of a body Node could not gunzip (influxd passes
 * it on): the 10-byte header is read whole first, then the deflate stream and
 * its trailer. A corrupt deflate stream's offset is not known here: the
 * compressed length stands in for it.
 */
function goGzipErrorText(raw: Buffer, nodeError: unknown): string {
  if (raw.length === 0) return 'EOF';
  if (raw.length < 10) return 'unexpected EOF';
  if (raw[0] !== 0x1f || raw[1] !== 0x8b || raw[2] !== 8) return 'gzip: invalid header';
  const code = (nodeError as { code?: unknown }).code;
  if (code === 'Z_BUF_ERROR') return 'unexpected EOF';
  if (/check/.test(nodeError instanceof Error ? nodeError.message : '')) return 'gzip: invalid checksum';
  return `flate: corrupt input before offset ${raw.length - 10}`;
}

/**
 * The line-protocol bytes of a write body. With `Content-Encoding: gzip`
 * (case-insensitive; also `x-gzip`) the body is gunzipped, concatenated gzip
 * members included; inflating stops as soon as the output would exceed
 * `maxExpandedBytes`, so a gzip bomb never costs more than that much memory.
 * influxd 1.6 decodes only `gzip` and reads any other encoding as plain
 * text; so does this function. A plain body longer than `maxExpandedBytes`
 * is refused as well. Inflating runs on libuv's thread pool, so a large body
 * does not block the event loop.
 *
 * @throws WriteBodyError `TOO_LARGE` when the (decoded) body exceeds
 *   maxExpandedBytes, `BAD_GZIP` when gzip decoding fails.
 */
export async function decodeWriteBody(raw: Buffer, contentEncoding: string | undefined, maxExpandedBytes: number): Promise<Buffer> {
  if (!Number.isSafeInteger(maxExpandedBytes) || maxExpandedBytes < 1) {
    throw new RangeError(`maxExpandedBytes must be a positive integer, got ${maxExpandedBytes}`);
  }
  const encoding = contentEncoding?.trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    if (raw.length > maxExpandedBytes) throw tooLarge(maxExpandedBytes, '');
    return raw;
  }
  try {
    return await gunzip(raw, { maxOutputLength: maxExpandedBytes });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxExpandedBytes, ' after gzip decoding', err);
    const reason = err instanceof Error ? err.message : String(err);
    throw new WriteBodyError('BAD_GZIP', `request body is not valid gzip (Content-Encoding: gzip): ${reason}`, { cause: err, influxdText: goGzipErrorText(raw, err) });
  }
}

function tooLarge(maxExpandedBytes: number, what: string, cause?: unknown): WriteBodyError {
  return new WriteBodyError('TOO_LARGE', `request body too large: more than ${maxExpandedBytes} bytes${what}`, { cause });
}
