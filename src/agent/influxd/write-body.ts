import { gunzip as gunzipCallback } from 'node:zlib';
import { promisify } from 'node:util';

const gunzip = promisify(gunzipCallback);

/** Why a write body could not be decoded. */
export type WriteBodyErrorCode = 'TOO_LARGE' | 'BAD_GZIP';

/** A write body that is too large (HTTP 413) or not valid gzip (HTTP 400). */
export class WriteBodyError extends Error {
  override name = 'WriteBodyError';
  readonly code: WriteBodyErrorCode;
  /** The status to answer the write with: 413 for TOO_LARGE, 400 for BAD_GZIP. */
  readonly httpStatus: number;

  constructor(code: WriteBodyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.httpStatus = code === 'TOO_LARGE' ? 413 : 400;
  }
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
    throw new WriteBodyError('BAD_GZIP', `request body is not valid gzip (Content-Encoding: gzip): ${reason}`, { cause: err });
  }
}

function tooLarge(maxExpandedBytes: number, what: string, cause?: unknown): WriteBodyError {
  return new WriteBodyError('TOO_LARGE', `request body too large: more than ${maxExpandedBytes} bytes${what}`, { cause });
}
